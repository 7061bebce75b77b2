// Through the real CLI: a change of connection settings only
// (dialErrorLimit, perDialTimeout, a rotated key) or of rollbackSeconds, with
// a byte-identical script, is recorded without any SSH connection to any host
// and without a commit-confirm cycle; a real change afterwards uses the newly
// recorded settings.
import { beforeAll, describe, expect, it } from "vitest";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { FleetArgs } from "../../sdk/inputs";
import { fleetStack, type FleetStack } from "../support/stack";
import { installSshCounter, removeSshCounter, sshConnectionCount } from "../support/sshCounter";
import { connectionTo } from "../support/labConnection";
import { useLab } from "../support/useLab";

const HOSTS = ["b1", "b2"];
const lab = useLab({ hosts: HOSTS.length, hostNames: HOSTS });
let s: FleetStack;

interface Variant { port?: number; dialErrorLimit?: number; perDialTimeout?: number; rollbackSeconds?: number }

function declaration(v: Variant = {}): FleetArgs {
  return {
    rollbackSeconds: v.rollbackSeconds ?? 10,
    securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", ports: v.port ?? 8125, cidrs: [`${lab.runnerIpv4}/32`] }] }],
    hosts: HOSTS.map((h) => ({
      name: h,
      connection: connectionTo(lab, h, { dialErrorLimit: v.dialErrorLimit, perDialTimeout: v.perDialTimeout }),
      securityGroups: ["web"],
    })),
  };
}

async function upOps(): Promise<string[]> {
  const events: EngineEvent[] = [];
  const r = await s.stack.up({ onEvent: (e) => events.push(e) });
  expect(r.summary.result).toBe("succeeded");
  return events.map((e) => e.resourcePreEvent?.metadata).filter((m) => m?.type.endsWith("nftsg:Attachment")).map((m) => m!.op);
}

beforeAll(async () => {
  s = await fleetStack(declaration(), { project: "nftsg-bookkeeping", stackName: "k" });
  expect((await s.stack.up()).summary.result).toBe("succeeded");
});


describe("bookkeeping-only changes reach no host", () => {
  it("connection settings and rollbackSeconds changed: recorded, no SSH connection", async () => {
    for (const h of HOSTS) await installSshCounter(lab, h);
    try {
      const before = await Promise.all(HOSTS.map((h) => lab.exec(h, "nft list table inet nftsg").then((r) => r.stdout)));
      s.setArgs(declaration({ dialErrorLimit: 3, perDialTimeout: 7, rollbackSeconds: 20 }));
      expect(await upOps()).toEqual(["update", "update"]);
      for (const h of HOSTS) expect(await sshConnectionCount(lab, h)).toBe(0);
      expect(await Promise.all(HOSTS.map((h) => lab.exec(h, "nft list table inet nftsg").then((r) => r.stdout)))).toEqual(before);
      // Recorded: the next preview has nothing to do.
      expect(await upOps()).toEqual(["same", "same"]);
      for (const h of HOSTS) expect(await sshConnectionCount(lab, h)).toBe(0);
    } finally {
      for (const h of HOSTS) await removeSshCounter(lab, h);
    }
  });

  it("a real change afterwards is applied with the recorded settings", async () => {
    s.setArgs(declaration({ dialErrorLimit: 3, perDialTimeout: 7, rollbackSeconds: 20, port: 8126 }));
    expect(await upOps()).toEqual(["update", "update"]);
    for (const h of HOSTS) expect((await lab.exec(h, "nft list table inet nftsg")).stdout).toContain("tcp dport 8126 accept");
  });
});
