// The core of the evaluator (docs/semantics.md): is a NEW connection from one end to
// the other accepted by the source host's egress AND the destination host's
// ingress? An end is a fleet host (one of its addresses) or a range of
// addresses outside the fleet; for a range the answer may be "partial".
import { type Family, type Interval, intervalToNftElement } from "../addressing/cidr";
import type { NormalisedHost, NormalisedRule } from "../declaration/fleetModel";
import type { Direction } from "../vocabulary/directions";
import type { Traffic } from "../vocabulary/traffic";
import type { FleetIndex } from "./fleetIndex";
import { intersect, sameIntervals, union } from "../addressing/intervals";
import { ruleText } from "./ruleText";

export type Coverage = "allow" | "deny" | "partial";

export type { Traffic } from "../vocabulary/traffic";

export interface FlowEnd {
  /** The fleet host at this end; absent for addresses outside the fleet. */
  host?: NormalisedHost;
  family: Family;
  /** The end's addresses: one for a host, a range outside the fleet. */
  range: Interval[];
  /** "web-1 (198.18.0.11)" or "0.0.0.0/0". */
  label: string;
}

export interface RuleRef {
  group: string;
  direction: Direction;
  description?: string;
  /** "tcp/5432 from sg web". */
  text: string;
}

/** Why a side accepts or drops. */
export type SideReason =
  | "no-table" // the host is attached to no group: nftsg filters nothing there
  | "loopback"
  | "egress-open" // none of the host's groups has an egress rule
  | "failsafe"
  | "essential-icmpv6"
  | "rules" // some of the host's rules match (coverage says how much of the peer)
  | "no-rule"; // none does: the default policy drops it

export interface SideResult {
  host: string;
  direction: Direction;
  coverage: Coverage;
  reason: SideReason;
  /** The rules that match (some of) the peer; empty unless reason is "rules". */
  rules: RuleRef[];
  /** A failsafe covers part of a range peer too. */
  failsafe?: boolean;
  /** When partial: the part of the peer range accepted, as CIDRs/ranges (at most a few). */
  accepted?: string[];
}

export interface FlowResult {
  from: string;
  to: string;
  family: Family;
  coverage: Coverage;
  /** The source host's egress (absent when the source is outside the fleet). */
  egress?: SideResult;
  /** The destination host's ingress (absent when the destination is outside the fleet). */
  ingress?: SideResult;
}

export const ECHO_REQUEST = { icmp: 8, icmpv6: 128 } as const;
const MAX_ACCEPTED_SHOWN = 4;
/** Untracked ICMPv6 every host accepts (MLD, router and neighbour discovery): see compiler/baseline.ts. */
export const ESSENTIAL_ICMPV6_TYPES: ReadonlySet<number> = new Set([130, 131, 132, 133, 134, 135, 136, 143]);

export function trafficMatches(rule: NormalisedRule, t: Traffic): boolean {
  if (rule.protocol === "all") return true;
  if (rule.protocol !== t.protocol) return false;
  if (t.protocol === "icmp" || t.protocol === "icmpv6") {
    if (rule.icmpType === undefined) return true;
    const type = t.icmpType ?? ECHO_REQUEST[t.protocol];
    return type === rule.icmpType && (rule.icmpCode === undefined || (t.icmpCode ?? 0) === rule.icmpCode);
  }
  if (rule.ports === undefined) return true;
  const port = t.port;
  return port !== undefined && rule.ports.some((r) => port >= r.lo && port <= r.hi);
}

function coverage(covered: readonly Interval[], whole: readonly Interval[]): Coverage {
  if (covered.length === 0) return "deny";
  return sameIntervals(covered, whole) ? "allow" : "partial";
}

/** One host's side of a flow: its ingress (peer = source) or egress (peer = destination). */
export function evaluateSide(index: FleetIndex, self: NormalisedHost, direction: Direction, peer: FlowEnd, t: Traffic): SideResult {
  const base = { host: self.name, direction, rules: [] as RuleRef[] };
  if (self.groups.length === 0) return { ...base, coverage: "allow", reason: "no-table" };
  if (peer.host === self) return { ...base, coverage: "allow", reason: "loopback" };
  if (t.protocol === "icmpv6" && ESSENTIAL_ICMPV6_TYPES.has(t.icmpType ?? ECHO_REQUEST.icmpv6)) {
    return { ...base, coverage: "allow", reason: "essential-icmpv6" };
  }
  const all = index.rulesOf(self, direction);
  if (direction === "egress" && all.length === 0) return { ...base, coverage: "allow", reason: "egress-open" };
  const sources = direction === "ingress" && t.protocol === "tcp" && t.port === self.sshPort ? index.failsafeSources(peer.family) : undefined;
  const failsafe = sources ? intersect(peer.range, sources) : [];
  const matched: { ref: RuleRef; covered: Interval[] }[] = [];
  for (const { group, rule } of all) {
    if (!trafficMatches(rule, t)) continue;
    const covered = intersect(peer.range, index.peerRange(rule, peer.family));
    if (covered.length > 0) {
      matched.push({ ref: { group, direction, ...(rule.description ? { description: rule.description } : {}), text: ruleText(rule) }, covered });
    }
  }
  const covered = union([failsafe, ...matched.map((m) => m.covered)]);
  const cov = coverage(covered, peer.range);
  const accepted = cov === "partial" ? { accepted: covered.slice(0, MAX_ACCEPTED_SHOWN).map((iv) => intervalToNftElement(peer.family, iv)) } : {};
  if (matched.length === 0 && failsafe.length > 0) return { ...base, coverage: cov, reason: "failsafe", ...accepted };
  return {
    ...base,
    ...accepted,
    coverage: cov,
    reason: matched.length > 0 ? "rules" : "no-rule",
    rules: matched.map((m) => m.ref),
    ...(failsafe.length > 0 ? { failsafe: true } : {}),
  };
}

function combine(a: Coverage | undefined, b: Coverage | undefined): Coverage {
  const sides = [a, b].filter((c): c is Coverage => c !== undefined);
  if (sides.includes("deny")) return "deny";
  return sides.every((c) => c === "allow") ? "allow" : "partial";
}

/** A new connection from one end to the other (same family; at least one end in the fleet). */
export function evaluateFlow(index: FleetIndex, from: FlowEnd, to: FlowEnd, t: Traffic): FlowResult {
  if (from.family !== to.family) throw new Error(`internal: flow between families (${from.label} -> ${to.label})`);
  const out = { from: from.label, to: to.label, family: from.family };
  if (from.host !== undefined && from.host === to.host) {
    const side = evaluateSide(index, from.host, "ingress", from, t);
    return { ...out, coverage: "allow", ingress: side };
  }
  const egress = from.host ? evaluateSide(index, from.host, "egress", to, t) : undefined;
  const ingress = to.host ? evaluateSide(index, to.host, "ingress", from, t) : undefined;
  return { ...out, coverage: combine(egress?.coverage, ingress?.coverage), ...(egress ? { egress } : {}), ...(ingress ? { ingress } : {}) };
}
