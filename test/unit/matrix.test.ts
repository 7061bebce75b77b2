// The pure parts of the connectivity matrix: plan shape, port selection,
// the reference's verdicts per probe, and the printed grid.
import { describe, expect, it } from "vitest";
import type { FleetDeclaration } from "../../provider/declaration/declaration";
import type { Lab } from "../../lab";
import { buildPlan, diffMatrix, expectedMatrix, formatMatrix, serviceLabel, servicesFor } from "../support/matrix";

const hosts = ["a", "b"].map((name, i) => ({ name, ns: "", ipv4: `198.18.9.${11 + i}`, ipv6: `2001:db8:9::${11 + i}` }));
// Only what buildPlan reads: no namespaces are touched.
const lab = {
  hosts,
  runnerIpv4: "198.18.9.1",
  runnerIpv6: "2001:db8:9::1",
  host: (n: string) => hosts.find((h) => h.name === n),
} as unknown as Lab;

const decl: FleetDeclaration = {
  securityGroups: [{ name: "g", ingress: [{ protocol: "tcp", ports: ["80", "1000-1010"], securityGroups: ["g"] }] }],
  hosts: [
    { name: "a", connection: { host: "198.18.9.11" }, securityGroups: ["g"] },
    { name: "b", connection: { host: "198.18.9.12", port: 2222 }, securityGroups: ["g"] },
  ],
};

describe("matrix plan", () => {
  it("covers runner and ordered host pairs, both families, no self pairs", () => {
    const plan = buildPlan(lab, { services: [{ proto: "tcp", port: 80 }] });
    expect(plan.probes.map((p) => `${p.from}>${p.to}/${p.family}`)).toEqual([
      "runner>a/4", "runner>a/6", "runner>b/4", "runner>b/6", "a>b/4", "a>b/6", "b>a/4", "b>a/6",
    ]);
  });

  it("picks ssh ports first, then rule ports, then range neighbours, plus an unused port", () => {
    expect(servicesFor(decl, 6).map(serviceLabel)).toEqual([
      "tcp/22", "tcp/80", "tcp/1000", "tcp/1010", "tcp/2222", "tcp/4999", "udp/4999", "ping",
    ]);
    expect(servicesFor(decl, 8).map(serviceLabel)).toContain("tcp/1011");
  });

  it.each<[string, string, 4 | 6, boolean]>([
    ["runner", "a", 4, false], // the runner is no member of g
    ["a", "b", 4, true],
    ["b", "a", 4, true], // b's IPv4 connection host is its member address
    ["b", "a", 6, false], // ...and its only one
  ])("tcp/80 %s -> %s IPv%s = %s", (from, to, family, want) => {
    const plan = buildPlan(lab, { services: [{ proto: "tcp", port: 80 }] });
    const i = plan.probes.findIndex((p) => p.from === from && p.to === to && p.family === family);
    expect(expectedMatrix(decl, plan)[i]).toBe(want);
  });

  it("diffs and prints disagreements", () => {
    const plan = buildPlan(lab, { services: [{ proto: "tcp", port: 80 }] });
    const expected = expectedMatrix(decl, plan);
    const actual = expected.map((x, i) => (i === 0 ? !x : x));
    expect(diffMatrix(plan, actual, expected)).toEqual(["runner -> a tcp/80 IPv4: expected drop, got accept"]);
    const grid = formatMatrix(plan, actual, expected).split("\n");
    expect(grid.slice(2)).toEqual(["tcp/80    a   b", "runner    !.  ..", "a         --  +.", "b         +.  --"]);
  });
});
