// Address lists and remote groups (docs/multistack.md), pure parts: what is
// accepted on purpose (the invalid cases are in test/support/multistackCases.ts,
// run by validate.test.ts and checkCorpus.test.ts), the compiled sets, names
// and lines, the evaluator, flows, lint, the published value, and the SDK's
// compile-once path and records.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { compileFleet, validateFleet } from "../../provider/compiler/compile";
import type { FleetDeclaration, HostRuleset } from "../../provider/declaration/declaration";
import type { NormalisedFleet } from "../../provider/declaration/fleetModel";
import { REMOTE_GROUPS_KEY, pickPublishedGroup, publishedGroups, readRemoteGroup } from "../../provider/declaration/remoteGroups";
import { evaluate, EvaluationError, formatEvaluation, lintFleet, runPolicyTests } from "../../provider/evaluate";
import { indexFleet } from "../../provider/evaluate/fleetIndex";
import { fleetFlowDiff, hostFlows } from "../../provider/evaluate/flows";
import { flowDiffMarkdown } from "../../provider/evaluate/flowSummary";
import { fleetSlices } from "../../sdk/slice";
import { SharedCompile } from "../../sdk/sharedCompile";
import { addressListText, affectedHostsText, remoteGroupRecord } from "../../sdk/multistack";
import { platformPublished } from "../support/multistackCases";

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A team's fleet: app hosts reached from the platform's bastion and monitoring, the office and partners lists. */
function team(opts: { office?: string[]; published?: unknown; bastion?: Any } = {}): Any {
  const published = opts.published ?? platformPublished();
  return {
    failsafe: { cidrs: ["192.0.2.0/24"] },
    addressLists: [
      { name: "office", cidrs: opts.office ?? ["203.0.113.0/25", "2001:db8:ff::/48"], description: "office networks" },
      { name: "partners", cidrs: ["198.51.100.128/25"] },
    ],
    remoteGroups: [
      { name: "bastion", source: published, ...opts.bastion },
      { name: "mon", group: "monitoring", source: published },
    ],
    securityGroups: [
      {
        name: "app",
        ingress: [
          { protocol: "tcp", ports: 22, securityGroups: ["bastion"], description: "ssh from bastion" },
          { protocol: "tcp", ports: 443, addressLists: ["office"], description: "https from office" },
          { protocol: "tcp", ports: 9100, securityGroups: ["mon"], addressLists: ["office"] },
          { protocol: "icmp", addressLists: ["office"], description: "ping from office" },
          { protocol: "icmpv6", addressLists: ["office"], description: "ping6 from office" },
        ],
      },
      { name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["app"] }, { protocol: "tcp", ports: 5432, addressLists: ["partners"], description: "partners" }] },
      { name: "web", ingress: [{ protocol: "tcp", ports: 80, cidrs: ["0.0.0.0/0"] }] },
    ],
    hosts: [
      { name: "app-1", connection: { host: "198.18.0.11" }, addresses: ["198.18.0.11", "2001:db8::11"], securityGroups: ["app"] },
      { name: "app-2", connection: { host: "198.18.0.12" }, securityGroups: ["app"] },
      { name: "db-1", connection: { host: "198.18.0.21" }, securityGroups: ["db"] },
      { name: "web-1", connection: { host: "198.18.0.31" }, securityGroups: ["web"] },
    ],
  };
}

function valid(d: unknown): NormalisedFleet {
  const r = validateFleet(d);
  if (!r.ok) throw new Error(JSON.stringify(r.issues, null, 1));
  return r.fleet;
}

const withMember = (name: string, address: string): Any => {
  const p = platformPublished();
  p.groups.bastion.members.push({ name, addresses: [address] });
  return p;
};

const script = (c: Record<string, HostRuleset>, h: string) => c[h]!.script;
const setNames = (s: string) => [...s.matchAll(/^\tset (\S+) \{/gm)].map((m) => m[1]);

describe("accepted on purpose", () => {
  it("the team fleet validates", () => {
    expect(validateFleet(team()).ok).toBe(true);
  });

  it("allowEmpty accepts no value yet, an unpublished group and a group without members; the rule then matches nothing", () => {
    const p = platformPublished();
    for (const source of [undefined, null, { ...p, groups: { monitoring: p.groups.monitoring } }, { ...p, groups: { ...p.groups, bastion: { members: [] } } }]) {
      const d = team({ bastion: { allowEmpty: true, source } });
      const f = valid(d);
      expect(f.remoteGroups!.find((r) => r.name === "bastion")!.members).toEqual([]);
      const c = compileFleet(d, { lineStyle: "groups" });
      expect(script(c, "app-1")).not.toContain("sg_bastion");
      expect(c["app-1"]!.lines.find((l) => l.startsWith("peer sg bastion"))).toMatch(/: no members \((no published value yet|group bastion not published|published without members); allowEmpty\)$/);
    }
  });

  it("allowEmpty never hides a malformed or newer value", () => {
    const r = validateFleet(team({ bastion: { allowEmpty: true, source: { ...platformPublished(), [REMOTE_GROUPS_KEY]: 2 } } }));
    expect(r.ok).toBe(false);
    const r2 = validateFleet(team({ bastion: { allowEmpty: true, source: "bastion" } }));
    expect(r2.ok).toBe(false);
  });

  it("adjacent list entries are fine and merge in the set; one dual-stack list serves icmp and icmpv6 rules", () => {
    const d = team({ office: ["203.0.113.0/25", "203.0.113.128/25", "2001:db8:ff::/48"] });
    const s = script(compileFleet(d), "app-1");
    expect(s).toMatch(/set list_office_v4 \{[^}]*elements = \{ 203\.0\.113\.0\/24 \}/);
    expect(s).toContain('ip saddr @list_office_v4 meta l4proto icmp accept comment "app: ping from office"');
    expect(s).toContain('ip6 saddr @list_office_v6 meta l4proto ipv6-icmp accept comment "app: ping6 from office"');
    expect(s).not.toMatch(/ip6 saddr @list_office_v6 meta l4proto icmp /);
  });

  it("a published value with fields this version does not know is read (they are ignored)", () => {
    const f = valid(team({ published: { ...platformPublished(), generatedAt: "2025-01-01", extra: { a: 1 } } }));
    expect(f.remoteGroups!.map((r) => [r.name, r.group, r.members.map((m) => m.name)])).toEqual([["bastion", "bastion", ["bastion-1"]], ["mon", "monitoring", ["mon-1"]]]);
  });
});

describe("compiled: named sets, stable names, lines", () => {
  it("a list is one named set per family (list_<name>_v4/_v6); a remote group is sg_<name>_v4/_v6; mixed peers get a digest name", () => {
    const s = script(compileFleet(team()), "app-1");
    expect(setNames(s)).toEqual(["failsafe_v4", "list_office_v4", "list_office_v6", "peers_v4_b207c9b1ce4e", "peers_v6_bab25a324a16", "sg_bastion_v4", "sg_bastion_v6"]);
    expect(s).toMatch(/set sg_bastion_v4 \{[^}]*elements = \{ 198\.51\.100\.10 \}/);
    expect(s).toMatch(/set peers_v4_b207c9b1ce4e \{[^}]*elements = \{ 198\.51\.100\.20, 203\.0\.113\.0\/25 \}/);
    expect(s).toContain('ip saddr @peers_v4_b207c9b1ce4e tcp dport 9100 accept comment "app: tcp/9100 from sg mon, list office"');
  });

  it("a list's change changes its sets' elements, never their names, and only on the hosts whose rules name it", () => {
    const before = compileFleet(team());
    const after = compileFleet(team({ office: ["203.0.113.0/25", "203.0.113.200/32", "2001:db8:ff::/48"] }));
    expect(setNames(script(after, "app-1"))).toEqual(setNames(script(before, "app-1")));
    expect(script(after, "app-1")).not.toEqual(script(before, "app-1"));
    expect(script(after, "app-1")).toContain("203.0.113.200");
    for (const h of ["db-1", "web-1"]) expect(script(after, h)).toEqual(script(before, h));
  });

  it("a remote membership change reaches only the hosts whose rules name the remote group", () => {
    const before = compileFleet(team());
    const after = compileFleet(team({ published: withMember("bastion-2", "198.51.100.11") }));
    for (const h of ["app-1", "app-2"]) {
      expect(script(after, h)).not.toEqual(script(before, h));
      expect(setNames(script(after, h))).toEqual(setNames(script(before, h)));
    }
    for (const h of ["db-1", "web-1"]) expect(script(after, h)).toEqual(script(before, h));
  });

  it("declaration order never matters: lists, their entries, remote groups and their members", () => {
    const d = team();
    const shuffled: Any = team({ office: ["2001:db8:ff::/48", "203.0.113.0/25"] });
    shuffled.addressLists.reverse();
    shuffled.remoteGroups.reverse();
    const p = platformPublished();
    p.groups.bastion.members = [{ name: "bastion-1", addresses: ["2001:db8:5::10", "198.51.100.10"] }];
    shuffled.remoteGroups.forEach((r: Any) => (r.source = { groups: p.groups, fleet: p.fleet, stack: p.stack, [REMOTE_GROUPS_KEY]: 1 }));
    shuffled.securityGroups[0].ingress.reverse();
    expect(compileFleet(shuffled, { lineStyle: "groups" })).toEqual(compileFleet(d, { lineStyle: "groups" }));
  });

  it("SDK lines: the rule names the list or remote group, and each has one digest line; a change changes exactly that line", () => {
    const lines = (d: Any) => compileFleet(d, { lineStyle: "groups", owner: "o/p/s" })["app-1"]!.lines;
    const l = lines(team());
    expect(l).toContain("ingress tcp/443 from list office [app: https from office]");
    expect(l).toContain("ingress tcp/22 from sg bastion [app: ssh from bastion]");
    expect(l.filter((x) => x.startsWith("peer "))).toEqual([
      expect.stringMatching(/^peer list office: 2 CIDRs, sha256:[0-9a-f]{16}$/),
      expect.stringMatching(/^peer sg bastion \(remote, from organization\/platform\/prod\): 1 member, 2 addresses, sha256:[0-9a-f]{16}$/),
      expect.stringMatching(/^peer sg mon \(remote monitoring of organization\/platform\/prod\): 1 member, 1 address, sha256:[0-9a-f]{16}$/),
    ]);
    const changedList = lines(team({ office: ["203.0.113.0/25", "203.0.113.200/32", "2001:db8:ff::/48"] }));
    expect(changedList.filter((x) => !l.includes(x))).toEqual([expect.stringMatching(/^peer list office: 3 CIDRs, sha256:/)]);
    const changedRemote = lines(team({ published: withMember("bastion-2", "198.51.100.11") }));
    expect(changedRemote.filter((x) => !l.includes(x))).toEqual([expect.stringMatching(/^peer sg bastion \(remote, from organization\/platform\/prod\): 2 members, 3 addresses/)]);
  });

  it("address lines name each CIDR's list and each remote member's group", () => {
    const l = compileFleet(team())["app-1"]!.lines;
    expect(l).toContain("ingress tcp/443 from 203.0.113.0/25 (list office) [app: https from office]");
    expect(l).toContain("ingress tcp/443 from 2001:db8:ff::/48 (list office) [app: https from office]");
    expect(l).toContain("ingress tcp/22 from 198.51.100.10 (host bastion-1 in remote sg bastion) [app: ssh from bastion]");
    expect(l).toContain("ingress icmp/all from 203.0.113.0/25 (list office) [app: ping from office]");
    expect(l.some((x) => x.startsWith("ingress icmp/all from 2001:db8"))).toBe(false);
  });

  it("a fleet that names no list or remote group keeps its set names and rule keys", () => {
    const d: Any = team();
    d.securityGroups = [{ name: "x", ingress: [{ protocol: "tcp", ports: 1, cidrs: ["10.0.0.0/8"], securityGroups: ["x"] }] }];
    d.hosts = [{ name: "x-1", connection: { host: "198.18.0.41" }, securityGroups: ["x"] }];
    const withDecls = compileFleet(d)["x-1"]!.script;
    delete d.addressLists;
    delete d.remoteGroups;
    expect(compileFleet(d)["x-1"]!.script).toEqual(withDecls);
    // The digest key of a set without lists is what it always was.
    const digest = createHash("sha256").update(JSON.stringify({ family: 4, cidrs: ["10.0.0.0/8"], groups: ["x"] })).digest("hex").slice(0, 12);
    expect(setNames(withDecls)).toEqual(["failsafe_v4", `peers_v4_${digest}`]);
  });
});

describe("evaluator, policy tests, explain", () => {
  const index = () => indexFleet(valid(team()));

  it("list:<name> is an end: its CIDRs, named in the explanation", () => {
    const e = evaluate(index(), { from: "list:office", to: "sg:app", protocol: "tcp", port: 443 });
    expect(e.verdict).toBe("allow");
    expect(formatEvaluation({ from: "list:office", to: "sg:app", protocol: "tcp", port: 443 }, e)).toContain(
      '  list office -> app-1 (198.18.0.11): allow\n    ingress app-1: app "https from office" (tcp/443 from list office)',
    );
    expect(evaluate(index(), { from: "list:partners", to: "app-1", protocol: "tcp", port: 443 }).verdict).toBe("deny");
    expect(evaluate(index(), { from: "list:partners", to: "db-1", protocol: "tcp", port: 5432 }).verdict).toBe("allow");
    // One address of the list: the rule is named by its list.
    const one = evaluate(index(), { from: "203.0.113.7", to: "app-1", protocol: "tcp", port: 9100 });
    expect(one.flows[0]!.ingress!.rules.map((r) => r.text)).toEqual(["tcp/9100 from sg mon, list office"]);
  });

  it("sg:<remote group> stands for its published members, outside this fleet, and says so", () => {
    const q = { from: "sg:bastion", to: "sg:app", protocol: "tcp", port: 22 } as const;
    const e = evaluate(index(), q);
    expect(e.verdict).toBe("allow");
    expect(e.counts.allow).toBe(3); // bastion-1 over IPv4 to app-1 and app-2, over IPv6 to app-1
    expect(e.notes).toEqual(["sg:bastion is a remote group: its members are hosts of organization/platform/prod, whose own rules are not evaluated here"]);
    expect(formatEvaluation(q, e)).toContain("bastion-1 (198.51.100.10) -> app-1 (198.18.0.11): allow");
    expect(evaluate(index(), { from: "sg:mon", to: "app-1", protocol: "tcp", port: 22 }).verdict).toBe("deny");
  });

  it("an empty remote group (allowEmpty) evaluates deny with a note, so an allow test fails loudly", () => {
    const d = team({ bastion: { allowEmpty: true, source: undefined } });
    d.tests = [{ from: "sg:bastion", to: "sg:app", protocol: "tcp", port: 22, expect: "allow", description: "bastion reaches app" }];
    const [o] = runPolicyTests(valid(d));
    expect(o!.passed).toBe(false);
    expect(o!.message).toContain("note: sg:bastion has no members (remote group: no published value yet)");
  });

  it("policy tests name lists and remote groups like local groups", () => {
    const d = team();
    d.tests = [
      { from: "sg:bastion", to: "sg:app", protocol: "tcp", port: 22, expect: "allow" },
      { from: "list:office", to: "sg:db", protocol: "tcp", port: 5432, expect: "deny" },
      { from: "sg:mon", to: "app-2", protocol: "tcp", port: 9100, expect: "allow" },
      { from: "sg:bastion", to: "db-1", protocol: "tcp", port: 5432, expect: "allow" },
    ];
    const out = runPolicyTests(valid(d));
    expect(out.map((o) => o.passed)).toEqual([true, true, true, false]);
    expect(out[3]!.message).toContain("bastion-1 (198.51.100.10) -> db-1 (198.18.0.21): deny");
  });

  it("unknown names fail with a suggestion; a list and a CIDR are both outside the fleet", () => {
    expect(() => evaluate(index(), { from: "list:ofice", to: "app-1", protocol: "tcp", port: 443 })).toThrow(/unknown address list "ofice"; did you mean "list:office"\?/);
    expect(() => evaluate(index(), { from: "sg:bastoin", to: "app-1", protocol: "tcp", port: 22 })).toThrow(/did you mean "sg:bastion"/);
    expect(() => evaluate(index(), { from: "list:office", to: "sg:bastion", protocol: "tcp", port: 22 })).toThrow(EvaluationError);
  });
});

describe("flows and flow diffs speak of lists and remote groups by name", () => {
  it("the flows input: a whole list by name, remote members by name and group", () => {
    const flows = hostFlows(indexFleet(valid(team())), "app-1");
    expect(flows).toEqual(expect.arrayContaining([
      "icmp from list office",
      "icmpv6 from list office",
      "tcp/443,9100 from list office",
      "tcp/22 from bastion-1 (remote sg bastion)",
      "tcp/9100 from mon-1 (remote sg mon)",
    ]));
  });

  it("a list's change: each affected host shows the CIDR with its list; the summary says the change once with the hosts it reaches", () => {
    const before = valid(team());
    const after = valid(team({ office: ["203.0.113.0/25", "203.0.113.128/26", "2001:db8:ff::/48"] }));
    const diffs = fleetFlowDiff(indexFleet(before), indexFleet(after));
    expect(diffs.map((d) => d.host)).toEqual(["app-1", "app-2"]);
    expect(diffs[0]!.added.map((l) => l.text)).toEqual([
      "icmp from 203.0.113.128/26 (list office)",
      "tcp/443,9100 from 203.0.113.128/26 (list office)",
    ]);
    const md = flowDiffMarkdown("team", before, after);
    expect(md).toContain("Address lists and remote groups that change:\n\n- list office: + 203.0.113.128/26, affects 2 hosts\n");
    expect(md).toContain("+ tcp/443,9100 from 203.0.113.128/26 (list office) — app: https from office; app: ingress rule");
  });

  it("a remote membership change: the new member, named, on exactly the hosts that allow the group", () => {
    const before = valid(team());
    const after = valid(team({ published: withMember("bastion-2", "198.51.100.11") }));
    const diffs = fleetFlowDiff(indexFleet(before), indexFleet(after));
    expect(diffs.map((d) => [d.host, d.added.map((l) => l.text), d.removed.length])).toEqual([
      ["app-1", ["tcp/22 from bastion-2 (remote sg bastion)"], 0],
      ["app-2", ["tcp/22 from bastion-2 (remote sg bastion)"], 0],
    ]);
    expect(flowDiffMarkdown("team", before, after)).toContain("- remote sg bastion: + bastion-2 (198.51.100.11), affects 2 hosts\n");
    expect(flowDiffMarkdown("team", after, before)).toContain("- remote sg bastion: - bastion-2 (198.51.100.11), affects 2 hosts\n");
  });
});

describe("lint", () => {
  it("an unused list, an empty remote group, a rule implied through a list, world-open through a list", () => {
    const d = team({ bastion: { allowEmpty: true, source: undefined } });
    d.addressLists.push({ name: "unused", cidrs: ["192.0.2.0/24"] }, { name: "world", cidrs: ["0.0.0.0/0"] });
    d.securityGroups[2].ingress.push({ protocol: "tcp", ports: 22, addressLists: ["world"], description: "ssh from anywhere" });
    d.securityGroups[1].ingress.push({ protocol: "tcp", ports: 5432, cidrs: ["198.51.100.192/26"], description: "one partner" });
    const w = lintFleet(valid(d)).map((x) => `${x.code} ${x.where}: ${x.message}`);
    expect(w).toEqual(expect.arrayContaining([
      "unused-address-list list unused: no rule names this address list: it applies nowhere",
      'empty-peer-group sg app ingress "ssh from bastion": peer group bastion has no members (remote group: no published value yet, allowEmpty): the rule matches nothing through it',
      'implied-rule sg db ingress "one partner": implied by sg db ingress "partners": it allows nothing more; remove it or narrow the other',
      'world-open-admin-port sg web ingress "ssh from anywhere": open to 0.0.0.0/0 on 22 (ssh); narrow the peers to the networks that need it',
    ]));
    expect(w.some((x) => x.startsWith("empty-peer-group") && x.includes("peer group mon"))).toBe(false);
  });
});

describe("the published value", () => {
  const hosts = [
    { name: "b-2", securityGroups: ["bastion"], connection: { host: "198.51.100.12", privateKey: "SECRET-KEY", password: "pw" }, addresses: ["2001:DB8:5::0012", "198.51.100.12"] },
    { name: "b-1", securityGroups: ["bastion", "monitoring"], connection: { host: "198.51.100.11", user: "root" } },
    { name: "lo", securityGroups: ["bastion"], connection: { host: "127.0.0.1" }, addresses: ["127.0.0.1", "198.51.100.13"] },
    { name: "x", securityGroups: ["other"], connection: { host: "198.51.100.14" } },
  ];

  it("names and addresses only, canonical and sorted, whatever the declaration order", () => {
    const p = publishedGroups(hosts, ["monitoring", "bastion", "empty"], { stack: "o/platform/prod", fleet: "platform" });
    expect(p).toEqual({
      [REMOTE_GROUPS_KEY]: 1,
      stack: "o/platform/prod",
      fleet: "platform",
      groups: {
        bastion: { members: [
          { name: "b-1", addresses: ["198.51.100.11"] },
          { name: "b-2", addresses: ["198.51.100.12", "2001:db8:5::12"] },
          { name: "lo", addresses: ["198.51.100.13"] },
        ] },
        empty: { members: [] },
        monitoring: { members: [{ name: "b-1", addresses: ["198.51.100.11"] }] },
      },
    });
    expect(publishedGroups([...hosts].reverse(), ["bastion", "monitoring", "empty"], { stack: "o/platform/prod", fleet: "platform" })).toEqual(p);
    const text = JSON.stringify(p);
    for (const secret of ["SECRET-KEY", "pw", "root", "connection", "198.51.100.14"]) expect(text).not.toContain(secret);
  });

  it("reads back as published; a consumer keeps only the group it uses", () => {
    const p = publishedGroups(hosts, ["bastion", "monitoring"]);
    const r = readRemoteGroup(p, "bastion", { allowEmpty: false, groupField: "name" });
    expect(r.ok && r.read.members.map((m) => m.name)).toEqual(["b-1", "b-2", "lo"]);
    expect(pickPublishedGroup(p, "monitoring")).toEqual({ [REMOTE_GROUPS_KEY]: 1, groups: { monitoring: p.groups.monitoring } });
    // Absent: the other groups' names stay, for the message that lists them.
    expect(pickPublishedGroup(p, "nope")).toEqual({ [REMOTE_GROUPS_KEY]: 1, groups: { bastion: {}, monitoring: {} } });
    // What is not a known value is left for the check to explain.
    for (const v of [undefined, "x", { a: 1 }, { [REMOTE_GROUPS_KEY]: 2, groups: {} }]) expect(pickPublishedGroup(v, "bastion")).toBe(v);
  });
});

describe("SDK: compile once with lists and remote groups; records", () => {
  const owners = (decl: FleetDeclaration) => Object.fromEntries(decl.hosts.map((h) => [h.name, `o/p/s/host=${h.name}`]));

  it("each host's slice names only the lists and remote groups its rules name; hosts that name the same share them", () => {
    const d = team();
    const slices = fleetSlices(d as FleetDeclaration & Any);
    expect(slices.get("app-1")!.remoteGroups.map((r: Any) => r.name)).toEqual(["bastion", "mon"]);
    expect(slices.get("app-1")!.addressLists.map((l: Any) => l.name)).toEqual(["office"]);
    expect(slices.get("db-1")!.remoteGroups).toEqual([]);
    expect(slices.get("db-1")!.addressLists.map((l: Any) => l.name)).toEqual(["partners"]);
    expect(slices.get("web-1")!.addressLists).toEqual([]);
    expect(slices.get("app-1")!.addressLists).toBe(slices.get("app-2")!.addressLists);
  });

  it("every host gets what a compile of the whole fleet gives it", async () => {
    const d = team() as FleetDeclaration;
    const whole = compileFleet(d, { owners: owners(d), lineStyle: "groups" });
    const shared = new SharedCompile(new Set(d.securityGroups.map((g) => g.name)), (decl, only) => compileFleet(decl, { owners: owners(decl), lineStyle: "groups", only }));
    const slices = fleetSlices(d);
    const got = await Promise.all(d.hosts.map((h) => {
      const s = slices.get(h.name)!;
      return shared.request(h.name, {
        options: { failsafe: d.failsafe },
        ownGroups: s.ownGroups,
        peerGroups: s.peerGroups.map((g) => ({ name: g.name })),
        self: s.self,
        peerMembers: s.peerMembers,
        remoteGroups: s.remoteGroups as Any,
        addressLists: s.addressLists as Any,
      });
    }));
    expect(Object.fromEntries(d.hosts.map((h, i) => [h.name, got[i]]))).toEqual(whole);
  });

  it("records: a list's CIDRs one per line (canonical, sorted) and the hosts it affects; a remote group's members", () => {
    expect(addressListText("office", ["2001:DB8:ff::/48", "203.0.113.0/25", "bad"])).toBe("@cidrs of address list office, one per line\n203.0.113.0/25\n2001:db8:ff::/48\nbad\n");
    const d = team();
    const names = (l: string) => (r: Any) => (r.addressLists ?? []).includes(l);
    expect(affectedHostsText(d.securityGroups, d.hosts, names("office"))).toBe("2 hosts (group app): app-1, app-2");
    expect(affectedHostsText(d.securityGroups, d.hosts, names("nope"))).toBe("no host: no rule names it");
    expect(remoteGroupRecord({ name: "bastion", source: withMember("bastion-0", "198.51.100.9") })).toEqual({
      source: "group bastion of stack organization/platform/prod (Fleet platform)",
      members: ["bastion-0", "bastion-1"],
      memberAddresses: "@members: name and addresses, one per line\nbastion-0 198.51.100.9\nbastion-1 198.51.100.10 2001:db8:5::10\n",
    });
    expect(remoteGroupRecord({ name: "bastion", source: undefined, allowEmpty: true }).memberAddresses).toBe(
      "@members: name and addresses, one per line\n(no members: no published value yet; allowEmpty)\n",
    );
    expect(remoteGroupRecord({ name: "bastion", source: "junk" }).source).toBe("group bastion: invalid published value");
  });
});
