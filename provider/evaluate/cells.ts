// The traffic space cut into cells no grant splits: for tcp/udp/sctp the port
// ranges between every grant's boundaries, for icmp/icmpv6 the named types
// (and codes) and "other types", then esp/ah/gre and any other protocol.
// Within a cell every grant matches all or nothing, so a cell's allowed peers
// are the union of its matching grants' peers: an exact, canonical picture
// of what a ruleset allows, whatever way its rules are written.
import type { Family, Interval } from "../addressing/cidr";
import type { Grant } from "./grants";
import { sameIntervals, unionMerged } from "../addressing/intervals";
import { PORT_PROTOCOLS, type PortProtocol } from "../vocabulary/protocols";

export type Cell =
  | { protocol: PortProtocol; lo: number; hi: number }
  | { protocol: "icmp" | "icmpv6"; type?: number; code?: number; other: "types" | "codes" | "none" }
  | { protocol: "esp" | "ah" | "gre" | "other" };

const ICMP_PROTOCOLS = ["icmp", "icmpv6"] as const;

export function cellsFor(grants: readonly Grant[]): Cell[] {
  const cells: Cell[] = [];
  for (const protocol of PORT_PROTOCOLS) {
    const cuts = new Set<number>([1, 65536]);
    for (const g of grants) if (g.protocol === protocol) for (const r of g.ports ?? []) cuts.add(r.lo).add(r.hi + 1);
    const sorted = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i + 1 < sorted.length; i++) cells.push({ protocol, lo: sorted[i]!, hi: sorted[i + 1]! - 1 });
  }
  for (const protocol of ICMP_PROTOCOLS) {
    const codes = new Map<number, Set<number>>();
    for (const g of grants) {
      if (g.protocol !== protocol || g.icmpType === undefined) continue;
      const set = codes.get(g.icmpType) ?? new Set<number>();
      if (g.icmpCode !== undefined) set.add(g.icmpCode);
      codes.set(g.icmpType, set);
    }
    for (const [type, set] of [...codes].sort((a, b) => a[0] - b[0])) {
      for (const code of [...set].sort((a, b) => a - b)) cells.push({ protocol, type, code, other: "none" });
      cells.push({ protocol, type, other: set.size > 0 ? "codes" : "none" });
    }
    cells.push({ protocol, other: "types" });
  }
  for (const protocol of ["esp", "ah", "gre", "other"] as const) cells.push({ protocol });
  return cells;
}

export function cellMatches(g: Grant, c: Cell): boolean {
  if (g.protocol === "all") return true;
  if (g.protocol !== c.protocol) return false;
  if ("lo" in c) return g.ports === undefined || g.ports.some((r) => r.lo <= c.lo && c.hi <= r.hi);
  if ("other" in c) {
    if (g.icmpType === undefined) return true;
    if (c.type !== g.icmpType) return false;
    return g.icmpCode === undefined || (c.code === g.icmpCode && c.other === "none");
  }
  return true;
}

export type PeerSet = Record<Family, Interval[]>;

/** ICMP exists in one family only. */
const ONLY_FAMILY: Partial<Record<Cell["protocol"], Family>> = { icmp: 4, icmpv6: 6 };

export function peersOf(grants: readonly Grant[], c: Cell, part: "peers" | "cidrs" = "peers"): PeerSet {
  const matching = grants.filter((g) => cellMatches(g, c));
  // One grant (the common case): its lists are already merged.
  const all = matching.length === 1 ? matching[0]![part] : { 4: unionMerged(matching.map((g) => g[part][4])), 6: unionMerged(matching.map((g) => g[part][6])) };
  return restrict(all, c);
}

/** The part of a peer set a cell's packets can come from (ICMP: one family). */
export function restrict(p: PeerSet, c: Cell): PeerSet {
  const only = ONLY_FAMILY[c.protocol];
  return only === undefined ? p : only === 4 ? { 4: p[4], 6: [] } : { 4: [], 6: p[6] };
}

export const samePeers = (a: PeerSet, b: PeerSet): boolean => a === b || (sameIntervals(a[4], b[4]) && sameIntervals(a[6], b[6]));
export const isEmpty = (p: PeerSet): boolean => p[4].length === 0 && p[6].length === 0;
