// Client side of agent.cjs: starts an agent (in a host's namespace or in the
// root namespace for the runner) and talks newline-delimited JSON to it over
// its Unix socket. The socket is unref'd while idle so an attached lab never
// keeps a script alive.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { childEnv, sleep } from "./sh";

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export class AgentClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buf = "";
  private closed = false;

  private constructor(private readonly sock: Socket, readonly socketPath: string) {
    sock.setEncoding("utf8");
    sock.unref();
    sock.on("data", (chunk: string) => this.onData(chunk));
    sock.on("error", () => undefined); // reported through "close"
    sock.on("close", () => this.fail(new Error(`agent at ${socketPath} went away`)));
  }

  static connect(socketPath: string, timeoutMs: number): Promise<AgentClient> {
    return new Promise((resolvePromise, reject) => {
      const sock = connect(socketPath);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`timeout connecting to agent ${socketPath}`));
      }, timeoutMs);
      sock.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      sock.once("connect", () => {
        clearTimeout(timer);
        sock.removeAllListeners("error");
        resolvePromise(new AgentClient(sock, socketPath));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  request<T>(op: string, params: Record<string, unknown>, timeoutMs: number): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`agent at ${this.socketPath} is closed`));
    const id = this.nextId++;
    return new Promise<T>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.idle();
        reject(new Error(`agent request ${op} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: (v) => resolvePromise(v as T), reject, timer });
      this.sock.ref(); // keep the process alive while a request is outstanding
      this.sock.write(JSON.stringify({ ...params, id, op }) + "\n");
    });
  }

  close(): void {
    this.sock.destroy();
    this.fail(new Error("agent client closed"));
  }

  private idle(): void {
    if (this.pending.size === 0) this.sock.unref();
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf("\n")) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 1);
      const reply = JSON.parse(line) as Reply;
      const p = this.pending.get(reply.id);
      if (!p) continue;
      this.pending.delete(reply.id);
      clearTimeout(p.timer);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(reply.error ?? "agent error"));
    }
    this.idle();
  }

  private fail(err: Error): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }
}

/** agent.cjs is not compiled by tsc: find it next to this file or in the source tree. */
export function agentScript(): string {
  const candidates = [join(__dirname, "agent.cjs"), resolve(__dirname, "../../lab/agent.cjs")];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`agent.cjs not found (looked in ${candidates.join(", ")})`);
  return found;
}

export interface AgentSpec {
  socketPath: string;
  logPath: string;
  /** Network namespace to run in; undefined = the root namespace (runner). */
  ns?: string;
}

/** Connects to the agent, starting it first if it is not running. */
export async function ensureAgent(spec: AgentSpec, timeoutMs = 10_000): Promise<AgentClient> {
  try {
    return await AgentClient.connect(spec.socketPath, 1000);
  } catch {
    rmSync(spec.socketPath, { force: true }); // stale socket of a dead agent
  }
  const node = process.execPath;
  const argv = [agentScript(), spec.socketPath];
  const [file, args] = spec.ns ? ["ip", ["netns", "exec", spec.ns, node, ...argv]] : [node, argv];
  const log = openSync(spec.logPath, "a");
  let exited: string | undefined;
  try {
    const child = spawn(file, args, { detached: true, stdio: ["ignore", log, log], env: childEnv() });
    child.on("exit", (code, sig) => (exited = `exited with ${code ?? sig}`));
    child.on("error", (e) => (exited = String(e)));
    child.unref();
  } finally {
    closeSync(log);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(spec.socketPath)) {
      try {
        return await AgentClient.connect(spec.socketPath, 1000);
      } catch {
        // not accepting yet
      }
    }
    if (exited !== undefined || Date.now() > deadline) {
      throw new Error(`agent ${spec.socketPath} did not start: ${exited ?? "timeout"} (log: ${spec.logPath})`);
    }
    await sleep(20);
  }
}
