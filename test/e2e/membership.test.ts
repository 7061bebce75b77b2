// Membership changes on a small fleet of the benchmark's shape (tiers and an
// all-to-all pool), through the real CLI on lab hosts: an `up` touches
// exactly the hosts whose rulesets depend on the change, and the preview
// names the member once, on its group, while each affected host shows only
// the pool's new member count and digest. (That an up with no change opens
// no SSH connection is test/e2e/provider.test.ts's step 5.)
import { beforeAll, describe, expect, it } from "vitest";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { FleetArgs } from "../../sdk/inputs";
import { fleetStack, type FleetStack } from "../support/stack";
import { connectionTo } from "../support/labConnection";
import { useLab } from "../support/useLab";
import { scaleFleet, hostName } from "../../bench/scaleFleet";

const N = 7; // 2 bastions, 1 db, 2 app, 2 web
const lab = useLab({ hosts: N + 1 });
let stack: FleetStack;
let spareGroups: string[] = ["web", "managed"];

function declaration(): FleetArgs {
  const hosts = lab.hosts.slice(0, N).map((h, i) => ({
    name: hostName(i, N),
    connection: connectionTo(lab, h.name),
    addresses: [h.ipv4, h.ipv6],
  }));
  const args = scaleFleet(hosts, true);
  const spare = lab.hosts[N]!;
  args.hosts.push({ name: "spare", connection: connectionTo(lab, spare.name), addresses: [spare.ipv4], securityGroups: spareGroups });
  return args;
}

/** Attachments an operation did something to, as "op:host". */
function attachmentOps(events: EngineEvent[]): string[] {
  const ops: string[] = [];
  for (const e of events) {
    const m = e.resourcePreEvent?.metadata;
    if (!m || !m.type.endsWith("nftsg:Attachment") || m.op === "same") continue;
    ops.push(`${m.op}:${m.urn.split("::").pop()!.replace(/^lab-/, "")}`);
  }
  return ops.sort();
}

const NAMES = Array.from({ length: N }, (_, i) => hostName(i, N));
const BASTIONS = NAMES.filter((n) => n.startsWith("bastion"));

beforeAll(async () => {
  stack = await fleetStack(declaration(), { project: "nftsg-membership" });
  const up = await stack.stack.up();
  expect(up.summary.result).toBe("succeeded");
});


describe("membership changes at the size of the change", () => {
  it("a new member of the all-to-all pool: every member and the newcomer are updated, the bastions are not", async () => {
    spareGroups = ["web", "managed", "gossip"];
    stack.setArgs(declaration());
    const events: EngineEvent[] = [];
    const preview = await stack.stack.preview({ diff: true, onEvent: (e) => events.push(e) });
    const pool = NAMES.filter((n) => !BASTIONS.includes(n));
    expect(attachmentOps(events)).toEqual([...pool, "spare"].map((n) => `update:${n}`).sort());
    // The member, with its address, appears on the group (once), not on every host.
    const spareAddress = lab.hosts[N]!.ipv4;
    expect(preview.stdout).toContain(`spare ${spareAddress}`);
    for (const e of events) {
      const m = e.resourcePreEvent?.metadata;
      if (m?.type.endsWith("nftsg:Attachment") && !m.urn.endsWith("spare")) expect(String(m.new?.inputs?.rules)).not.toContain(spareAddress);
    }
    // Each affected host shows the pool's new size.
    expect(preview.stdout).toMatch(new RegExp(`\\+ *peer sg gossip: ${pool.length + 1} members`));
    const up = await stack.stack.up({ onEvent: (e) => events.push(e) });
    expect(up.summary.result).toBe("succeeded");
    // Packets agree: the newcomer now reaches a pool member's serf port's firewall rule.
    const member = lab.hosts[NAMES.indexOf(pool[0]!)]!;
    const table = await lab.exec(member.name, "nft list table inet nftsg");
    expect(table.stdout).toContain(spareAddress);
  });

  it("a new db member: only the newcomer and the hosts that allow db change", async () => {
    // Give db dependants: app hosts accept callbacks from db.
    const withCallbacks = (): FleetArgs => {
      const args = declaration();
      args.securityGroups.find((g) => g.name === "app")!.ingress!.push({ protocol: "tcp", ports: 9000, securityGroups: ["db"], description: "callbacks from db" });
      return args;
    };
    spareGroups = ["managed", "gossip"];
    stack.setArgs(withCallbacks());
    expect((await stack.stack.up()).summary.result).toBe("succeeded");
    spareGroups = ["db", "managed", "gossip"];
    stack.setArgs(withCallbacks());
    const events: EngineEvent[] = [];
    const up = await stack.stack.up({ onEvent: (e) => events.push(e) });
    expect(up.summary.result).toBe("succeeded");
    const apps = NAMES.filter((n) => n.startsWith("app"));
    expect(attachmentOps(events)).toEqual([...apps, "spare"].map((n) => `update:${n}`).sort());
  });
});
