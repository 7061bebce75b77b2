// Address lists and groups shared across stacks (docs/multistack.md) through
// the real Pulumi CLI, on lab hosts with real packets:
//   - two projects in two backends: a platform stack publishes its bastion
//     group; a team stack reads it (the value of the platform's `published`
//     output, passed across the backends as CI would) as a remote group, and
//     allows the office by an address list;
//   - the team publishes its app group back and the platform names it
//     (mutual references), bootstrapped with allowEmpty;
//   - a membership change in the platform: nothing changes in the team until
//     the platform's `up`; then the team's preview updates exactly the hosts
//     that allow the group, naming it, and the member once on its record;
//   - a list change: once on its record, with the hosts it affects; each of
//     them shows the list's digest line;
//   - missing output, wrong shape, newer format, unpublished group: the
//     preview fails naming the field and the fix, and no host changes;
//     allowEmpty accepts what is empty, never what is malformed;
//   - a third stack in the platform's backend reads it by StackReference.
import { beforeAll, describe, expect, it } from "vitest";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { useLab } from "../support/useLab";
import type { FleetArgs } from "../../sdk/inputs";
import { fleetsStack, type FleetsStack } from "../support/stack";

const NAMES = ["bastion-1", "bastion-2", "app-1", "app-2", "app-3", "office", "spare"] as const;
const APP_PORT = 8080; // from the platform's bastion
const OFFICE_PORT = 8443; // from the office list
const CALLBACK_PORT = 9000; // on the bastion, from the team's app group
let platform: FleetsStack;
let team: FleetsStack;
let byReference: FleetsStack | undefined;
let bastionMembers: string[] = ["bastion-1"];
let officeCidrs: string[] = [];

const conn = (h: string) => ({ host: lab.host(h).ipv4, user: "root", privateKey: lab.privateKey });

/** The platform: bastions, published; its bastions accept callbacks from the team's app group. */
function platformFleet(teamPublished: unknown): FleetArgs {
  return {
    rollbackSeconds: 20,
    remoteGroups: [{ name: "team-app", group: "app", source: teamPublished, allowEmpty: true }],
    securityGroups: [{ name: "bastion", ingress: [{ protocol: "tcp", ports: CALLBACK_PORT, securityGroups: ["team-app"], description: "callbacks from the team's app" }] }],
    hosts: bastionMembers.map((h) => ({ name: h, connection: conn(h), addresses: [lab.host(h).ipv4, lab.host(h).ipv6], securityGroups: ["bastion"] })),
    publish: { groups: ["bastion"] },
  };
}

/** A team: app hosts reached from the platform's bastion (a remote group) and the office (an address list). */
function teamFleet(source: unknown, hosts: readonly string[] = ["app-1", "app-2"], extra: { group?: string; allowEmpty?: boolean } = {}): FleetArgs {
  return {
    rollbackSeconds: 20,
    addressLists: [{ name: "office", cidrs: officeCidrs, description: "office workstations" }],
    remoteGroups: [{ name: "platform-bastion", group: extra.group ?? "bastion", source, ...(extra.allowEmpty ? { allowEmpty: true } : {}) }],
    securityGroups: [{
      name: "app",
      ingress: [
        { protocol: "tcp", ports: APP_PORT, securityGroups: ["platform-bastion"], description: "app from the platform's bastion" },
        { protocol: "tcp", ports: OFFICE_PORT, addressLists: ["office"], description: "admin ui from the office" },
      ],
    }],
    hosts: hosts.map((h) => ({ name: h, connection: conn(h), securityGroups: ["app"] })),
    publish: { groups: ["app"] },
    tests: [
      { from: "sg:platform-bastion", to: "sg:app", protocol: "tcp", port: APP_PORT, expect: "allow", description: "the bastion reaches the app" },
      { from: "list:office", to: "sg:app", protocol: "tcp", port: APP_PORT, expect: "deny", description: "the office does not reach the app port" },
    ],
  };
}

async function published(s: FleetsStack): Promise<unknown> {
  return (await s.stack.outputs()).published?.value;
}

async function tables(hosts: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of hosts) out[h] = (await lab.exec(h, "nft list ruleset")).stdout;
  return out;
}

/** Resources an operation did something to, as "op:type:name" (same excluded). */
function ops(events: EngineEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    const m = e.resourcePreEvent?.metadata;
    if (!m || m.op === "same" || !m.type.includes("nftsg:")) continue;
    out.push(`${m.op}:${m.type.split(":").pop()}:${m.urn.split("::").pop()}`);
  }
  return out.sort();
}

async function failure(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (err: Error) => err);
  expect(e, "the operation succeeded").toBeInstanceOf(Error);
  return e!.message;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/"/g, '\\\\?"');

/** The engine prints a check failure as "property <path> value <v> has a problem: <reason>". */
function expectProblem(message: string, path: string, reason: string): void {
  expect(message).toMatch(new RegExp(`property ${escape(path)}[^\n]* has a problem: [^\n]*${escape(reason)}`));
}

const reach = (from: string, to: string, port: number) => lab.probe(from, lab.host(to).ipv4, { proto: "tcp", port });

const lab = useLab({ hosts: NAMES.length, hostNames: [...NAMES] });

beforeAll(async () => {
  for (const h of ["app-1", "app-2", "app-3"]) await lab.listen(h, "tcp", [APP_PORT, OFFICE_PORT]);
  for (const h of ["bastion-1", "bastion-2"]) await lab.listen(h, "tcp", [CALLBACK_PORT]);
  officeCidrs = [`${lab.host("office").ipv4}/32`];
  // Two projects, two backends (each engineEnv has its own file backend).
  platform = await fleetsStack({ platform: platformFleet(undefined) }, { project: "nftsg-platform", stackName: "prod" });
  team = await fleetsStack({ team: teamFleet(undefined) }, { project: "nftsg-team", stackName: "prod" });
}, 300_000);


describe("two projects, two backends: a platform publishes, a team consumes", () => {
  it("the team's preview before the platform has published fails at the remote group's source, naming the fix; no host changes", async () => {
    const before = await tables(["app-1", "app-2"]);
    expect(await published(platform)).toBeUndefined();
    team.setFleets({ team: teamFleet(await published(platform)) });
    const message = await failure(team.stack.preview());
    expectProblem(message, "remoteGroups[0].source", "no published value (got nothing)");
    expectProblem(message, "remoteGroups[0].source", "or set allowEmpty: true");
    expect(await tables(["app-1", "app-2"])).toEqual(before);
  }, 600_000);

  it("the platform's up publishes its bastion group (names and addresses only) in the documented shape", async () => {
    const up = await platform.stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(await published(platform)).toEqual({
      "nftsg.dev/remote-groups": 1,
      stack: "organization/nftsg-platform/prod",
      fleet: "platform",
      groups: { bastion: { members: [{ name: "bastion-1", addresses: [lab.host("bastion-1").ipv4, lab.host("bastion-1").ipv6] }] } },
    });
    expect(JSON.stringify(await published(platform))).not.toContain("PRIVATE KEY");
  }, 600_000);

  it("the team's up applies the remote group and the address list; packets agree", async () => {
    team.setFleets({ team: teamFleet(await published(platform)) });
    const up = await team.stack.up();
    expect(up.summary.result).toBe("succeeded");
    const [bastionIn, otherBastion, officeIn, officeToApp, spareToAdmin] = await Promise.all([
      reach("bastion-1", "app-1", APP_PORT),
      reach("bastion-2", "app-1", APP_PORT),
      reach("office", "app-2", OFFICE_PORT),
      reach("office", "app-2", APP_PORT),
      reach("spare", "app-2", OFFICE_PORT),
    ]);
    expect({ bastionIn, otherBastion, officeIn, officeToApp, spareToAdmin }).toEqual({ bastionIn: true, otherBastion: false, officeIn: true, officeToApp: false, spareToAdmin: false });
    const table = (await lab.exec("app-1", "nft list table inet nftsg")).stdout;
    expect(table).toMatch(/set sg_platform-bastion_v4 \{/);
    expect(table).toMatch(/set list_office_v4 \{/);
  }, 600_000);

  it("mutual references: the platform names the team's published app group; the team's app reaches the bastion's callback port", async () => {
    expect(await reach("app-1", "bastion-1", CALLBACK_PORT)).toBe(false); // allowEmpty until the team published
    platform.setFleets({ platform: platformFleet(await published(team)) });
    const up = await platform.stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(await reach("app-1", "bastion-1", CALLBACK_PORT)).toBe(true);
    expect(await reach("spare", "bastion-1", CALLBACK_PORT)).toBe(false);
    // The team's next preview: the platform's output is the same members, so nothing changes.
    team.setFleets({ team: teamFleet(await published(platform)) });
    const events: EngineEvent[] = [];
    await team.stack.preview({ onEvent: (e) => events.push(e) });
    expect(ops(events)).toEqual([]);
  }, 600_000);

  it("a membership change in the platform: nothing changes in the team until the platform's up", async () => {
    bastionMembers = ["bastion-1", "bastion-2"];
    platform.setFleets({ platform: platformFleet(await published(team)) });
    const pre = await platform.stack.preview();
    expect(pre.changeSummary.create ?? 0).toBeGreaterThan(0);
    team.setFleets({ team: teamFleet(await published(platform)) });
    const events: EngineEvent[] = [];
    await team.stack.preview({ onEvent: (e) => events.push(e) });
    expect(ops(events)).toEqual([]);
  }, 600_000);

  it("after the platform's up: the team's preview updates exactly the hosts that allow the group, names it, and shows the member once", async () => {
    expect((await platform.stack.up()).summary.result).toBe("succeeded");
    team.setFleets({ team: teamFleet(await published(platform)) });
    const events: EngineEvent[] = [];
    const preview = await team.stack.preview({ diff: true, onEvent: (e) => events.push(e) });
    expect(ops(events)).toEqual([
      "update:Attachment:team-app-1",
      "update:Attachment:team-app-2",
      "update:FleetModel:team",
      "update:RemoteGroup:team-remote-platform-bastion",
    ]);
    // The member with its addresses, once, on the remote group's record.
    const b2 = lab.host("bastion-2");
    expect(preview.stdout).toMatch(new RegExp(`\\+ *bastion-2 ${b2.ipv4.replace(/\./g, "\\.")} ${b2.ipv6}`));
    // Each affected host: the remote group named, with its new count and digest.
    expect(preview.stdout).toMatch(/\+ *peer sg platform-bastion \(remote bastion of organization\/nftsg-platform\/prod\): 2 members, 4 addresses, sha256:[0-9a-f]{16}/);
    expect(preview.stdout).toMatch(/\+ *tcp\/8080 from bastion-2 \(remote sg platform-bastion\)/);
    for (const e of events) {
      const m = e.resourcePreEvent?.metadata;
      if (m?.type.endsWith("nftsg:Attachment")) expect(String(m.new?.inputs?.rules)).not.toContain(b2.ipv4);
    }
    expect((await team.stack.up()).summary.result).toBe("succeeded");
    expect(await reach("bastion-2", "app-1", APP_PORT)).toBe(true);
  }, 600_000);

  it("an address list change reads once on its record, with the hosts it affects; each of them shows the list's digest", async () => {
    officeCidrs = [`${lab.host("office").ipv4}/32`, `${lab.host("spare").ipv4}/32`];
    team.setFleets({ team: teamFleet(await published(platform)) });
    const events: EngineEvent[] = [];
    const preview = await team.stack.preview({ diff: true, onEvent: (e) => events.push(e) });
    expect(ops(events)).toEqual(["update:AddressList:team-list-office", "update:Attachment:team-app-1", "update:Attachment:team-app-2", "update:FleetModel:team"]);
    // Once, on the list's record (canonical: a single address as nft prints it), with the hosts it affects.
    expect(preview.stdout).toMatch(new RegExp(`^ *\\+ ${lab.host("spare").ipv4.replace(/\./g, "\\.")}$`, "m"));
    expect(preview.stdout).toMatch(/affects *: "2 hosts \(group app\): app-1, app-2"/);
    expect(preview.stdout).toMatch(/\+ *peer list office: 2 CIDRs, sha256:[0-9a-f]{16}/);
    expect((await team.stack.up()).summary.result).toBe("succeeded");
    expect(await reach("spare", "app-2", OFFICE_PORT)).toBe(true);
  }, 600_000);

  it("bad or missing remote data fails the team's preview with the field and the fix; no host changes", async () => {
    const good = (await published(platform)) as Record<string, unknown>;
    const before = await tables(["app-1", "app-2"]);
    const cases: [unknown, string[], string, string][] = [
      [{ published: good }, [], "remoteGroups[0].source", 'is an object whose field "published" holds the published value'],
      [{ ...good, "nftsg.dev/remote-groups": 2 }, [], 'remoteGroups[0].source["nftsg.dev/remote-groups"]', "the value was published in format 2 by a newer pulumi-nftsg; this version reads format 1: upgrade pulumi-nftsg"],
      [{ ...good, groups: {} }, [], "remoteGroups[0].group", 'the published value (stack organization/nftsg-platform/prod, Fleet platform) has no group "bastion" (it publishes no group)'],
      [good, ["db"], "remoteGroups[0].group", 'has no group "db" (it publishes bastion)'],
    ];
    for (const [source, group, path, reason] of cases) {
      team.setFleets({ team: teamFleet(source, ["app-1", "app-2"], group.length ? { group: group[0] } : {}) });
      expectProblem(await failure(team.stack.preview()), path, reason);
    }
    expect(await tables(["app-1", "app-2"])).toEqual(before);
  }, 600_000);

  it("allowEmpty accepts an unpublished group (its rules match nothing, said on every host), never a malformed value", async () => {
    const good = (await published(platform)) as Record<string, unknown>;
    team.setFleets({ team: teamFleet(good, ["app-1", "app-2"], { group: "db", allowEmpty: true }) });
    // The policy test "the bastion reaches the app" now fails: the empty group never passes as a vacuous allow.
    const message = await failure(team.stack.preview({ diff: true }));
    expectProblem(message, "tests[0]", 'policy test tests[0] "the bastion reaches the app" failed');
    expect(message).toContain("note: sg:platform-bastion has no members (remote group: group db not published)");
    team.setFleets({ team: { ...teamFleet(good, ["app-1", "app-2"], { group: "db", allowEmpty: true }), tests: [] } });
    const preview = await team.stack.preview({ diff: true });
    expect(preview.stdout).toMatch(/\+ *peer sg platform-bastion \(remote db of organization\/nftsg-platform\/prod\): no members \(group db not published; allowEmpty\)/);
    team.setFleets({ team: teamFleet({ ...good, "nftsg.dev/remote-groups": "one" }, ["app-1", "app-2"], { allowEmpty: true }) });
    expectProblem(await failure(team.stack.preview()), 'remoteGroups[0].source["nftsg.dev/remote-groups"]', "must be the format number 1");
  }, 600_000);
});

describe("a StackReference within one backend", () => {
  it("a stack beside the platform reads its published value by StackReference and applies it", async () => {
    byReference = await fleetsStack(
      (pulumi) => ({ refs: { ...teamFleet(new pulumi.StackReference("organization/nftsg-platform/prod").getOutput("published"), ["app-3"]), publish: undefined } }),
      { project: "nftsg-refs", stackName: "prod", engine: platform.engine },
    );
    const up = await byReference.stack.up();
    expect(up.summary.result).toBe("succeeded");
    const [b1, b2, spare] = await Promise.all([reach("bastion-1", "app-3", APP_PORT), reach("bastion-2", "app-3", APP_PORT), reach("spare", "app-3", APP_PORT)]);
    expect({ b1, b2, spare }).toEqual({ b1: true, b2: true, spare: false });
  }, 600_000);

  it("a StackReference output that does not exist fails at preview as missing, with the fix; no host changes", async () => {
    const before = await tables(["app-3"]);
    byReference!.setFleets((pulumi) => ({ refs: { ...teamFleet(new pulumi.StackReference("organization/nftsg-platform/prod").getOutput("publishd"), ["app-3"]), publish: undefined } }));
    const message = await failure(byReference!.stack.preview());
    expectProblem(message, "remoteGroups[0].source", "no published value (got nothing)");
    expect(await tables(["app-3"])).toEqual(before);
  }, 600_000);

  it("the platform's member leaves: nothing changes by reference until its up, then exactly app-3", async () => {
    byReference!.setFleets((pulumi) => ({ refs: { ...teamFleet(new pulumi.StackReference("organization/nftsg-platform/prod").getOutput("published"), ["app-3"]), publish: undefined } }));
    bastionMembers = ["bastion-1"];
    platform.setFleets({ platform: platformFleet(await published(team)) });
    let events: EngineEvent[] = [];
    await byReference!.stack.preview({ onEvent: (e) => events.push(e) });
    expect(ops(events)).toEqual([]);
    expect((await platform.stack.up()).summary.result).toBe("succeeded");
    events = [];
    await byReference!.stack.preview({ onEvent: (e) => events.push(e) });
    expect(ops(events)).toEqual(["update:Attachment:refs-app-3", "update:FleetModel:refs", "update:RemoteGroup:refs-remote-platform-bastion"]);
    expect((await byReference!.stack.up()).summary.result).toBe("succeeded");
    expect(await reach("bastion-2", "app-3", APP_PORT)).toBe(false);
  }, 600_000);
});
