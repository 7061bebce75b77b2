// Seeded random fleets: the compile benchmark, the compiler's property tests
// and the semantic packet tests all draw fleets from here. Same options and
// seed, same fleet, on every machine (mulberry32, no Math.random).

import type { FleetDeclaration, HostDeclaration, RuleDeclaration, SecurityGroupDeclaration } from "../../provider/declaration/declaration";
import { parsePrefix } from "../../provider/addressing/cidr";
import { specialRangeOf } from "../../provider/declaration/checks/specialAddresses";
import { type Protocol } from "../../provider/vocabulary/protocols";

export type Rng = () => number;

/** mulberry32: small, fast, good enough for test data. */
export function makeRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
export const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

export function shuffle<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface FleetGenOptions {
  seed: number;
  hosts: number;
  groups: number;
  /** Total rules over all groups. */
  rules: number;
  /** Total CIDRs over all rules (about rules * 4 is realistic). */
  cidrs: number;
  /** Protocols to draw from (default: all nine, tcp/udp most often). */
  protocols?: readonly Protocol[];
  /** Fraction of rules that are egress rules (default 0.15). */
  egressShare?: number;
  /** Fraction of rules with group peers (default 0.4). */
  groupPeerShare?: number;
  /** Fraction of hosts attached to no group (default 0.02). */
  detachedShare?: number;
  /** Host names (default host-0000...). */
  hostName?: (i: number) => string;
  /** Addresses of host i (default 198.18.x.y and 2001:db8::x:y). */
  hostAddresses?: (i: number) => string[];
  /** Where random CIDRs come from: "anywhere" (default) or "lab" (198.18.0.0/15, 2001:db8::/32 only). */
  cidrSpace?: "anywhere" | "lab";
  /** Ports to draw from; default: any 1-65535. */
  portPool?: readonly number[];
  failsafe?: FleetDeclaration["failsafe"];
  table?: string;
}

const DEFAULT_PROTOCOLS: readonly Protocol[] = [
  "tcp", "tcp", "tcp", "tcp", "tcp", "tcp", "udp", "udp", "udp", "icmp", "icmpv6", "all", "sctp", "esp", "ah", "gre",
];

export function defaultHostAddresses(i: number): string[] {
  // 198.18.0.0/15 holds 131072 addresses; skip .0 of each /24 for realism.
  const n = i + 1 + Math.floor(i / 255);
  return [`198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`, `2001:db8::${(n >> 16).toString(16)}:${(n & 0xffff).toString(16)}`];
}

/** Peers validation accepts: never loopback, link-local, multicast, ... (see checks/specialAddresses.ts). */
function usablePeer(draw: () => string): string {
  for (;;) {
    const c = draw();
    const p = parsePrefix(c);
    if (p.ok && !specialRangeOf(p.prefix)) return c;
  }
}

function randomV4(rng: Rng, space: "anywhere" | "lab"): string {
  return usablePeer(() => drawV4(rng, space));
}

function randomV6(rng: Rng, space: "anywhere" | "lab"): string {
  return usablePeer(() => drawV6(rng, space));
}

function drawV4(rng: Rng, space: "anywhere" | "lab"): string {
  const len = space === "lab" ? int(rng, 15, 32) : pick(rng, [8, 12, 16, 16, 20, 22, 24, 24, 24, 26, 28, 30, 32, 32]);
  let v = space === "lab" ? ((198 << 24) | (18 << 16)) + int(rng, 0, 0x1ffff) : Math.floor(rng() * 2 ** 32);
  v = len === 0 ? 0 : Number((BigInt(v >>> 0) >> BigInt(32 - len)) << BigInt(32 - len));
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${len}`;
}

function drawV6(rng: Rng, space: "anywhere" | "lab"): string {
  const len = space === "lab" ? int(rng, 32, 128) : pick(rng, [32, 40, 48, 48, 56, 64, 64, 96, 112, 128]);
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 16n) | BigInt(int(rng, 0, 0xffff));
  if (space === "lab") v = (0x20010db8n << 96n) | (v & ((1n << 96n) - 1n));
  v = (v >> BigInt(128 - len)) << BigInt(128 - len);
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return `${groups.join(":")}/${len}`;
}

function randomPorts(rng: Rng, pool: readonly number[] | undefined): RuleDeclaration["ports"] {
  const one = () => (pool ? pick(rng, pool) : int(rng, 1, 65535));
  const roll = rng();
  if (roll < 0.15) return undefined; // all ports
  if (roll < 0.55) return rng() < 0.5 ? one() : String(one());
  if (roll < 0.75) {
    const a = one();
    const b = pool ? one() : Math.min(65535, a + int(rng, 1, 200));
    return `${Math.min(a, b)}-${Math.max(a, b)}`;
  }
  const n = int(rng, 2, 4);
  return Array.from({ length: n }, () => (rng() < 0.7 ? one() : (() => {
    const a = one();
    return `${a}-${Math.min(65535, a + int(rng, 0, 50))}`;
  })()));
}

/** A random, valid fleet declaration. */
export function generateFleet(o: FleetGenOptions): FleetDeclaration {
  const rng = makeRng(o.seed);
  const protocols = o.protocols ?? DEFAULT_PROTOCOLS;
  const space = o.cidrSpace ?? "anywhere";
  const groupNames = Array.from({ length: o.groups }, (_, i) => `g-${String(i).padStart(4, "0")}`);
  const groups: SecurityGroupDeclaration[] = groupNames.map((name) => ({ name, description: `group ${name}`, ingress: [], egress: [] }));
  let cidrBudget = o.cidrs;

  for (let r = 0; r < o.rules; r++) {
    const gi = r < groups.length ? r : int(rng, 0, groups.length - 1);
    const group = groups[gi]!;
    const protocol = pick(rng, protocols);
    const rule: RuleDeclaration = { protocol };
    if (protocol === "tcp" || protocol === "udp" || protocol === "sctp") {
      const ports = randomPorts(rng, o.portPool);
      if (ports !== undefined) rule.ports = ports;
    }
    if ((protocol === "icmp" || protocol === "icmpv6") && rng() < 0.6) {
      rule.icmpType = protocol === "icmp" ? pick(rng, [0, 3, 8, 11]) : pick(rng, [1, 2, 128, 129]);
      if (rng() < 0.3) rule.icmpCode = int(rng, 0, 4);
    }
    // CIDRs: spread the budget evenly, with some variance.
    const remainingRules = o.rules - r;
    const mean = cidrBudget / remainingRules;
    let n = Math.max(0, Math.min(cidrBudget, Math.round(mean * (0.5 + rng()))));
    if (r === o.rules - 1) n = cidrBudget;
    cidrBudget -= n;
    const cidrs: string[] = [];
    for (let k = 0; k < n; k++) {
      const v6 = protocol === "icmpv6" ? true : protocol === "icmp" ? false : rng() < 0.3;
      cidrs.push(v6 ? randomV6(rng, space) : randomV4(rng, space));
    }
    if (cidrs.length) rule.cidrs = cidrs;
    if (rng() < (o.groupPeerShare ?? 0.4) || cidrs.length === 0) {
      const k = int(rng, 1, 2);
      const peers = new Set<string>();
      for (let j = 0; j < k; j++) peers.add(rng() < 0.2 ? group.name : pick(rng, groupNames));
      rule.securityGroups = [...peers];
    }
    if (rng() < 0.5) rule.description = `rule ${r}`;
    (rng() < (o.egressShare ?? 0.15) ? group.egress! : group.ingress!).push(rule);
  }

  const hostName = o.hostName ?? ((i: number) => `host-${String(i).padStart(4, "0")}`);
  const hostAddresses = o.hostAddresses ?? defaultHostAddresses;
  const hosts: HostDeclaration[] = [];
  for (let i = 0; i < o.hosts; i++) {
    const attached = new Set<string>();
    if (rng() >= (o.detachedShare ?? 0.02)) {
      const k = int(rng, 1, 3);
      for (let j = 0; j < k; j++) attached.add(pick(rng, groupNames));
    }
    const addresses = hostAddresses(i);
    hosts.push({
      name: hostName(i),
      connection: { host: addresses[0]!, port: 22, user: "root" },
      addresses,
      securityGroups: [...attached],
    });
  }
  return {
    ...(o.table ? { table: o.table } : {}),
    ...(o.failsafe ? { failsafe: o.failsafe } : {}),
    securityGroups: groups,
    hosts,
  };
}

/** The compile benchmark's reference size (bench/compile.ts) scaled by `factor`. */
export function benchFleet(factor: number, seed = 1): FleetDeclaration {
  return generateFleet({
    seed,
    hosts: Math.round(1000 * factor),
    groups: Math.round(200 * factor),
    rules: Math.round(5000 * factor),
    cidrs: Math.round(20000 * factor),
  });
}
