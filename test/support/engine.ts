// The real Pulumi engine for tests and the demo: the CLI built by
// scripts/ensure-pulumi.sh, driven through the Automation API with a local
// file backend. Nothing here talks to a Pulumi service.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Repository root (works from the TS sources and from dist/). */
export const repoRoot: string = findRepoRoot(__dirname);

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, "package-lock.json"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package-lock.json above ${start}`);
    dir = parent;
  }
}

let cachedRoot: string | undefined;

/** Install root of the Pulumi CLI (holds bin/pulumi); builds it the first time. */
export function ensurePulumi(): string {
  if (cachedRoot) return cachedRoot;
  // NFTSG_PULUMI_ROOT: another install root holding bin/pulumi (for example a
  // wrapper that logs each CLI run and its CPU, to see what a test file costs).
  if (process.env.NFTSG_PULUMI_ROOT) return (cachedRoot = process.env.NFTSG_PULUMI_ROOT);
  const out = execFileSync("bash", [path.join(repoRoot, "scripts/ensure-pulumi.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = out.trim().split("\n");
  cachedRoot = lines[lines.length - 1];
  return cachedRoot;
}

export interface EngineEnv {
  /** Environment for the CLI and everything it starts. */
  env: Record<string, string>;
  /** Local file backend directory. */
  stateDir: string;
  /** PULUMI_HOME for this run (plugins, workspaces, logs). */
  home: string;
  pulumiRoot: string;
}

/**
 * An isolated engine environment: own backend directory and PULUMI_HOME.
 * PATH puts Node.js 22 (node_modules/.bin) first — current @pulumi/pulumi
 * needs it — and the dynamic-provider plugin script shipped in @pulumi/pulumi.
 */
export function engineEnv(label = "nftsg"): EngineEnv {
  const pulumiRoot = ensurePulumi();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `nftsg-${label}-`));
  removeWhenFileDone(base);
  const stateDir = path.join(base, "state");
  const home = path.join(base, "home");
  fs.mkdirSync(stateDir, { recursive: true });
  fs.mkdirSync(home, { recursive: true });
  const pathParts = [
    path.join(repoRoot, "node_modules/.bin"),
    path.join(repoRoot, "node_modules/@pulumi/pulumi"),
    path.join(pulumiRoot, "bin"),
    process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
  ];
  const env: Record<string, string> = {
    PATH: pathParts.join(":"),
    PULUMI_HOME: home,
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: "nftsg-test-passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
  };
  return { env, stateDir, home, pulumiRoot };
}

const createdDirs = new Set<string>();

/**
 * Test runs remove the backends and PULUMI_HOMEs they created once their
 * file is done (test/support/afterFile.ts): state, logs and plugins of
 * every stack, tens of directories per suite run otherwise.
 * NFTSG_KEEP_ENGINE_DIRS=1 keeps them for a look; benchmarks and the demo
 * keep theirs.
 */
function removeWhenFileDone(dir: string): void {
  if (process.env.VITEST && !process.env.NFTSG_KEEP_ENGINE_DIRS) createdDirs.add(dir);
}

/** Removes the engine directories this test file created (its last afterAll). */
export function removeCreatedEngineDirs(): void {
  for (const d of createdDirs) fs.rmSync(d, { recursive: true, force: true });
  createdDirs.clear();
}

/** Every file under dir, concatenated (for "secret appears nowhere" checks). */
export function readTree(dir: string): string {
  if (!fs.existsSync(dir)) return "";
  let out = "";
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out += readTree(p);
    else if (entry.isFile()) out += fs.readFileSync(p, "latin1");
  }
  return out;
}
