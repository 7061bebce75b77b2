// Revocation that really revokes: replacing a table leaves established
// connections alive (conntrack). With revokeEstablished (the default) a live
// connection that the new ruleset no longer allows stops at once; with
// revokeEstablished: false it continues, as in AWS.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { labUp, type Lab } from "./lab";
import { compileFleet } from "../provider/compiler/compile";
import type { FleetDeclaration } from "../provider/declaration/declaration";

const PORT = 7000;

/** A TCP client in h1's namespace that sends a line per request and reports whether the echo came back. */
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

class LiveConnection {
  private readonly lines: string[] = [];
  private waiters: ((l: string) => void)[] = [];
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on("line", (l) => {
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
  }
  static async open(lab: Lab, from: string, to: string): Promise<LiveConnection> {
    const child = spawn("ip", ["netns", "exec", lab.host(from).ns, process.execPath, "-e", CLIENT, to, String(PORT)]);
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

let lab: Lab;

function fleet(allow: "app" | "other" | "none", revokeEstablished: boolean): FleetDeclaration {
  const from = [`${lab.host("h1").ipv4}/32`];
  return {
    revokeEstablished,
    securityGroups: [
      { name: "app", ingress: allow === "app" ? [{ protocol: "tcp", ports: PORT, cidrs: from, description: "app port from h1" }] : [] },
      { name: "other", ingress: allow === "other" ? [{ protocol: "tcp", ports: [PORT, 7001], cidrs: from, description: "same port, another group" }] : [] },
    ],
    hosts: [{ name: "h2", connection: { host: lab.host("h2").ipv4 }, securityGroups: ["app", "other"] }],
  };
}

async function apply(decl: FleetDeclaration): Promise<void> {
  const r = await lab.exec("h2", "nft -f -", { input: compileFleet(decl)["h2"]!.script });
  expect(r.code, r.stderr).toBe(0);
}

beforeAll(async () => {
  lab = await labUp({ hosts: 2 });
  await lab.listen("h2", "tcp", [PORT]);
});
afterAll(async () => {
  await lab?.down();
});

describe("revocation of established connections", () => {
  it.each([
    [true, "timeout"],
    [false, "ok"],
  ])("revokeEstablished=%s: after the rule is removed, the live connection gets %s", async (revoke, expected) => {
    await apply(fleet("app", revoke));
    const conn = await LiveConnection.open(lab, "h1", lab.host("h2").ipv4);
    try {
      expect(await conn.roundTrip()).toBe("ok");
      await apply(fleet("none", revoke));
      expect(await conn.roundTrip()).toBe(expected);
      // New connections are refused in both modes.
      expect(await lab.probe("h1", lab.host("h2").ipv4, { proto: "tcp", port: PORT })).toBe(false);
    } finally {
      conn.close();
    }
  });

  it("revokeEstablished keeps a connection that the new ruleset still allows (through another group)", async () => {
    await apply(fleet("app", true));
    const conn = await LiveConnection.open(lab, "h1", lab.host("h2").ipv4);
    try {
      expect(await conn.roundTrip()).toBe("ok");
      await apply(fleet("other", true));
      expect(await conn.roundTrip()).toBe("ok");
      expect(await conn.roundTrip()).toBe("ok");
    } finally {
      conn.close();
    }
  });
});
