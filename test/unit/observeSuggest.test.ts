// Suggested rules for observed would-be drops (docs/observe.md), held by the
// evaluator on seeded random fleets: applying the suggestions to the
// declaration makes every observed would-drop allowed on the side that
// recorded it, and allows nothing else than what the suggestions say they
// allow (their group's members, their peers, their traffic): every other
// verdict of every side, for every peer and traffic tried, is unchanged.
import { describe, expect, it } from "vitest";
import { formatAddress } from "../../provider/addressing/cidr";
import type { FleetDeclaration } from "../../provider/declaration/declaration";
import { validateFleet } from "../../provider/declaration/validate";
import { indexFleet } from "../../provider/evaluate/fleetIndex";
import { applySuggestions, inScope, judgeObserved, suggestRules, suggestionsTypeScript, type ObservedFlow, type Suggestion } from "../../provider/evaluate/observed";
import type { Traffic } from "../../provider/vocabulary/traffic";
import { generateFleet, makeRng, pick } from "../support/fleetGen";

const PORTS = [22, 53, 80, 443, 5432, 8080, 9100];
const TRAFFIC: Traffic[] = [
  ...PORTS.map((port) => ({ protocol: "tcp" as const, port })),
  ...PORTS.map((port) => ({ protocol: "udp" as const, port })),
  { protocol: "icmp", icmpType: 8, icmpCode: 0 },
  { protocol: "icmpv6", icmpType: 128, icmpCode: 0 },
  { protocol: "esp" },
];
/** Outside peers: a /24 with many (a covering prefix), single ones, IPv6. */
const OUTSIDE = ["203.0.113.5", "203.0.113.9", "203.0.113.17", "203.0.113.40", "203.0.113.41", "192.0.2.77", "2001:db8:ffff::1", "2001:db8:ffff::2", "2001:db8:eeee::9"];

const normalised = (d: FleetDeclaration) => {
  const r = validateFleet(d);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.fleet;
};

const flowOf = (host: string, direction: "ingress" | "egress", address: string, t: Traffic): ObservedFlow => ({
  host, direction, address, protocol: t.protocol, ...(t.port !== undefined ? { port: t.port } : {}),
  ...(t.icmpType !== undefined ? { icmpType: t.icmpType, icmpCode: t.icmpCode ?? 0 } : {}),
});

function fleetFor(seed: number): FleetDeclaration {
  return generateFleet({ seed, hosts: 8, groups: 5, rules: 14, cidrs: 30, cidrSpace: "lab", portPool: PORTS, egressShare: 0.3 });
}

describe("suggested rules", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: every observed would-drop becomes allowed, and nothing else than the suggestions' scope changes`, () => {
      const decl = fleetFor(seed);
      const before = indexFleet(normalised(decl));
      const rng = makeRng(seed * 7919);
      const peersOf = (host: string) => [
        ...before.fleet.hosts.filter((h) => h.name !== host).flatMap((h) => h.addresses.map((a) => formatAddress(a.family, a.value))),
        ...OUTSIDE,
      ];
      // Every side the declaration denies, for every peer and traffic; a random half of them "observed".
      const sides: ObservedFlow[] = [];
      for (const h of before.fleet.hosts) {
        if (h.groups.length === 0) continue;
        for (const direction of ["ingress", "egress"] as const) {
          for (const address of peersOf(h.name)) {
            for (const t of TRAFFIC) {
              const f = flowOf(h.name, direction, address, t);
              const side = judgeObserved(before, f);
              if (side && side.coverage === "deny") sides.push(f);
            }
          }
        }
      }
      const observed = sides.filter(() => rng() < 0.15 || sides.length < 20);
      expect(observed.length).toBeGreaterThan(0);
      const suggestions = suggestRules(before.fleet, observed);
      const after = indexFleet(normalised(applySuggestions(decl, suggestions)));
      const wrong: string[] = [];
      for (const f of observed) {
        const side = judgeObserved(after, f);
        if (side?.coverage !== "allow") wrong.push(`still denied: ${JSON.stringify(f)} -> ${side?.coverage}`);
      }
      // Exactly the stated scope: every other side's verdict is what it was.
      for (const h of after.fleet.hosts) {
        for (const direction of ["ingress", "egress"] as const) {
          for (const address of peersOf(h.name)) {
            for (const t of TRAFFIC) {
              const f = flowOf(h.name, direction, address, t);
              const was = judgeObserved(before, f)?.coverage;
              const now = judgeObserved(after, f)?.coverage;
              if (was === now) continue;
              const scoped = suggestions.some((s: Suggestion) => inScope(after, s, h, direction, address, t));
              if (!(was === "deny" && now === "allow" && scoped)) wrong.push(`${h.name} ${direction} ${address} ${JSON.stringify(t)}: ${was} -> ${now} (in a suggestion's scope: ${scoped})`);
            }
          }
        }
      }
      expect(wrong, wrong.slice(0, 20).join("\n")).toEqual([]);
      // The TypeScript names every suggestion's group and parses as object literals.
      const ts = suggestionsTypeScript(suggestions);
      for (const s of suggestions) expect(ts).toContain(`securityGroups: "${s.group}", ${s.direction}`);
      for (const line of ts.split("\n").filter((l) => l.startsWith("{"))) expect(() => new Function(`return (${line.replace(/,$/, "")})`)()).not.toThrow();
    });
  }

  it("group terms for fleet hosts, the address for an outside source, a covering prefix for many of one /24", () => {
    const decl: FleetDeclaration = {
      securityGroups: [
        { name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["web"] }] },
        { name: "web", ingress: [{ protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0"] }] },
        { name: "monitoring" },
        { name: "everyone" },
      ],
      hosts: [
        { name: "db-1", connection: { host: "198.18.0.21" }, securityGroups: ["db", "everyone"] },
        { name: "web-1", connection: { host: "198.18.0.11" }, securityGroups: ["web", "everyone"] },
        { name: "prom-1", connection: { host: "198.18.0.31" }, securityGroups: ["monitoring", "everyone"] },
      ],
    };
    const flows = [
      flowOf("db-1", "ingress", "198.18.0.31", { protocol: "tcp", port: 9100 }),
      flowOf("web-1", "ingress", "198.18.0.31", { protocol: "tcp", port: 9100 }),
      flowOf("db-1", "ingress", "198.18.0.11", { protocol: "tcp", port: 5432 }), // allowed already: no rule
      ...["10.1.2.3", "10.1.2.4", "10.1.2.9", "10.1.2.30"].map((a) => flowOf("db-1", "ingress", a, { protocol: "tcp", port: 2222 })),
      flowOf("db-1", "ingress", "192.0.2.7", { protocol: "udp", port: 161 }),
    ];
    const ts = suggestionsTypeScript(suggestRules(normalised(decl), flows));
    expect(ts).toBe(
      [
        '// securityGroups: "db", ingress: add',
        '{ protocol: "tcp", ports: 2222, cidrs: ["10.1.2.0/27"], description: "observed on db-1" },',
        '{ protocol: "tcp", ports: 9100, securityGroups: ["monitoring"], description: "observed on db-1" },',
        '{ protocol: "udp", ports: 161, cidrs: ["192.0.2.7/32"], description: "observed on db-1" },',
        '// securityGroups: "web", ingress: add',
        '{ protocol: "tcp", ports: 9100, securityGroups: ["monitoring"], description: "observed on web-1" },',
        "",
      ].join("\n"),
    );
  });
});
