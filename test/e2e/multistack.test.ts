// Address lists and groups shared across stacks (docs/multistack.md) through
// the real CLI driven by the Automation API, on lab hosts: what the CLI
// example (test/e2e/cli-multistack.test.ts: two projects, two backends,
// mutual references, a membership and a list change, a StackReference, with
// packets) does not show:
//   - the published value, as a stack output, in the documented shape with
//     names and addresses only;
//   - every kind of missing or bad remote data, in one preview: each problem
//     named with its field and the fix, and no host changed;
//   - allowEmpty accepts what is empty (its rules match nothing, said on
//     every host, and an allow test fails loudly), never what is malformed;
//   - a StackReference output that does not exist fails at preview as
//     missing.
// Each invalid list and remote value of test/support/multistackCases.ts goes
// through the provider's check in test/unit/checkCorpus.test.ts.
import { beforeAll, describe, expect, it } from "vitest";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { useLab } from "../support/useLab";
import type { FleetArgs } from "../../sdk/inputs";
import { fleetsStack, type FleetsStack } from "../support/stack";

const NAMES = ["bastion-1", "app-1", "app-2", "app-3", "office"] as const;
const APP_PORT = 8080; // from the platform's bastion
const OFFICE_PORT = 8443; // from the office list
const CALLBACK_PORT = 9000; // on the bastion, from the team's app group
let platform: FleetsStack;
let team: FleetsStack;
let officeCidrs: string[] = [];

const conn = (h: string) => ({ host: lab.host(h).ipv4, user: "root", privateKey: lab.privateKey });

/** The platform: a bastion, published; it accepts callbacks from the team's app group (not published yet: allowEmpty). */
function platformFleet(): FleetArgs {
  return {
    rollbackSeconds: 20,
    remoteGroups: [{ name: "team-app", group: "app", source: undefined, allowEmpty: true }],
    securityGroups: [{ name: "bastion", ingress: [{ protocol: "tcp", ports: CALLBACK_PORT, securityGroups: ["team-app"], description: "callbacks from the team's app" }] }],
    hosts: [{ name: "bastion-1", connection: conn("bastion-1"), addresses: [lab.host("bastion-1").ipv4, lab.host("bastion-1").ipv6], securityGroups: ["bastion"] }],
    publish: { groups: ["bastion"] },
  };
}

type RemoteGroup = NonNullable<FleetArgs["remoteGroups"]>[number];

/** A team: app hosts reached from the platform's bastion (a remote group) and the office (an address list). */
function teamFleet(source: unknown, hosts: readonly string[] = ["app-1", "app-2"], extra: { group?: string; allowEmpty?: boolean; more?: RemoteGroup[] } = {}): FleetArgs {
  return {
    rollbackSeconds: 20,
    addressLists: [{ name: "office", cidrs: officeCidrs, description: "office workstations" }],
    remoteGroups: [{ name: "platform-bastion", group: extra.group ?? "bastion", source, ...(extra.allowEmpty ? { allowEmpty: true } : {}) }, ...(extra.more ?? [])],
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

const lab = useLab({ hosts: NAMES.length, hostNames: [...NAMES] });

beforeAll(async () => {
  officeCidrs = [`${lab.host("office").ipv4}/32`];
  // Two projects, two backends (each engineEnv has its own file backend).
  platform = await fleetsStack({ platform: platformFleet() }, { project: "nftsg-platform", stackName: "prod" });
  team = await fleetsStack({ team: teamFleet(undefined) }, { project: "nftsg-team", stackName: "prod" });
}, 300_000);

describe("two projects, two backends: a platform publishes, a team consumes", () => {
  it("the platform's up publishes its bastion group (names and addresses only) in the documented shape", async () => {
    expect(await published(platform)).toBeUndefined(); // nothing before its first up
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

  it("missing or bad remote data: one preview names every problem with its field and the fix; no host changes", async () => {
    const good = (await published(platform)) as Record<string, unknown>;
    const before = await tables(["app-1", "app-2"]);
    // Each remote group after the first (which is good) fails in its own way; allowEmpty never hides a malformed value.
    const bad: [RemoteGroup, string, string][] = [
      [{ name: "unpublished", group: "bastion", source: undefined }, "source", "no published value (got nothing)"],
      [{ name: "outputs", group: "bastion", source: { published: good } }, "source", 'is an object whose field "published" holds the published value'],
      [{ name: "newer", group: "bastion", source: { ...good, "nftsg.dev/remote-groups": 2 } }, 'source["nftsg.dev/remote-groups"]', "the value was published in format 2 by a newer pulumi-nftsg; this version reads format 1: upgrade pulumi-nftsg"],
      [{ name: "no-groups", group: "bastion", source: { ...good, groups: {} } }, "group", 'the published value (stack organization/nftsg-platform/prod, Fleet platform) has no group "bastion" (it publishes no group)'],
      [{ name: "db", group: "db", source: good }, "group", 'has no group "db" (it publishes bastion)'],
      [{ name: "malformed", group: "bastion", source: { ...good, "nftsg.dev/remote-groups": "one" }, allowEmpty: true }, 'source["nftsg.dev/remote-groups"]', "must be the format number 1"],
    ];
    team.setFleets({ team: teamFleet(good, ["app-1", "app-2"], { more: bad.map(([g]) => g) }) });
    const message = await failure(team.stack.preview());
    bad.forEach(([, field, reason], i) => expectProblem(message, `remoteGroups[${i + 1}].${field}`, reason));
    expectProblem(message, "remoteGroups[1].source", "or set allowEmpty: true");
    expect(message).not.toMatch(/property remoteGroups\[0\]/);
    expect(await tables(["app-1", "app-2"])).toEqual(before);
  }, 600_000);

  it("allowEmpty accepts an unpublished group: its rules match nothing, said on every host, and an allow test of it fails", async () => {
    const good = (await published(platform)) as Record<string, unknown>;
    team.setFleets({ team: teamFleet(good, ["app-1", "app-2"], { group: "db", allowEmpty: true }) });
    // The policy test "the bastion reaches the app" now fails: the empty group never passes as a vacuous allow.
    const message = await failure(team.stack.preview({ diff: true }));
    expectProblem(message, "tests[0]", 'policy test tests[0] "the bastion reaches the app" failed');
    expect(message).toContain("note: sg:platform-bastion has no members (remote group: group db not published)");
    team.setFleets({ team: { ...teamFleet(good, ["app-1", "app-2"], { group: "db", allowEmpty: true }), tests: [] } });
    // Said on the remote group's record and in every host's rules (the preview's events carry each Attachment's whole inputs).
    const events: EngineEvent[] = [];
    const preview = await team.stack.preview({ diff: true, onEvent: (e) => events.push(e) });
    expect(preview.stdout).toContain("(no members: group db not published; allowEmpty)");
    const rules = events.map((e) => e.resourcePreEvent?.metadata).filter((m) => m?.type.endsWith("nftsg:Attachment")).map((m) => String(m!.new?.inputs?.rules));
    expect(rules).toHaveLength(2);
    for (const r of rules) expect(r).toContain("peer sg platform-bastion (remote db of organization/nftsg-platform/prod): no members (group db not published; allowEmpty)");
  }, 600_000);
});

describe("a StackReference within one backend", () => {
  it("a StackReference output that does not exist fails at preview as missing, with the fix; no host changes", async () => {
    const before = await tables(["app-3"]);
    const byReference = await fleetsStack(
      (pulumi) => ({ refs: { ...teamFleet(new pulumi.StackReference("organization/nftsg-platform/prod").getOutput("publishd"), ["app-3"]), publish: undefined } }),
      { project: "nftsg-refs", stackName: "prod", engine: platform.engine },
    );
    const message = await failure(byReference.stack.preview());
    expectProblem(message, "remoteGroups[0].source", "no published value (got nothing)");
    expect(await tables(["app-3"])).toEqual(before);
  }, 600_000);
});
