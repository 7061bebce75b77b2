// Semantic test with real packets: fleets are compiled, loaded with
// `nft -f` into each lab host's own nftables, and the full connectivity matrix
// (every ordered host pair and the runner, several services, IPv4 and IPv6) is
// probed with real sockets. It must equal what the independent reference
// evaluator (test/support/reference.ts, docs/semantics.md) predicts, cell for cell.
import { describe, expect, it } from "vitest";
import { compileFleet } from "../provider/compiler/compile";
import type { FleetDeclaration } from "../provider/declaration/declaration";
import {
  buildPlan,
  connectivityMatrix,
  formatMatrix,
  serviceLabel,
  servicesFor,
  type Family,
  type MatrixResult,
  type Plan,
} from "./support/matrix";
import { generateFleet } from "./support/fleetGen";
import { MAIN_HOSTS, MAIN_SERVICES, applyCompiled, inetTables, mainFleet, randomFleet } from "./support/semanticFleets";
import { useLab } from "./support/useLab";

// 17 and 36 narrow the failsafe to the runner and move some hosts' SSH port to 2222.
const RANDOM_SEEDS = [1, 7, 17, 36, 42, 2024];
const FLEETGEN_SEEDS = [11, 12];

const lab = useLab({ hosts: MAIN_HOSTS.length, hostNames: [...MAIN_HOSTS] });

/** Compile, apply, probe; returns the result after checking the tables are where they should be. */
async function run(decl: FleetDeclaration, plan: Plan, sabotage = (script: string) => script): Promise<MatrixResult> {
  const compiled = Object.fromEntries(
    Object.entries(compileFleet(decl)).map(([h, c]) => [h, { ...c, script: c.script && sabotage(c.script) }]),
  );
  await applyCompiled(lab, decl, compiled);
  for (const h of decl.hosts) {
    const hasTable = (await inetTables(lab, h.name)).includes(decl.table ?? "nftsg");
    expect(hasTable, `${h.name} is in groups [${h.securityGroups.join(", ")}]`).toBe(h.securityGroups.length > 0);
  }
  return connectivityMatrix(lab, decl, plan);
}

function expectAgreement(m: MatrixResult, what: string): void {
  // A matrix that is all-accept or all-drop would pass with a broken compiler.
  expect(m.expected, `${what}: reference predicts some accepts`).toContain(true);
  expect(m.expected, `${what}: reference predicts some drops`).toContain(false);
  const report = `${what}: ${m.diffs.length} of ${m.plan.probes.length} probes disagree with the reference\n` +
    `${m.diffs.join("\n")}\n\n${formatMatrix(m.plan, m.actual, m.expected)}`;
  expect(m.diffs, report).toEqual([]);
}

describe("real packets agree with the reference evaluator", () => {
  let main: MatrixResult | undefined;

  it("hand-written fleet: self reference, mutual groups, egress lock, two families, no-group host", async () => {
    const decl = mainFleet(lab);
    const plan = buildPlan(lab, { services: MAIN_SERVICES });
    main = await run(decl, plan);
    console.log(`main fleet: ${plan.probes.length} probes, ${main.retried} retried\n${formatMatrix(plan, main.actual, main.expected)}`);
    expectAgreement(main, "main fleet");
  });

  // The hand-written fleet exists to exercise specific clauses of §2; these
  // cells pin that the reference (and so the packets) really exercise them.
  it.each<[string, string, string, string, Family, boolean]>([
    ["::/0 peer in a mixed rule", "runner", "web1", "tcp/80", 6, true],
    ["mgmt: all protocols from the runner's IPv4", "runner", "db", "tcp/5432", 4, true],
    ["mgmt has no IPv6 peer", "runner", "db", "tcp/5432", 6, false],
    ["group peer with both families", "web1", "db", "tcp/5432", 6, true],
    ["default addresses: web2 is a member by IPv4 only", "web2", "db", "tcp/5432", 6, false],
    ["web2 by IPv4", "web2", "db", "tcp/5432", 4, true],
    ["self reference, end of range", "web1", "web2", "tcp/8100", 4, true],
    ["just past the range", "web1", "web2", "tcp/8101", 4, false],
    ["mutual: cache -> app member", "cache", "worker", "tcp/9000", 4, true],
    ["mutual: app member -> cache", "web2", "cache", "tcp/9000", 4, true],
    ["egress lock beats the peer's ingress", "worker", "cache", "tcp/9000", 4, false],
    ["egress lock lets db udp/53 out, IPv6", "worker", "db", "udp/53", 6, true],
    ["egress lock even towards an open host", "worker", "loner", "tcp/80", 4, false],
    ["egress icmp, IPv4 only", "worker", "web1", "ping", 4, true],
    ["icmp rule is not icmpv6", "runner", "web1", "ping", 6, false],
    ["icmpv6 echo-request rule", "runner", "db", "ping", 6, true],
    ["failsafe ssh", "loner", "cache", "tcp/22", 6, true],
    ["ingress default drop", "runner", "cache", "udp/11211", 4, false],
    ["udp from an app member", "worker", "cache", "udp/11211", 6, false],
    ["udp from an app member (not locked)", "web2", "cache", "udp/11211", 4, true],
    ["no group: open", "db", "loner", "udp/11211", 6, true],
  ])("main fleet covers: %s (%s -> %s %s IPv%s = %s)", (_why, from, to, service, family, want) => {
    if (main === undefined) throw new Error("the main fleet test did not run");
    const i = main.plan.probes.findIndex(
      (p) => p.from === from && p.to === to && serviceLabel(p.service) === service && p.family === family,
    );
    expect(i).toBeGreaterThanOrEqual(0);
    expect(main.expected[i]).toBe(want);
    expect(main.actual[i]).toBe(want);
  });

  it.each(RANDOM_SEEDS)("random fleet, seed %i", async (seed) => {
    const decl = randomFleet(lab, seed);
    const plan = buildPlan(lab, { services: servicesFor(decl, 5) });
    const m = await run(decl, plan);
    expectAgreement(m, `random fleet seed ${seed}\n${JSON.stringify(decl)}`);
  });
});

describe("compiler-generated fleets (test/support/fleetGen.ts) over the lab", () => {
  it.each(FLEETGEN_SEEDS)("fleetGen seed %i", async (seed) => {
    const decl = generateFleet({
      seed,
      hosts: lab.hosts.length,
      groups: 5,
      rules: 14,
      cidrs: 24,
      cidrSpace: "lab",
      portPool: [22, 80, 443, 5000],
      hostName: (i) => (lab.hosts[i] as { name: string }).name,
      hostAddresses: (i) => [(lab.hosts[i] as { ipv4: string }).ipv4, (lab.hosts[i] as { ipv6: string }).ipv6],
    });
    const plan = buildPlan(lab, { services: servicesFor(decl, 5) });
    expectAgreement(await run(decl, plan), `fleetGen seed ${seed}\n${JSON.stringify(decl)}`);
  });
});

// A semantic test that cannot fail is worthless: load deliberately broken
// rulesets and check the matrix notices. Each sabotage must change the script
// (if the compiler's output format moves on, update the pattern here).
describe("the matrix catches broken rulesets", () => {
  it.each<[string, RegExp, string]>([
    ["a port range one too wide", /tcp dport 8000-8100/, "tcp dport 8000-8101"],
    ["ingress policy accept", /hook input priority filter; policy drop;/, "hook input priority filter; policy accept;"],
    ["no neighbour discovery", /^\s*icmpv6 type \{[^}]*nd-neighbor-solicit[^}]*\} accept.*$/gm, ""],
    ["egress left open", /hook output priority filter; policy drop;/, "hook output priority filter; policy accept;"],
  ])("%s", async (_what, pattern, replacement) => {
    const decl = mainFleet(lab);
    let changed = false;
    const sabotage = (script: string): string => {
      const out = script.replace(pattern, replacement);
      changed ||= out !== script;
      return out;
    };
    const m = await run(decl, buildPlan(lab, { services: MAIN_SERVICES }), sabotage);
    expect(changed, `pattern ${pattern} no longer matches the compiler's output`).toBe(true);
    expect(m.diffs.length).toBeGreaterThan(0);
  });
});
