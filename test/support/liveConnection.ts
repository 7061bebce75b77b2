// One long-lived TCP connection from a lab host, to test what a new ruleset
// does to connections that are already established (revokeEstablished).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { expect } from "vitest";
import type { Lab } from "../../lab";

/** A TCP client in a lab host's namespace that sends a line per request and reports whether the echo came back. */
const CLIENT = String.raw`
const net = require("net");
const [host, port] = process.argv.slice(1);
const sock = net.connect(Number(port), host);
let pending = null;
sock.on("data", () => { if (pending) { clearTimeout(pending); pending = null; process.stdout.write("ok\n"); } });
sock.on("error", () => {});
sock.on("connect", () => process.stdout.write("connected\n"));
require("readline").createInterface({ input: process.stdin }).on("line", () => {
  sock.write("ping\n");
  pending = setTimeout(() => { pending = null; process.stdout.write("timeout\n"); }, 1500);
});
process.stdin.on("end", () => process.exit(0));
`;

export class LiveConnection {
  private readonly lines: string[] = [];
  private waiters: ((l: string) => void)[] = [];
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on("line", (l) => {
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
  }
  static async open(lab: Lab, from: string, to: string, port: number): Promise<LiveConnection> {
    const child = spawn("ip", ["netns", "exec", lab.host(from).ns, process.execPath, "-e", CLIENT, to, String(port)]);
    const c = new LiveConnection(child);
    expect(await c.next()).toBe("connected");
    return c;
  }
  private next(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no answer from the client")), 5000);
      this.waiters.push((x) => { clearTimeout(t); resolve(x); });
    });
  }
  /** Sends one request on the same TCP connection: "ok" or "timeout". */
  async roundTrip(): Promise<string> {
    this.child.stdin.write("go\n");
    return this.next();
  }
  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
