// The connectivity matrix: every ordered pair of lab hosts (plus the runner,
// an outside source, towards every host) x a set of services x both address
// families, probed with real packets and compared with the reference
// evaluator. Used by the semantic test, the provider's end-to-end tests and
// the demo (formatMatrix prints the grid).
//
//   const plan = buildPlan(lab, { services: servicesFor(decl) });   // or a hand-picked list
//   const m = await connectivityMatrix(lab, decl, plan);            // m.diffs == [] when all agree
//   console.log(formatMatrix(plan, m.actual, m.expected));
//
// Declared host names must be the lab's host names (labUp({ hostNames })); a
// lab host the declaration does not mention counts as having no table.
import type { FleetDeclaration } from "../../provider/declaration/declaration";
import { RUNNER, type Lab, type ProbeRequest } from "../../lab";
import { evaluate, type Packet } from "./reference";

export type Family = 4 | 6;

/** What is probed on a destination: a tcp/udp port, or ping (icmp in IPv4, icmpv6 in IPv6). */
export interface Service {
  proto: "tcp" | "udp" | "icmp";
  port?: number;
}

export interface Probe {
  from: string; // lab host name or RUNNER_NAME
  to: string;
  family: Family;
  service: Service;
  fromAddress: string;
  toAddress: string;
}

export interface Plan {
  sources: string[];
  targets: string[];
  services: Service[];
  families: Family[];
  probes: Probe[];
  timeoutMs: number;
}

export interface PlanOptions {
  services: Service[];
  families?: Family[];
  /** Also probe from the runner (an outside source with no firewall). Default true. */
  runner?: boolean;
  /** Restrict to these lab hosts (default: all). */
  hosts?: string[];
  /** Per-probe timeout. A drop costs the full timeout, an accept a millisecond. */
  timeoutMs?: number;
}

export const RUNNER_NAME: string = RUNNER;
/** The lab's sshd already listens there; no echo listener may take the port. */
export const LAB_SSH_PORT = 22;
/** Beyond this the matrix stops being a quick test. */
export const MAX_PROBES = 2000;

export const serviceLabel = (s: Service): string => (s.proto === "icmp" ? "ping" : `${s.proto}/${s.port}`);

export function buildPlan(lab: Lab, opts: PlanOptions): Plan {
  const families = opts.families ?? [4, 6];
  const hosts = lab.hosts.filter((h) => opts.hosts === undefined || opts.hosts.includes(h.name));
  const addressOf = (name: string, fam: Family): string => {
    if (name === RUNNER_NAME) return fam === 4 ? lab.runnerIpv4 : lab.runnerIpv6;
    const h = lab.host(name);
    return fam === 4 ? h.ipv4 : h.ipv6;
  };
  const targets = hosts.map((h) => h.name);
  const sources = [...(opts.runner === false ? [] : [RUNNER_NAME]), ...targets];
  const probes: Probe[] = [];
  for (const service of opts.services) {
    for (const from of sources) {
      for (const to of targets) {
        if (from === to) continue; // loopback is always open; nothing to learn
        for (const family of families) {
          probes.push({ from, to, family, service, fromAddress: addressOf(from, family), toAddress: addressOf(to, family) });
        }
      }
    }
  }
  if (probes.length > MAX_PROBES) throw new Error(`probe plan too large: ${probes.length} probes (max ${MAX_PROBES})`);
  return { sources, targets, services: opts.services, families, probes, timeoutMs: opts.timeoutMs ?? 1000 };
}

/** The packet the reference evaluator reasons about for one probe. */
export function packetOf(p: Probe): Packet {
  const proto = p.service.proto === "icmp" ? (p.family === 4 ? "icmp" : "icmpv6") : p.service.proto;
  return {
    from: { host: p.from === RUNNER_NAME ? undefined : p.from, address: p.fromAddress },
    to: { host: p.to, address: p.toAddress },
    proto,
    port: p.service.port,
  };
}

export function expectedMatrix(decl: FleetDeclaration, plan: Plan): boolean[] {
  return plan.probes.map((p) => evaluate(decl, packetOf(p)));
}

/**
 * Ports worth probing for a declaration, most telling first: each host's SSH
 * (failsafe) port, then every single port and both ends of every range, then
 * the ports just outside each range; at most `maxPerProto - 1` of those per
 * protocol, plus one port no rule mentions (which only `all` rules open).
 */
export function servicesFor(decl: FleetDeclaration, maxPerProto = 6): Service[] {
  // rank 0: ssh ports, 1: named by a rule, 2: one past a range's end
  const ranked = { tcp: new Map<number, number>(), udp: new Map<number, number>() };
  const add = (proto: "tcp" | "udp", port: number, rank: number): void => {
    if (port < 1 || port > 65535) return;
    ranked[proto].set(port, Math.min(rank, ranked[proto].get(port) ?? rank));
  };
  for (const h of decl.hosts) add("tcp", h.connection.port ?? LAB_SSH_PORT, 0);
  for (const g of decl.securityGroups) {
    for (const r of [...(g.ingress ?? []), ...(g.egress ?? [])]) {
      if (r.protocol !== "tcp" && r.protocol !== "udp") continue;
      const specs = r.ports === undefined ? [] : Array.isArray(r.ports) ? r.ports : [r.ports];
      for (const spec of specs) {
        const [lo, hi] = String(spec).split("-").map(Number) as [number, number | undefined];
        add(r.protocol, lo, 1);
        if (hi !== undefined) {
          add(r.protocol, hi, 1);
          add(r.protocol, lo - 1, 2);
          add(r.protocol, hi + 1, 2);
        }
      }
    }
  }
  const pick = (m: Map<number, number>): number[] => {
    const best = [...m].sort((a, b) => a[1] - b[1] || a[0] - b[0]).slice(0, maxPerProto - 1).map(([p]) => p);
    let unused = 4999;
    while (m.has(unused)) unused++;
    return [...best, unused].sort((a, b) => a - b);
  };
  return [
    ...pick(ranked.tcp).map((port): Service => ({ proto: "tcp", port })),
    ...pick(ranked.udp).map((port): Service => ({ proto: "udp", port })),
    { proto: "icmp" },
  ];
}

export interface MatrixResult {
  plan: Plan;
  actual: boolean[];
  expected: boolean[];
  /** One line per disagreement: "h2 -> h5 tcp/80 IPv6: expected accept, got drop". */
  diffs: string[];
  /** How many expected-accept probes that failed were tried again (see connectivityMatrix). */
  retried: number;
}

export interface MatrixOptions {
  /**
   * Flush conntrack and the neighbour tables in every host first (default
   * true): no earlier flow then passes as established, and every host has to
   * resolve its peers again, so a ruleset that drops ARP-less IPv6 neighbour
   * discovery shows up as IPv6 drops instead of hiding behind a warm cache.
   */
  flushState?: boolean;
  /** Tries again a probe that was dropped but should pass, to absorb a slow moment. Default 1. */
  retryMisses?: number;
}

async function startListeners(lab: Lab, plan: Plan): Promise<void> {
  const tcp = plan.services.filter((s) => s.proto === "tcp" && s.port !== LAB_SSH_PORT).map((s) => s.port as number);
  const udp = plan.services.filter((s) => s.proto === "udp").map((s) => s.port as number);
  await Promise.all(
    plan.targets.flatMap((h) => [
      tcp.length > 0 ? lab.listen(h, "tcp", tcp) : undefined,
      udp.length > 0 ? lab.listen(h, "udp", udp) : undefined,
    ]),
  );
}

/**
 * A probe's 5-tuple can repeat across rulesets (ephemeral ports recycle); an
 * entry left from an earlier, accepted probe would then be "established" and
 * pass a ruleset that should drop it. Conntrack flushing is best effort:
 * conntrack(8) may be absent (then fresh ephemeral ports make a clash rare).
 */
export async function flushState(lab: Lab, hosts: readonly string[]): Promise<void> {
  const cmd = "ip neigh flush all; command -v conntrack >/dev/null && conntrack -F >/dev/null 2>&1; true";
  await Promise.all(hosts.map((h) => lab.exec(h, cmd)));
}

function request(p: Probe, timeoutMs: number): ProbeRequest {
  return { from: p.from, to: p.toAddress, proto: p.service.proto, port: p.service.port, timeoutMs };
}

export function describeProbe(p: Probe): string {
  return `${p.from} -> ${p.to} ${serviceLabel(p.service)} IPv${p.family}`;
}

export function diffMatrix(plan: Plan, actual: readonly boolean[], expected: readonly boolean[]): string[] {
  const word = (b: boolean | undefined): string => (b ? "accept" : "drop");
  return plan.probes.flatMap((p, i) =>
    actual[i] === expected[i] ? [] : [`${describeProbe(p)}: expected ${word(expected[i])}, got ${word(actual[i])}`],
  );
}

export async function connectivityMatrix(
  lab: Lab,
  decl: FleetDeclaration,
  plan: Plan,
  opts: MatrixOptions = {},
): Promise<MatrixResult> {
  await startListeners(lab, plan);
  if (opts.flushState !== false) await flushState(lab, plan.targets);
  const expected = expectedMatrix(decl, plan);
  const actual = await lab.probeMany(plan.probes.map((p) => request(p, plan.timeoutMs)));
  let retried = 0;
  for (let round = 0; round < (opts.retryMisses ?? 1); round++) {
    // Only accept-expected misses are retried: a timing hiccup can lose a
    // packet, never invent an accept, so a leak is never retried away.
    const misses = plan.probes.map((_, i) => i).filter((i) => expected[i] && !actual[i]);
    if (misses.length === 0) break;
    retried += misses.length;
    const again = await lab.probeMany(misses.map((i) => request(plan.probes[i] as Probe, plan.timeoutMs * 2)));
    misses.forEach((idx, k) => (actual[idx] = again[k] === true));
  }
  return { plan, actual, expected, diffs: diffMatrix(plan, actual, expected), retried };
}

/**
 * A grid per service: rows are sources, columns destinations, each cell two
 * characters for IPv4 then IPv6. With `expected`, disagreements stand out.
 */
export function formatMatrix(plan: Plan, actual: readonly boolean[], expected?: readonly boolean[]): string {
  const index = new Map(plan.probes.map((p, i) => [`${p.from}|${p.to}|${serviceLabel(p.service)}|${p.family}`, i]));
  const cell = (from: string, to: string, s: Service): string =>
    plan.families
      .map((fam) => {
        const i = index.get(`${from}|${to}|${serviceLabel(s)}|${fam}`);
        if (i === undefined) return " ";
        const got = actual[i] === true;
        if (expected === undefined || expected[i] === got) return got ? "+" : ".";
        return got ? "!" : "?";
      })
      .join("");
  const rowHead = Math.max(...plan.sources.map((s) => s.length), 9);
  const width = Math.max(...plan.targets.map((t) => t.length), plan.families.length) + 2;
  const out: string[] = [
    `legend: each cell is ${plan.families.map((f) => `IPv${f}`).join(" then ")}; "+" accepted, "." dropped` +
      (expected ? `; "!" accepted but should drop, "?" dropped but should accept` : ""),
  ];
  for (const s of plan.services) {
    out.push("", `${serviceLabel(s).padEnd(rowHead)} ${plan.targets.map((t) => t.padEnd(width)).join("")}`.trimEnd());
    for (const from of plan.sources) {
      const cells = plan.targets.map((to) => (from === to ? "-".repeat(plan.families.length) : cell(from, to, s)).padEnd(width));
      out.push(`${from.padEnd(rowHead)} ${cells.join("")}`.trimEnd());
    }
  }
  return out.join("\n");
}

/**
 * One call for tests and the demo: probe the whole matrix for `decl` (ports
 * from servicesFor unless given) and throw a readable report if any cell
 * disagrees with the reference. Returns the result for further checks.
 */
export async function checkMatrix(
  lab: Lab,
  decl: FleetDeclaration,
  opts: Partial<PlanOptions> & MatrixOptions = {},
): Promise<MatrixResult> {
  const plan = buildPlan(lab, { ...opts, services: opts.services ?? servicesFor(decl, 5) });
  const m = await connectivityMatrix(lab, decl, plan, opts);
  if (m.diffs.length > 0) {
    throw new Error(
      `${m.diffs.length} of ${plan.probes.length} probes disagree with the reference evaluator (docs/semantics.md):\n` +
        `${m.diffs.join("\n")}\n\n${formatMatrix(plan, m.actual, m.expected)}`,
    );
  }
  return m;
}
