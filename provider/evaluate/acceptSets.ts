// The fast path of the evaluator: for one traffic, the set of peer addresses
// a host's side accepts — "all", or the union of its matching rules' peers
// (and the failsafe). Hosts with the same groups (and SSH port) share it, so a
// query over two big groups costs two binary searches per pair instead of a
// walk over every member list. evaluateSide (flow.ts) gives the same answer
// with the rules named; the tests hold the two against each other.
import { type Family, type Interval, intervalContains } from "../addressing/cidr";
import type { NormalisedHost } from "../declaration/fleetModel";
import type { FleetIndex } from "./fleetIndex";
import { type Coverage, type FlowEnd, ESSENTIAL_ICMPV6_TYPES, ECHO_REQUEST, trafficMatches } from "./flow";
import { intersect, sameIntervals, union } from "../addressing/intervals";
import { type Direction } from "../vocabulary/directions";
import { type Traffic } from "../vocabulary/traffic";

export type AcceptSet = "all" | Interval[];

export function acceptSet(index: FleetIndex, self: NormalisedHost, direction: Direction, t: Traffic, family: Family): AcceptSet {
  if (self.groups.length === 0) return "all";
  if (t.protocol === "icmpv6" && ESSENTIAL_ICMPV6_TYPES.has(t.icmpType ?? ECHO_REQUEST.icmpv6)) return "all";
  const rules = index.rulesOf(self, direction);
  if (direction === "egress" && rules.length === 0) return "all";
  const parts = rules.filter((r) => trafficMatches(r.rule, t)).map((r) => index.peerRange(r.rule, family));
  const sources = direction === "ingress" && t.protocol === "tcp" && t.port === self.sshPort ? index.failsafeSources(family) : undefined;
  if (sources) parts.push(sources);
  return parts.length === 1 ? parts[0]! : union(parts);
}

/** acceptSet, shared by hosts of the same profile (groups, SSH port) for one traffic. */
export function acceptSets(index: FleetIndex, t: Traffic) {
  const memo = new Map<string, AcceptSet>();
  return (self: NormalisedHost, direction: Direction, family: Family): AcceptSet => {
    const key = `${direction}|${family}|${self.sshPort}|${self.groups.join(",")}`;
    let s = memo.get(key);
    if (s === undefined) memo.set(key, (s = acceptSet(index, self, direction, t, family)));
    return s;
  };
}

function sideCoverage(set: AcceptSet, peer: FlowEnd): Coverage {
  if (set === "all") return "allow";
  const r = peer.range;
  if (r.length === 1 && r[0]!.lo === r[0]!.hi) return intervalContains(set, r[0]!.lo) ? "allow" : "deny";
  const covered = intersect(r, set);
  return covered.length === 0 ? "deny" : sameIntervals(covered, r) ? "allow" : "partial";
}

const CODE: readonly Coverage[] = ["deny", "allow", "partial"];
const codeOf = (c: Coverage): number => (c === "deny" ? 0 : c === "allow" ? 1 : 2);
const profileKey = (h: NormalisedHost) => `${h.sshPort}|${h.groups.join(",")}`;

/** Coverage codes: index into CODE. */
export interface PairTable {
  /** Per from-end: its egress profile id (-1: outside the fleet). */
  fromProfile: Int32Array;
  toProfile: Int32Array;
  /** [profile][to-end]: the egress side's coverage code. */
  egress: Uint8Array[];
  /** [profile][from-end]: the ingress side's coverage code. */
  ingress: Uint8Array[];
}

function sideTable(sets: ReturnType<typeof acceptSets>, selves: readonly FlowEnd[], peers: readonly FlowEnd[], direction: Direction) {
  const ids = new Map<string, number>();
  const profile = new Int32Array(selves.length);
  const table: Uint8Array[] = [];
  selves.forEach((e, i) => {
    if (!e.host) {
      profile[i] = -1;
      return;
    }
    const k = profileKey(e.host);
    let id = ids.get(k);
    if (id === undefined) {
      ids.set(k, (id = ids.size));
      // The accept set depends on the host's profile and the peer's family only.
      table[id] = Uint8Array.from(peers, (p) => codeOf(sideCoverage(sets(e.host!, direction, p.family), p)));
    }
    profile[i] = id;
  });
  return { profile, table };
}

/**
 * For queries over big groups: each side's answer depends only on the host's
 * profile and the peer end, so it is computed once per (profile, peer end);
 * a pair then costs two array lookups (see pairCode).
 */
export function pairTable(index: FleetIndex, from: readonly FlowEnd[], to: readonly FlowEnd[], t: Traffic): PairTable {
  const sets = acceptSets(index, t);
  const e = sideTable(sets, from, to, "egress");
  const n = sideTable(sets, to, from, "ingress");
  return { fromProfile: e.profile, toProfile: n.profile, egress: e.table, ingress: n.table };
}

const ALLOW = 1;
const DENY = 0;
const PARTIAL = 2;

/** The pair's coverage code (same host: loopback, allowed). */
export function pairCode(t: PairTable, from: readonly FlowEnd[], to: readonly FlowEnd[], i: number, j: number): number {
  const fh = from[i]!.host;
  if (fh !== undefined && fh === to[j]!.host) return ALLOW;
  const fp = t.fromProfile[i]!;
  const e = fp < 0 ? ALLOW : t.egress[fp]![j]!;
  if (e === DENY) return DENY;
  const tp = t.toProfile[j]!;
  const n = tp < 0 ? ALLOW : t.ingress[tp]![i]!;
  if (n === DENY) return DENY;
  return e === ALLOW && n === ALLOW ? ALLOW : PARTIAL;
}

export const coverageOfCode = (c: number): Coverage => CODE[c]!;
