// Small process helpers: run a command with a hard timeout and capture its
// output. The synchronous variant exists for exit handlers, where nothing
// asynchronous gets to run any more.
import { spawn, spawnSync } from "node:child_process";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
}

/** A PATH with the sbin directories, whatever the caller's PATH is. */
export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Environment for children: minimal, so test-runner variables do not leak in. */
export function childEnv(): NodeJS.ProcessEnv {
  return { PATH: SYSTEM_PATH, HOME: process.env.HOME ?? "/root", LANG: "C.UTF-8" };
}

export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      env: childEnv(),
      stdio: ["pipe", "pipe", "pipe"],
      timeout: opts.timeoutMs ?? 30_000,
      killSignal: "SIGKILL",
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => err.push(Buffer.from(String(e))));
    child.stdin.on("error", () => undefined); // child may exit before reading
    child.stdin.end(opts.input ?? "");
    child.on("close", (code, signal) => {
      const stderr = Buffer.concat(err).toString() + (signal ? `\nkilled by ${signal}` : "");
      resolve({ code: code ?? 128, stdout: Buffer.concat(out).toString(), stderr });
    });
  });
}

/** Like run, but a non-zero exit is an error carrying the command and stderr. */
export async function runOk(file: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(file, args, opts);
  if (r.code !== 0) throw new Error(`${file} ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export function runSync(file: string, args: readonly string[], opts: RunOptions = {}): ExecResult {
  const r = spawnSync(file, args, {
    env: childEnv(),
    input: opts.input ?? "",
    timeout: opts.timeoutMs ?? 30_000,
    killSignal: "SIGKILL",
    encoding: "utf8",
  });
  return { code: r.status ?? 128, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

/** Synchronous sleep for exit handlers (no event loop available there). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
