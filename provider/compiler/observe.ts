// Observe before enforce (docs/observe.md): what an observed host's ruleset
// adds to the plain one. Nothing here accepts or drops anything the plain
// ruleset would not, except that a staged host accepts where the plain one
// drops (a verdict change only):
//
// - a named counter on every rule and on every default drop (values are
//   seeded on the host from the table it replaces, in the same transaction);
// - the end of every chain that drops: count, optionally log (rate-limited),
//   record the flow (address . protocol . port) in a bounded dynamic set with
//   a counter and a timeout, then drop — or, staged, accept; a flow that
//   cannot be recorded (the set is full) is counted as unrecorded;
// - a staged change (proposal): its rules in their own chains, jumped to
//   before the enforced rules, ending in `return` whatever they decide; the
//   flows they would deny are recorded in sets of their own.
//
// The flow key is the peer address, the protocol, and the destination port;
// for ICMP, whose header has no ports, the first two bytes (type and code) in
// the port's place. Matching ICMP by `meta l4proto { icmp, ipv6-icmp }` (an
// anonymous set) rather than `meta l4proto icmp`: nft 1.0.6 lists the latter
// without the match when a family dependency follows, so the read-back and
// the rollback file would lose it.
import type { Family } from "../addressing/cidr";
import type { NormalisedHostObserve } from "../declaration/fleetModel";
import { nftName, OBSERVE_COUNTERS } from "../nft/names";
import { quote, renderFlowSet } from "../nft/render";
import type { Direction } from "../vocabulary/directions";
import { BASELINE_COMMENT } from "./baseline";

const FAMILIES: readonly Family[] = [4, 6];
const ADDRESS_EXPR = {
  ingress: { 4: "ip saddr", 6: "ip6 saddr" },
  egress: { 4: "ip daddr", 6: "ip6 daddr" },
} as const;
const ICMP = "meta l4proto { icmp, ipv6-icmp }";
const NOT_ICMP = "meta l4proto != { icmp, ipv6-icmp }";

/** Where a drop happens: the end of a base chain, or of a container path's chain (containers.ts). */
export type DropPoint = "ingress" | "egress" | "published" | "containerEgress";

/** Which flow sets a drop point records into, and how its port is read. */
const POINTS: Record<DropPoint, { direction: Direction; counter: keyof typeof OBSERVE_COUNTERS; word: string; port: string }> = {
  ingress: { direction: "ingress", counter: "dropIngress", word: "in", port: "th dport" },
  egress: { direction: "egress", counter: "dropEgress", word: "out", port: "th dport" },
  // The port after DNAT (the container's): nft 1.0.6 cannot put `ct original
  // proto-dst` in a set key (no fixed length); the report says which port it is.
  published: { direction: "ingress", counter: "dropPublished", word: "published", port: "th dport" },
  containerEgress: { direction: "egress", counter: "dropContainerEgress", word: "container-egress", port: "th dport" },
};

const UNRECORDED: Record<Direction, keyof typeof OBSERVE_COUNTERS> = { ingress: "unrecordedIngress", egress: "unrecordedEgress" };
const PROPOSAL_UNRECORDED: Record<Direction, keyof typeof OBSERVE_COUNTERS> = {
  ingress: "proposalUnrecordedIngress",
  egress: "proposalUnrecordedEgress",
};

export const counterName = (which: keyof typeof OBSERVE_COUNTERS): string => nftName({ kind: "counter", which });
const counterRef = (name: string) => `counter name ${quote(name)}`;

/** The statements that record a flow in a direction's sets, then give `verdict`. */
function recordStatements(direction: Direction, port: string, proposal: boolean, verdict: string, comment: string): string[] {
  const out: string[] = [];
  for (const family of FAMILIES) {
    const last = nftName({ kind: "observeSet", direction, family, first: false, proposal });
    const first = nftName({ kind: "observeSet", direction, family, first: true, proposal });
    const key = (p: string) => `{ ${ADDRESS_EXPR[direction][family]} . meta l4proto . ${p} }`;
    for (const [match, p] of [[ICMP, "th sport"], [NOT_ICMP, port]] as const) {
      out.push(`${match} update @${last} ${key(p)} add @${first} ${key(p)} ${verdict} comment ${quote(comment)}`);
    }
  }
  return out;
}

/**
 * The end of a chain that drops (its policy, or the last rule of a container
 * path): count, log, record, then drop — or accept when the host is staged.
 */
export function dropEnd(point: DropPoint, o: NormalisedHostObserve, table: string): string[] {
  const { direction, counter, word, port } = POINTS[point];
  const staged = o.mode === "staged";
  const verdict = staged ? "accept" : "drop";
  const out = [`${counterRef(counterName(counter))} comment ${quote(BASELINE_COMMENT.dropCounted)}`];
  if (o.logPerMinute !== undefined) {
    // Not quote(): it trims the trailing space that separates the prefix from the kernel's "IN=..." (the text is ours: no quotes in it).
    out.push(`limit rate ${o.logPerMinute}/minute log prefix "${logPrefix(table, word, staged)}" comment ${quote(BASELINE_COMMENT.dropLog)}`);
  }
  out.push(...recordStatements(direction, port, false, verdict, staged ? BASELINE_COMMENT.wouldDropRecorded : BASELINE_COMMENT.dropRecorded));
  out.push(
    `${counterRef(counterName(UNRECORDED[direction]))} ${verdict} comment ${quote(staged ? BASELINE_COMMENT.wouldDropUnrecorded : BASELINE_COMMENT.dropUnrecorded)}`,
  );
  return out;
}

/**
 * The kernel log prefix of drops: names the table, the direction and the
 * verdict ("nftsg <table> in drop ", "nftsg <table> out would-drop ").
 */
export function logPrefix(table: string, word: string, staged: boolean): string {
  return `nftsg ${table} ${word} ${staged ? "would-drop" : "drop"} `;
}

/** The end of a staged change's chain: no rule of the proposal accepts; record, and return (never a verdict). */
export function proposalEnd(direction: Direction): string[] {
  return [
    ...recordStatements(direction, "th dport", true, "return", BASELINE_COMMENT.proposalRecorded),
    `${counterRef(counterName(PROPOSAL_UNRECORDED[direction]))} return comment ${quote(BASELINE_COMMENT.proposalUnrecorded)}`,
  ];
}

/** `ct state invalid` for an observed host: counted; dropped, or accepted when staged. */
export function invalidStatement(o: NormalisedHostObserve): string {
  return o.mode === "staged"
    ? `ct state invalid ${counterRef(counterName("invalid"))} accept comment ${quote(BASELINE_COMMENT.invalidStaged)}`
    : `ct state invalid ${counterRef(counterName("invalid"))} drop comment ${quote(BASELINE_COMMENT.invalid)}`;
}

/** A rule's statement with its counter: the plain statement's `accept` preceded by `counter name "..."` (or another verdict). */
export function countedStatement(plain: string, counter: string, verdict = "accept"): string {
  const i = plain.lastIndexOf(" accept comment ");
  if (i < 0) throw new Error(`internal: not a rule statement: ${plain}`);
  return `${plain.slice(0, i)} ${counterRef(counter)} ${verdict} comment ${plain.slice(i + " accept comment ".length)}`;
}

/** The jump into a staged change's chain. */
export function proposalJump(direction: Direction): string {
  return `jump ${nftName({ kind: "proposalChain", direction })} comment ${quote(BASELINE_COMMENT.proposalJump)}`;
}

/** The flow sets of the directions that drop (and of a staged change's), as named set blocks. */
export function flowSets(o: NormalisedHostObserve, directions: readonly Direction[], proposal: boolean): { name: string; block: string }[] {
  const out: { name: string; block: string }[] = [];
  for (const direction of directions) {
    for (const family of FAMILIES) {
      for (const first of [false, true]) {
        const name = nftName({ kind: "observeSet", direction, family, first, proposal });
        out.push({ name, block: renderFlowSet(name, ADDRESS_EXPR[direction][family], o.maxFlows, o.retentionHours, !first) });
      }
    }
  }
  return out;
}

/** The readable lines of an observed host. */
export function observeLines(o: NormalisedHostObserve, table: string, egressRestricted: boolean): string[] {
  const bound = `at most ${o.maxFlows} flows per direction and family, each kept ${o.retentionHours} h after its last packet`;
  const lines = [
    o.mode === "staged"
      ? `observe staged: nothing is dropped; every rule's hits and every would-be drop are counted, and would-be dropped flows recorded (${bound}) [observe]`
      : `observe enforce: every rule's hits and every drop are counted, and dropped flows recorded (${bound}) [observe]`,
  ];
  if (o.logPerMinute !== undefined) {
    const directions = egressRestricted ? "in, out" : "in";
    lines.push(`observe log ${o.mode === "staged" ? "would-be drops" : "drops"} (${directions}) at ${o.logPerMinute}/minute, prefix "${logPrefix(table, "<direction>", o.mode === "staged").trim()}" [observe.log]`);
  }
  // Not the acknowledgements: they change nothing on the host (the Attachment's observe input carries them).
  return lines;
}

/** A staged host's baseline lines say what it does instead of dropping. */
export function stagedLine(line: string): string {
  return line
    .replace(/^(ingress|egress) drop everything else \[default policy\]$/, "$1 would drop everything else: counted, recorded and accepted [default policy, staged]")
    .replace(/^(ingress|egress) drop invalid \[stateful\]$/, "$1 would drop invalid: counted and accepted [stateful, staged]");
}
