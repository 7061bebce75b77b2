// Flow-level preview: the per-host flow listing (the Attachment's
// `flows` input) and the flow diff of a change (the Markdown summary).
import { describe, expect, it } from "vitest";
import type { FleetDeclaration, SecurityGroupDeclaration } from "../../provider/declaration/declaration";
import { fleetIndexOf } from "../../provider/evaluate";
import { fleetFlowDiff, hostFlows } from "../../provider/evaluate/flows";
import { flowDiffMarkdown } from "../../provider/evaluate/flowSummary";
import { validateFleet } from "../../provider/declaration/validate";
import { sampleDeclaration } from "../../examples/web-db/sample";
import { compileFleet } from "../../provider/compiler/compile";
import { requireDist } from "../support/dist";

const sample = (extraWeb: string[] = []) => sampleDeclaration(extraWeb) as unknown as FleetDeclaration;
const diff = (a: FleetDeclaration, b: FleetDeclaration) =>
  fleetFlowDiff(fleetIndexOf(a), fleetIndexOf(b)).map((d) => ({
    host: d.host,
    added: d.added.map((l) => `${l.text} — ${l.origins.join("; ")}`),
    removed: d.removed.map((l) => `${l.text} — ${l.origins.join("; ")}`),
  }));

function editGroup(decl: FleetDeclaration, name: string, edit: (g: SecurityGroupDeclaration) => SecurityGroupDeclaration): FleetDeclaration {
  return { ...decl, securityGroups: decl.securityGroups.map((g) => (g.name === name ? edit(g) : g)) };
}

/** The sample with spare already managed (it has a table), so only web membership changes. */
const managedSpare = (inWeb: boolean): FleetDeclaration => {
  const d = sample();
  return { ...d, hosts: d.hosts.map((h) => (h.name === "spare" ? { ...h, securityGroups: inWeb ? ["managed", "web"] : ["managed"] } : h)) };
};

describe("flow listing (the Attachment's flows input)", () => {
  it("db-1 of the web-db example, in terms of groups, hosts and CIDRs", () => {
    expect(hostFlows(fleetIndexOf(sample()), "db-1")).toEqual([
      "tcp/22 from 198.51.100.0/24",
      "tcp/22 from 2001:db8:ffff::/48",
      "tcp/22 from bastion (sg bastion)",
      "tcp/5432 from web-1 (sg web)",
      "tcp/5432 from web-2 (sg web)",
      "tcp/5432-5433 from db-2 (sg db)",
      "tcp/5432-5433 to db-2 (sg db)",
    ]);
  });

  it("the SDK's hostFlowTexts (once per compile batch) lists the same flows", () => {
    // From dist (npm run build): it loads its modules with require(), as in the Pulumi program.
    const { hostFlowTexts } = requireDist<typeof import("../../sdk/flows")>("sdk/flows.js");
    const decl = sample(["spare"]);
    const index = fleetIndexOf(decl);
    const v = validateFleet(decl);
    if (!v.ok) throw new Error("sample is valid");
    const texts = hostFlowTexts(v.fleet, decl.hosts.map((h) => h.name));
    for (const h of decl.hosts) expect(texts[h.name]).toBe(hostFlows(index, h.name).join("\n"));
  });

  it("names a big group once when every member is a peer: lines stay proportional to the host's own rules", () => {
    const n = 40;
    const decl: FleetDeclaration = {
      securityGroups: [{ name: "mesh", ingress: [{ protocol: "tcp", ports: 7000, securityGroups: ["mesh"], description: "gossip" }] }],
      hosts: Array.from({ length: n }, (_, i) => ({ name: `m-${i}`, connection: { host: `198.18.2.${i + 1}` }, securityGroups: ["mesh"] })),
    };
    expect(hostFlows(fleetIndexOf(decl), "m-0")).toEqual(["all to any", "tcp/22 from any", "tcp/7000 from sg mesh (40 hosts)"]);
  });
});

describe("flow diff of a change", () => {
  it("adding a host to web: exactly the new flow on exactly the db hosts (and the host's own)", () => {
    const d = diff(managedSpare(false), managedSpare(true));
    expect(d.map((x) => x.host)).toEqual(["db-1", "db-2", "spare"]);
    for (const db of d.slice(0, 2)) {
      expect(db.added).toEqual(["tcp/5432 from spare (sg web) — db: postgres from web"]);
      expect(db.removed).toEqual([]);
    }
    expect(d[2]!.added).toEqual(["icmp from 0.0.0.0/0 — web: ping", "icmpv6 from ::/0 — web: ping6", "tcp/80,443 from any — web: http and https"]);
  });

  it("removing one of two egress rules: the flows it allowed are newly denied", () => {
    const withDns = editGroup(sample(), "db", (g) => ({ ...g, egress: [...(g.egress ?? []), { protocol: "udp", ports: 53, cidrs: ["198.18.1.53/32"], description: "dns" }] }));
    expect(diff(withDns, sample())).toEqual(
      ["db-1", "db-2"].map((host) => ({ host, added: [], removed: ["udp/53 to 198.18.1.53 — db: dns"] })),
    );
  });

  it("removing the last egress rule opens egress (docs/semantics.md#egress): newly allowed, not denied", () => {
    const open = editGroup(sample(), "db", (g) => ({ ...g, egress: [] }));
    const d = diff(sample(), open);
    expect(d.map((x) => x.host)).toEqual(["db-1", "db-2"]);
    expect(d[0]!.removed).toEqual([]);
    expect(d[0]!.added).toContain("udp to any — no egress rule");
  });

  it.each<[string, (d: FleetDeclaration) => FleetDeclaration]>([
    ["reordering rules", (d) => editGroup(d, "web", (g) => ({ ...g, ingress: [...(g.ingress ?? [])].reverse() }))],
    ["renaming a description", (d) => editGroup(d, "db", (g) => ({ ...g, ingress: g.ingress!.map((r) => ({ ...r, description: `${r.description} (renamed)` })) }))],
    ["splitting a rule in two", (d) => editGroup(d, "web", (g) => ({ ...g, ingress: [{ protocol: "tcp", ports: 80, cidrs: ["0.0.0.0/0", "::/0"] }, { protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0", "::/0"] }, ...g.ingress!.slice(1)] }))],
    ["reordering hosts", (d) => ({ ...d, hosts: [...d.hosts].reverse() })],
  ])("%s alters no flow: nothing listed", (_what, change) => {
    const changed = change(sample());
    expect(JSON.stringify(changed)).not.toBe(JSON.stringify(sample()));
    expect(diff(sample(), changed)).toEqual([]);
    const after = fleetIndexOf(changed);
    const before = fleetIndexOf(sample());
    for (const h of before.fleet.hosts) expect(hostFlows(after, h.name)).toEqual(hostFlows(before, h.name));
  });

  it("Markdown summary for a pull request", () => {
    const v = (d: FleetDeclaration) => {
      const r = validateFleet(d);
      if (!r.ok) throw new Error("invalid");
      return r.fleet;
    };
    expect(flowDiffMarkdown("web-db", v(managedSpare(false)), v(managedSpare(true)))).toBe(
      [
        "### nftsg flow changes: web-db",
        "",
        "3 hosts with flow changes: 5 newly allowed, 0 newly denied.",
        "",
        "**db-1**",
        "```diff",
        "+ tcp/5432 from spare (sg web) — db: postgres from web",
        "```",
        "",
        "**db-2**",
        "```diff",
        "+ tcp/5432 from spare (sg web) — db: postgres from web",
        "```",
        "",
        "**spare**",
        "```diff",
        "+ icmp from 0.0.0.0/0 — web: ping",
        "+ icmpv6 from ::/0 — web: ping6",
        "+ tcp/80,443 from any — web: http and https",
        "```",
        "",
      ].join("\n"),
    );
    expect(flowDiffMarkdown("web-db", v(sample()), v(sample()))).toBe("### nftsg flow changes: web-db\n\nNo flow changes.\n");
  });
});
