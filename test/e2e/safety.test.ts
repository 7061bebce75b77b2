// docs/apply.md through the real CLI: lockout rollback, a provider that dies
// between apply and confirmation, a second stack refused, bad input stopped
// at preview with no SSH connection, and secrets kept out of everything.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { FleetArgs } from "../../sdk/inputs";
import { fleetStack, type FleetStack } from "../support/stack";
import { readTree } from "../support/engine";
import { installSshCounter, sshConnectionCount } from "../support/sshCounter";
import { clearArmedFaults, faultWhenArmed } from "../support/faults";
import { connectionTo } from "../support/labConnection";
import { useLab } from "../support/useLab";

const HOSTS = ["h1", "h2", "h3"];
const lab = useLab({ hosts: HOSTS.length, hostNames: HOSTS });
let a: FleetStack;
const transcript: string[] = [];

interface Variant { port?: number; failsafe?: boolean; hosts?: string[]; rename?: Record<string, string> }

function declaration(v: Variant = {}): FleetArgs {
  return {
    failsafe: { ssh: v.failsafe ?? true },
    rollbackSeconds: 10,
    securityGroups: [
      { name: "web", ingress: [{ protocol: "tcp", ports: v.port ?? 80, cidrs: [`${lab.runnerIpv4}/32`], description: "http from the runner" }] },
    ],
    hosts: (v.hosts ?? HOSTS).map((h) => ({
      name: v.rename?.[h] ?? h, connection: connectionTo(lab, h), securityGroups: ["web"],
    })),
  };
}

async function listing(host: string): Promise<string> {
  return (await lab.exec(host, "nft list table inet nftsg 2>&1")).stdout;
}

async function failureOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const m = String((err as Error).message);
    transcript.push(m);
    return m;
  }
  throw new Error("expected the operation to fail");
}

beforeAll(async () => {
  a = await fleetStack(declaration(), { project: "nftsg-safety", stackName: "a" });
  const up = await a.stack.up();
  transcript.push(up.stdout, up.stderr);
  expect(up.summary.result).toBe("succeeded");
});


// A fault of a test that failed or timed out never fires in the next one.
afterEach(clearArmedFaults);

describe("safety through pulumi up", () => {
  it("1. a ruleset that would cut SSH (failsafe off) is rolled back and reported as a lockout", async () => {
    const before = await Promise.all(HOSTS.map(listing));
    a.setArgs(declaration({ failsafe: false }));
    const started = Date.now();
    const message = await failureOf(a.stack.up({ continueOnError: true }));
    expect(message).toMatch(/would have cut SSH access/);
    for (const h of HOSTS) expect(message).toContain(h);
    // Back on the previous ruleset well within the rollback window, and reachable.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await Promise.all(HOSTS.map(listing))).toEqual(before);
    for (const h of HOSTS) expect((await lab.ssh(h, "echo ok")).stdout.trim()).toBe("ok");
    a.setArgs(declaration());
    // The failed updates left every Attachment's state as it was.
    const events: EngineEvent[] = [];
    await a.stack.preview({ onEvent: (e) => events.push(e) });
    const attachmentOps = events.map((e) => e.resourcePreEvent?.metadata)
      .filter((m) => m?.type.endsWith("nftsg:Attachment")).map((m) => m!.op);
    expect(attachmentOps).toEqual(["same", "same", "same"]);
  });

  it("2. the provider dying between apply and confirm leaves old-or-new, and the next up converges (x3)", { timeout: 600_000 }, async () => {
    for (let i = 0; i < 3; i++) {
      const port = 8000 + i;
      const before = await listing("h1");
      // Killed from outside (test/support/faults.ts) when h1 shows the rollback armed.
      const fault = await faultWhenArmed(lab, "h1", a.engine.home, i === 2 ? "kill-provider-and-shell" : "kill-provider");
      a.setArgs(declaration({ port }));
      try {
        await failureOf(a.stack.up({ continueOnError: true }));
        expect(await fault.injected).toBe(true);
      } finally {
        await fault.clear();
      }
      // The host restores itself (at once, or by its timer when the shell was killed).
      const deadline = Date.now() + 15_000;
      let now = await listing("h1");
      while (now !== before && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        now = await listing("h1");
      }
      expect(now).toBe(before);
      const up = await a.stack.up();
      transcript.push(up.stdout, up.stderr);
      expect(up.summary.result).toBe("succeeded");
      expect(await listing("h1")).toContain(`tcp dport ${port} accept`);
    }
  });

  it("3. a second stack attaching an owned host is refused and the host is untouched", async () => {
    const before = await listing("h2");
    const b = await fleetStack(declaration({ hosts: ["h2"], port: 9999 }), { project: "nftsg-other", stackName: "b", engine: a.engine });
    try {
      const message = await failureOf(b.stack.up());
      expect(message).toMatch(/owned by|owner/i);
      expect(message).toMatch(/nftsg-safety/);
      expect(message).toMatch(/takeover/);
      expect(await listing("h2")).toBe(before);
    } finally {
      await b.stack.workspace.removeStack("b", { force: true });
    }
  });

  it("3b. renaming a host in the declaration keeps its firewall (the new attachment takes the table over)", async () => {
    a.setArgs(declaration({ rename: { h3: "h3-renamed" } }));
    const up = await a.stack.up();
    transcript.push(up.stdout, up.stderr);
    expect(up.summary.resourceChanges?.create).toBe(1);
    expect(up.summary.resourceChanges?.delete).toBe(1);
    const live = await listing("h3");
    expect(live).toContain("host=h3-renamed");
    expect(live).toContain("http from the runner");
    a.setArgs(declaration());
    const back = await a.stack.up();
    expect(back.summary.result).toBe("succeeded");
    expect(await listing("h3")).toContain("host=h3\"");
  });

  it("4. bad input fails at preview with the field path and no SSH connection", async () => {
    for (const h of HOSTS) await installSshCounter(lab, h);
    const bad: [FleetArgs, RegExp][] = [
      [{ ...declaration(), securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", ports: 70000, cidrs: ["0.0.0.0/0"] }] }] }, /securityGroups\[0\]\.ingress\[0\]\.ports/],
      [{ ...declaration(), securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", ports: 80, cidrs: ["10.0.0.1/8"] }] }] }, /10\.0\.0\.0\/8/],
      [{ ...declaration(), securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", ports: 80, securityGroups: ["nope"] }] }] }, /securityGroups\[0\]\.ingress\[0\]\.securityGroups\[0\]/],
    ];
    for (const [decl, pattern] of bad) {
      a.setArgs(decl);
      const message = await failureOf(a.stack.preview());
      expect(message).toMatch(pattern);
    }
    for (const h of HOSTS) expect(await sshConnectionCount(lab, h)).toBe(0);
    for (const h of HOSTS) await lab.exec(h, "nft delete table inet nftsglabcount");
    a.setArgs(declaration());
  });

  it("5. the private key appears nowhere in state, logs or errors", async () => {
    const lines = lab.privateKey.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"));
    expect(lines.length).toBeGreaterThan(0);
    const haystack = readTree(a.engine.stateDir) + readTree(a.engine.home) + transcript.join("\n");
    expect(haystack).toMatch(/nftsg/);
    for (const l of lines) expect(haystack.includes(l)).toBe(false);
  });
});
