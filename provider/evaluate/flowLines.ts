// Cells and their allowed peers, in words: one line per (traffic, peer) —
// "tcp/5432 from spare (sg web)", "tcp/80,443 from any", "all to sg db (40 hosts)".
// Cells with the same peers merge (tcp/80 and tcp/443 -> tcp/80,443; every
// cell of a protocol -> "tcp"; every cell -> "all"), so equivalent rulesets
// read the same. Members of a group bigger than MEMBER_LIST_BOUND are named
// by the group when all of them are peers; smaller groups by each member.
import { type Family, type Interval, formatAddress, intervalToNftElement } from "../addressing/cidr";
import { type Cell, type PeerSet, cellMatches, isEmpty, restrict, samePeers } from "./cells";
import type { FleetIndex } from "./fleetIndex";
import type { Grant } from "./grants";
import { FULL } from "./grants";
import { covers, intersect, sameIntervals, subtract, unionMerged } from "../addressing/intervals";
import { type Direction } from "../vocabulary/directions";

/** Groups with more members than this are named as a group when all members are peers. */
export const MEMBER_LIST_BOUND = 8;

export interface FlowLine {
  /** "tcp/5432 from spare (sg web)". */
  text: string;
  /** The grants behind it, when asked for: "db: postgres from web". */
  origins: string[];
}

function cellLabel(c: Cell): string {
  if ("lo" in c) return c.lo === c.hi ? String(c.lo) : `${c.lo}-${c.hi}`;
  if ("other" in c) {
    if (c.type === undefined) return "other types";
    return c.code !== undefined ? `type ${c.type} code ${c.code}` : `type ${c.type}${c.other === "codes" ? " other codes" : ""}`;
  }
  return c.protocol === "other" ? "other protocols" : c.protocol;
}

/** Adjacent port cells become one range. */
function mergePortCells(cells: Cell[]): Cell[] {
  const out: Cell[] = [];
  for (const c of cells) {
    const last = out[out.length - 1];
    if (last && "lo" in last && "lo" in c && last.hi + 1 === c.lo) out[out.length - 1] = { ...last, hi: c.hi };
    else out.push(c);
  }
  return out;
}

interface Group {
  label: string;
  cells: Cell[];
  peers: PeerSet;
}

/** Cells with equal peers grouped, per protocol (or "all" when every cell agrees). */
function trafficGroups(cells: readonly { cell: Cell; peers: PeerSet }[]): Group[] {
  if (cells.length === 0) return [];
  // "all": one peer set S that every cell allows (as much of it as its family permits).
  // "all": the peers of a non-ICMP cell, which every cell allows as far as its family permits.
  const s = cells.find((c) => c.cell.protocol !== "icmp" && c.cell.protocol !== "icmpv6")?.peers;
  if (s && !isEmpty(s) && cells.every((c) => samePeers(c.peers, restrict(s, c.cell)))) {
    return [{ label: "all", cells: cells.map((c) => c.cell), peers: s }];
  }
  const out: Group[] = [];
  const protocols = [...new Set(cells.map((c) => c.cell.protocol))];
  for (const protocol of protocols) {
    // Few distinct peer sets per protocol: group by equality, no keys.
    const groups: { peers: PeerSet; cells: Cell[] }[] = [];
    for (const c of cells) {
      if (c.cell.protocol !== protocol || isEmpty(c.peers)) continue;
      const g = groups.find((x) => samePeers(x.peers, c.peers));
      if (g) g.cells.push(c.cell);
      else groups.push({ peers: c.peers, cells: [c.cell] });
    }
    for (const g of groups) out.push({ label: protocol, cells: g.cells, peers: g.peers });
  }
  return out;
}

interface Entity {
  text: string;
  peers: PeerSet;
}

const none = (): PeerSet => ({ 4: [], 6: [] });

/** Member ranges wider than this are shown as ranges, not enumerated. */
const MAX_ENUMERATED = 65536n;

/**
 * The peers of one line, named: any; the parts the grants name by CIDR
 * (a whole address list by its name, a part of one with it); the rest
 * (peer-group members) as whole big groups, hosts, remote members, or bare
 * addresses. `families`: the families the line's cells can carry.
 */
function entities(index: FleetIndex, self: string, peers: PeerSet, grants: readonly Grant[], families: readonly Family[]): Entity[] {
  if (sameIntervals(peers[4], FULL[4]) && sameIntervals(peers[6], FULL[6])) return [{ text: "any", peers }];
  const out: Entity[] = [];
  const cidrPart: PeerSet = { 4: [], 6: [] };
  for (const f of [4, 6] as const) cidrPart[f] = intersect(peers[f], unionMerged(grants.map((g) => g.cidrs[f])));
  // Most of both families, but for a few holes: "any except 198.51.100.0/24".
  const holes: PeerSet = { 4: subtract(FULL[4], cidrPart[4]), 6: subtract(FULL[6], cidrPart[6]) };
  const count = (p: PeerSet) => p[4].length + p[6].length;
  const anyExcept = cidrPart[4].length > 0 && cidrPart[6].length > 0 && count(holes) < count(cidrPart);
  if (anyExcept) {
    const text = ([4, 6] as const).flatMap((f) => holes[f].map((iv) => intervalToNftElement(f, iv))).join(", ");
    out.push({ text: `any except ${text}`, peers: cidrPart });
  }
  // Whole address lists by name (every entry of the families the line can carry).
  const listHint = [...new Set(grants.flatMap((g) => g.lists ?? []))].sort();
  const named: PeerSet = { 4: [], 6: [] };
  if (!anyExcept) {
    for (const l of listHint) {
      const list = index.addressList(l)!.merged;
      const inLine = families.filter((f) => list[f].intervals.length > 0);
      if (inLine.length === 0 || !inLine.every((f) => covers(cidrPart[f], list[f].intervals))) continue;
      const p: PeerSet = { ...none() };
      for (const f of inLine) p[f] = list[f].intervals;
      out.push({ text: `list ${l}`, peers: p });
      for (const f of inLine) named[f] = unionMerged([named[f], list[f].intervals]);
    }
  }
  // The rest are peer-group members: whole big groups first, then one by one.
  const rest: PeerSet = { 4: [], 6: [] };
  for (const f of [4, 6] as const) {
    if (!anyExcept) {
      for (const iv of subtract(cidrPart[f], named[f])) {
        // Part of a list (a change of it, in a diff): said so.
        const list = listHint.find((l) => covers(index.addressList(l)!.merged[f].intervals, [iv]));
        out.push({ text: `${intervalToNftElement(f, iv)}${list ? ` (list ${list})` : ""}`, peers: { ...none(), [f]: [iv] } });
      }
    }
    rest[f] = subtract(peers[f], cidrPart[f]);
  }
  const hint = new Set(grants.flatMap((g) => g.groups));
  for (const g of [...hint].sort()) {
    const remote = index.remoteGroup(g);
    const size = remote ? remote.members.length : index.members(g).length;
    if (size <= MEMBER_LIST_BOUND) continue;
    // The host itself is never its own peer (loopback).
    const own = (f: Family) => (index.host(self)?.addresses ?? []).filter((a) => a.family === f).map((a) => ({ lo: a.value, hi: a.value }));
    const addrs: PeerSet = { 4: subtract(index.memberAddresses(g, 4), own(4)), 6: subtract(index.memberAddresses(g, 6), own(6)) };
    if (isEmpty(addrs) || !covers(rest[4], addrs[4]) || !covers(rest[6], addrs[6])) continue;
    out.push({ text: `sg ${g} (${size} hosts${remote ? ", remote" : ""})`, peers: addrs });
    for (const f of [4, 6] as const) rest[f] = subtract(rest[f], addrs[f]);
  }
  const singles: Record<Family, Interval[]> = { 4: [], 6: [] };
  for (const f of [4, 6] as const) {
    for (const iv of rest[f]) {
      if (iv.hi - iv.lo >= MAX_ENUMERATED) out.push({ text: intervalToNftElement(f, iv), peers: { ...none(), [f]: [iv] } });
      else for (let v = iv.lo; v <= iv.hi; v++) singles[f].push({ lo: v, hi: v });
    }
  }
  const hosts = new Map<string, PeerSet>();
  const remoteMembers = new Map<string, PeerSet>();
  for (const f of [4, 6] as const) {
    for (const iv of singles[f]) {
      const h = index.hostByAddress(f, iv.lo);
      const r = h ? undefined : index.remoteMemberByAddress(f, iv.lo);
      if (!h && !r) {
        out.push({ text: formatAddress(f, iv.lo), peers: { ...none(), [f]: [iv] } });
        continue;
      }
      const byName = h ? hosts : remoteMembers;
      const name = h ? h.name : r!.member.name;
      const p = byName.get(name) ?? none();
      p[f] = [...p[f], iv];
      byName.set(name, p);
    }
  }
  for (const [name, p] of [...hosts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const groups = index.host(name)!.groups.filter((g) => hint.has(g));
    out.push({ text: groups.length ? `${name} (${groups.map((g) => `sg ${g}`).join(", ")})` : name, peers: p });
  }
  // Another stack's hosts, named by the remote groups that publish them.
  for (const [name, p] of [...remoteMembers].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const groups = [...hint].sort().filter((g) => index.remoteGroup(g)?.members.some((m) => m.name === name));
    out.push({ text: `${name} (${groups.length ? groups.map((g) => `remote sg ${g}`).join(", ") : "remote"})`, peers: p });
  }
  return out;
}

/** The families a line's cells can carry (ICMP: one). */
function cellFamilies(cells: readonly Cell[]): Family[] {
  const out = new Set<Family>();
  for (const c of cells) {
    if (c.protocol === "icmp") out.add(4);
    else if (c.protocol === "icmpv6") out.add(6);
    else return [4, 6];
  }
  return [...out].sort();
}

/** "tcp/5432-5433", "icmp type 8", "tcp" (every cell of the protocol), "all". */
function labelOf(protocol: string, cells: Cell[], protocolCells: number): string {
  if (protocol === "all") return "all";
  const name = protocol === "other" ? "other protocols" : protocol;
  if (cells.length === protocolCells) return name;
  const parts = mergePortCells(cells).map(cellLabel);
  return "lo" in cells[0]! ? `${name}/${parts.join(",")}` : `${name} ${parts.join(", ")}`;
}

const cellOrder = (a: Cell, b: Cell): number => ("lo" in a && "lo" in b ? a.lo - b.lo : 0);

/**
 * Lines for cells and their peers (one direction of one host), each with the
 * grants that allow (some of) it; their peer groups name member hosts. One
 * line per (protocol, peer): tcp/5432 and tcp/5433 to the same peer read
 * "tcp/5432-5433".
 */
export function flowLines(
  index: FleetIndex,
  self: string,
  direction: Direction,
  cells: readonly { cell: Cell; peers: PeerSet }[],
  grants: readonly Grant[],
): FlowLine[] {
  const word = direction === "ingress" ? "from" : "to";
  const perProtocol = new Map<string, number>();
  for (const c of cells) perProtocol.set(c.cell.protocol, (perProtocol.get(c.cell.protocol) ?? 0) + 1);
  const merged = new Map<string, { protocol: string; entity: string; cells: Cell[]; origins: Set<string> }>();
  for (const group of trafficGroups(cells)) {
    const matching = grants.filter((g) => group.cells.some((c) => cellMatches(g, c)));
    const protocol = group.label === "all" ? "all" : group.cells[0]!.protocol;
    for (const e of entities(index, self, group.peers, matching, cellFamilies(group.cells))) {
      const key = `${protocol}\u0000${e.text}`;
      const m = merged.get(key) ?? { protocol, entity: e.text, cells: [], origins: new Set<string>() };
      m.cells.push(...group.cells);
      for (const g of matching) if (([4, 6] as const).some((f) => intersect(g.peers[f], e.peers[f]).length > 0)) m.origins.add(g.origin);
      merged.set(key, m);
    }
  }
  return [...merged.values()].map((m) => ({
    text: `${labelOf(m.protocol, m.cells.sort(cellOrder), perProtocol.get(m.protocol) ?? 0)} ${word} ${m.entity}`,
    origins: [...m.origins].sort(),
  }));
}
