// The product evaluator (provider/evaluate) against the independent reference
// evaluator, probe by probe, on many seeded random fleets (both families,
// egress-restricted hosts, self references, hosts declaring only one family),
// plus hand-checked queries over groups and CIDRs. The lab test
// (test/evaluate.test.ts) then holds it against real packets.
import { describe, expect, it } from "vitest";
import { evaluate, EvaluationError, formatEvaluation, type Query } from "../../provider/evaluate";
import type { FleetDeclaration } from "../../provider/declaration/declaration";
import type { Lab } from "../../lab";
import { buildPlan, describeProbe, expectedMatrix, servicesFor } from "../support/matrix";
import { productMatrix } from "../support/productMatrix";
import { randomFleet } from "../support/semanticFleets";

/** The addressing of a 6-host lab, without the lab: enough for randomFleet and buildPlan. */
function paperLab(n = 6): Lab {
  const hosts = Array.from({ length: n }, (_, i) => ({ name: `h${i + 1}`, ipv4: `198.18.0.${11 + i}`, ipv6: `2001:db8::${(11 + i).toString(16)}` }));
  return { hosts, runnerIpv4: "198.18.0.1", runnerIpv6: "2001:db8::1", host: (name: string) => hosts.find((h) => h.name === name)! } as unknown as Lab;
}

describe("product evaluator agrees with the reference evaluator", () => {
  const lab = paperLab();
  it.each(Array.from({ length: 150 }, (_, i) => i + 1))("random fleet, seed %i", (seed) => {
    const decl = randomFleet(lab, seed);
    const plan = buildPlan(lab, { services: servicesFor(decl, 5) });
    const reference = expectedMatrix(decl, plan);
    const product = productMatrix(decl, plan);
    const diffs = plan.probes.flatMap((p, i) => {
      const got = product[i]!.coverage;
      return (got === "allow") === reference[i] && got !== "partial" ? [] : [`${describeProbe(p)}: reference ${reference[i] ? "accept" : "drop"}, product ${got}`];
    });
    expect(diffs, `seed ${seed}: ${diffs.length} disagreements\n${diffs.join("\n")}\n${JSON.stringify(decl)}`).toEqual([]);
  });
});

const conn = (host: string) => ({ host, user: "root" });
const fleet: FleetDeclaration = {
  failsafe: { cidrs: ["198.51.100.0/24"] },
  securityGroups: [
    { name: "bastion", ingress: [{ protocol: "tcp", ports: 22, cidrs: ["198.51.100.0/24"], description: "ssh from office" }] },
    { name: "web", ingress: [{ protocol: "tcp", ports: [80, 443], cidrs: ["0.0.0.0/0", "::/0"], description: "http" }] },
    {
      name: "db",
      ingress: [
        { protocol: "tcp", ports: 5432, securityGroups: ["web"], description: "postgres from web" },
        { protocol: "tcp", ports: 5432, securityGroups: ["db"], description: "replication" },
        { protocol: "tcp", ports: 6379, cidrs: ["10.0.0.0/8"], description: "redis from the office LAN" },
      ],
      egress: [{ protocol: "tcp", ports: 5432, securityGroups: ["db"], description: "replication out" }],
    },
    { name: "empty", ingress: [{ protocol: "tcp", ports: 9, securityGroups: ["nobody"] }] },
    { name: "nobody" },
  ],
  hosts: [
    { name: "bastion-1", connection: conn("198.18.0.2"), securityGroups: ["bastion"] },
    { name: "web-1", connection: conn("198.18.0.11"), addresses: ["198.18.0.11", "2001:db8::11"], securityGroups: ["web"] },
    { name: "web-2", connection: conn("198.18.0.12"), securityGroups: ["web"] },
    { name: "db-1", connection: conn("198.18.0.21"), securityGroups: ["db"] },
    { name: "db-2", connection: conn("198.18.0.22"), securityGroups: ["db"] },
    { name: "loner", connection: conn("198.18.0.99"), securityGroups: [] },
  ],
};

describe("queries over hosts, groups and CIDRs", () => {
  it.each<[string, Query, string]>([
    ["a group peer", { from: "web-1", to: "db-1", protocol: "tcp", port: 5432 }, "allow"],
    ["every member of web", { from: "sg:web", to: "db-1", protocol: "tcp", port: 5432 }, "allow"],
    ["wrong port", { from: "sg:web", to: "sg:db", protocol: "tcp", port: 5433 }, "deny"],
    ["self reference, members pairwise", { from: "sg:db", to: "sg:db", protocol: "tcp", port: 5432 }, "allow"],
    ["db egress is restricted", { from: "db-1", to: "web-1", protocol: "tcp", port: 80 }, "deny"],
    ["the world reaches http", { from: "0.0.0.0/0", to: "sg:web", protocol: "tcp", port: 443 }, "allow"],
    ["the world reaches ssh on no web host (failsafe narrowed)", { from: "0.0.0.0/0", to: "web-1", protocol: "tcp", port: 22 }, "partial"],
    ["ssh from the office: failsafe", { from: "198.51.100.7", to: "db-2", protocol: "tcp", port: 22 }, "allow"],
    ["part of the internet reaches redis", { from: "0.0.0.0/0", to: "db-1", protocol: "tcp", port: 6379 }, "partial"],
    ["a sub-range fully inside", { from: "10.1.0.0/16", to: "db-1", protocol: "tcp", port: 6379 }, "allow"],
    ["an address is its host", { from: "198.18.0.11", to: "db-1", protocol: "tcp", port: 5432 }, "allow"],
    ["no table: open", { from: "203.0.113.9", to: "loner", protocol: "udp", port: 53 }, "allow"],
    ["empty peer group matches nothing", { from: "sg:web", to: "sg:empty", protocol: "tcp", port: 9 }, "deny"],
    ["IPv6 only web-1 declares it", { from: "::/0", to: "sg:web", protocol: "tcp", port: 80 }, "allow"],
    ["db to the internet", { from: "db-1", to: "0.0.0.0/0", protocol: "tcp", port: 443 }, "deny"],
    ["same host: loopback", { from: "db-1", to: "db-1", protocol: "tcp", port: 1 }, "allow"],
  ])("%s", (_what, q, verdict) => {
    const e = evaluate(fleet, q);
    expect(e.verdict, formatEvaluation(q, e)).toBe(verdict);
  });

  it("names the rules on each side", () => {
    const q: Query = { from: "web-2", to: "db-1", protocol: "tcp", port: 5432 };
    expect(formatEvaluation(q, evaluate(fleet, q))).toBe(
      [
        "allow: tcp/5432 from web-2 to db-1",
        "  web-2 (198.18.0.12) -> db-1 (198.18.0.21): allow",
        "    egress web-2: open (none of its groups has an egress rule)",
        '    ingress db-1: db "postgres from web" (tcp/5432 from sg web)',
      ].join("\n"),
    );
    const back: Query = { from: "db-1", to: "web-2", protocol: "tcp", port: 80 };
    expect(formatEvaluation(back, evaluate(fleet, back))).toContain("egress db-1: dropped (no egress rule of its groups matches; its egress is restricted)");
  });

  it.each<[Query, string]>([
    [{ from: "web-3", to: "db-1", protocol: "tcp", port: 1 }, 'from: "web-3" is neither a host of the fleet'],
    [{ from: "sg:wbe", to: "db-1", protocol: "tcp", port: 1 }, 'did you mean "sg:web"?'],
    [{ from: "web-1", to: "db-1", protocol: "tcp" }, "port: tcp needs a destination port"],
    [{ from: "10.0.0.0/8", to: "::/0", protocol: "udp", port: 1 }, "both outside the fleet"],
  ])("rejects %j", (q, message) => {
    expect(() => evaluate(fleet, q)).toThrow(EvaluationError);
    expect(() => evaluate(fleet, q)).toThrow(message);
  });
});
