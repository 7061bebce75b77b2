// Observed flows against the declaration (docs/observe.md): what the evaluator
// says of a flow a host recorded as dropped (or would-be dropped), and the
// minimal rules, in group terms, that would allow exactly the observed
// would-drops: a source (or destination) that is a fleet host becomes one of
// its groups, an outside address itself, or a covering prefix when several
// addresses of one /24 (IPv6: /64) appear. Pure.
import { type Family, formatAddress, parseAddress, prefixToInterval } from "../addressing/cidr";
import type { FleetDeclaration, RuleDeclaration } from "../declaration/declaration";
import type { NormalisedFleet, NormalisedHost } from "../declaration/fleetModel";
import type { Direction } from "../vocabulary/directions";
import { hasPorts, isIcmp, type PacketProtocol } from "../vocabulary/protocols";
import type { Traffic } from "../vocabulary/traffic";
import { indexFleet, type FleetIndex } from "./fleetIndex";
import { evaluateSide, type FlowEnd, type SideResult } from "./flow";

/** What a host records of a flow at one of its chains' drop points. */
export interface RecordedFlowKey {
  direction: Direction;
  /** The peer address (its ingress: the source; its egress: the destination). */
  address: string;
  /** tcp, udp, sctp, icmp, icmpv6, esp, ... */
  protocol: string;
  /** Destination port (tcp/udp/sctp); absent for others. */
  port?: number;
  /** ICMP type and code. */
  icmpType?: number;
  icmpCode?: number;
}

/** A flow a host recorded, as the evaluator judges it. */
export interface ObservedFlow extends RecordedFlowKey {
  /** The host that recorded it. */
  host: string;
  packets?: number;
}

const RULE_PROTOCOLS: ReadonlySet<string> = new Set(["tcp", "udp", "sctp", "icmp", "icmpv6", "esp", "ah", "gre"]);

/** The traffic of an observed flow, if a rule can name it (ICMP of the peer's family only). */
export function trafficOf(f: ObservedFlow): Traffic | undefined {
  if (!RULE_PROTOCOLS.has(f.protocol)) return undefined;
  const protocol = f.protocol as PacketProtocol;
  const family = parseAddress(f.address)?.family;
  if ((protocol === "icmp" && family !== 4) || (protocol === "icmpv6" && family !== 6)) return undefined;
  if (hasPorts(protocol)) return f.port === undefined ? undefined : { protocol, port: f.port };
  if (isIcmp(protocol)) return { protocol, icmpType: f.icmpType ?? 0, icmpCode: f.icmpCode ?? 0 };
  return { protocol };
}

/** The peer end of an observed flow: the fleet host that has the address, or the address outside the fleet. */
function peerEnd(index: FleetIndex, address: string): FlowEnd | undefined {
  const a = parseAddress(address);
  if (!a) return undefined;
  const host = index.hostByAddress(a.family, a.value);
  const range = [{ lo: a.value, hi: a.value }];
  return host ? { host, family: a.family, range, label: `${host.name} (${address})` } : { family: a.family, range, label: address };
}

/**
 * What the declaration says of an observed flow, on the side that recorded
 * it: "deny" is what staged mode records and enforcement drops.
 */
export function judgeObserved(index: FleetIndex, f: ObservedFlow): SideResult | undefined {
  const host = index.host(f.host);
  const t = trafficOf(f);
  const peer = peerEnd(index, f.address);
  if (!host || !t || !peer) return undefined;
  return evaluateSide(index, host, f.direction, peer, t);
}

/** A rule to add to a group, and the observed flows it allows. */
export interface Suggestion {
  group: string;
  direction: Direction;
  rule: RuleDeclaration;
  flows: ObservedFlow[];
}

/**
 * The group of a host that names it most narrowly (fewest members, then
 * name). For an egress rule, among the groups that already have egress
 * rules: an egress rule in a group with none would close the open egress of
 * its other members (having an egress rule is what restricts).
 */
function narrowestGroup(index: FleetIndex, host: NormalisedHost, direction: Direction = "ingress"): string | undefined {
  const candidates = direction === "egress" ? host.groups.filter((g) => (index.group(g)?.egress.length ?? 0) > 0) : host.groups;
  return [...candidates].sort((a, b) => index.members(a).length - index.members(b).length || (a < b ? -1 : a > b ? 1 : 0))[0];
}

/** The prefix length grouping outside addresses: /24 for IPv4, /64 for IPv6; at least this many in one to cover them by a prefix. */
const GROUPING: Record<Family, number> = { 4: 24, 6: 64 };
export const PREFIX_AT = 4;

/** The smallest prefix covering every address given (same family). */
function coveringPrefix(family: Family, values: bigint[]): string {
  const bits = family === 4 ? 32 : 128;
  const lo = values.reduce((a, b) => (a < b ? a : b));
  const hi = values.reduce((a, b) => (a > b ? a : b));
  let len = bits;
  while (len > 0 && lo >> BigInt(bits - len) !== hi >> BigInt(bits - len)) len--;
  const network = (lo >> BigInt(bits - len)) << BigInt(bits - len);
  return `${formatAddress(family, network)}/${len}`;
}

/** How outside addresses are named as peers: themselves (/32, /128), or a covering prefix where several share a /24 (/64). */
function outsidePeers(addresses: Iterable<string>): Map<string, string> {
  const byNet = new Map<string, { family: Family; values: bigint[]; texts: string[] }>();
  for (const text of new Set(addresses)) {
    const a = parseAddress(text)!;
    const shift = BigInt((a.family === 4 ? 32 : 128) - GROUPING[a.family]);
    const key = `${a.family}/${a.value >> shift}`;
    const g = byNet.get(key) ?? { family: a.family, values: [], texts: [] };
    g.values.push(a.value);
    g.texts.push(text);
    byNet.set(key, g);
  }
  const out = new Map<string, string>();
  for (const g of byNet.values()) {
    const cover = g.texts.length >= PREFIX_AT ? coveringPrefix(g.family, g.values) : undefined;
    for (let i = 0; i < g.texts.length; i++) out.set(g.texts[i]!, cover ?? `${formatAddress(g.family, g.values[i]!)}/${g.family === 4 ? 32 : 128}`);
  }
  return out;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The minimal rules, in group terms, that allow the observed flows the
 * declaration denies (on the side that recorded them). Rules are per
 * (group, direction, traffic class, peers), ports of the same peers merged.
 * Flows a rule cannot name (another protocol, an unknown host) are left out.
 */
export function suggestRules(fleet: NormalisedFleet, flows: readonly ObservedFlow[]): Suggestion[] {
  const index = indexFleet(fleet);
  const denied = flows.filter((f) => judgeObserved(index, f)?.coverage === "deny");
  const outside = new Map<string, string>();
  {
    const byGroup = new Map<string, string[]>();
    for (const f of denied) {
      const a = parseAddress(f.address);
      if (!a || index.hostByAddress(a.family, a.value)) continue;
      const target = narrowestGroup(index, index.host(f.host)!, f.direction);
      const k = `${target}|${f.direction}`;
      byGroup.set(k, [...(byGroup.get(k) ?? []), f.address]);
    }
    for (const addresses of byGroup.values()) for (const [a, p] of outsidePeers(addresses)) outside.set(a, p);
  }
  // (group, direction, protocol, icmp) -> port (or "-") -> peers, flows
  const cells = new Map<string, { group: string; direction: Direction; traffic: Traffic; byPort: Map<string, { peers: Set<string>; flows: ObservedFlow[] }> }>();
  for (const f of denied) {
    const host = index.host(f.host)!;
    const group = narrowestGroup(index, host, f.direction);
    const t = trafficOf(f)!;
    if (group === undefined) continue;
    const a = parseAddress(f.address)!;
    const peerHost = index.hostByAddress(a.family, a.value);
    const peerGroup = peerHost ? narrowestGroup(index, peerHost) : undefined;
    const peer = peerGroup !== undefined ? `sg:${peerGroup}` : peerHost ? `cidr:${f.address}/${a.family === 4 ? 32 : 128}` : `cidr:${outside.get(f.address)!}`;
    const cellKey = [group, f.direction, t.protocol, t.icmpType ?? "", t.icmpCode ?? ""].join("|");
    const cell = cells.get(cellKey) ?? { group, direction: f.direction, traffic: { ...t, port: undefined }, byPort: new Map() };
    const portKey = t.port === undefined ? "-" : String(t.port);
    const slot = cell.byPort.get(portKey) ?? { peers: new Set<string>(), flows: [] };
    slot.peers.add(peer);
    slot.flows.push(f);
    cell.byPort.set(portKey, slot);
    cells.set(cellKey, cell);
  }
  const out: Suggestion[] = [];
  for (const cell of cells.values()) {
    // Ports with the same peers: one rule.
    const byPeers = new Map<string, { ports: number[]; flows: ObservedFlow[]; peers: string[] }>();
    for (const [port, slot] of cell.byPort) {
      const peers = [...slot.peers].sort(cmp);
      const k = peers.join(",");
      const r = byPeers.get(k) ?? { ports: [], flows: [], peers };
      if (port !== "-") r.ports.push(Number(port));
      r.flows.push(...slot.flows);
      byPeers.set(k, r);
    }
    for (const r of byPeers.values()) {
      const groups = r.peers.filter((p) => p.startsWith("sg:")).map((p) => p.slice(3));
      const cidrs = r.peers.filter((p) => p.startsWith("cidr:")).map((p) => p.slice(5));
      const t = cell.traffic;
      const ports = r.ports.sort((a, b) => a - b);
      const rule: RuleDeclaration = {
        protocol: t.protocol,
        ...(ports.length === 1 ? { ports: ports[0] } : ports.length > 1 ? { ports } : {}),
        ...(t.icmpType !== undefined ? { icmpType: t.icmpType } : {}),
        ...(t.icmpType !== undefined && t.icmpCode !== undefined && t.icmpCode !== 0 ? { icmpCode: t.icmpCode } : {}),
        ...(cidrs.length ? { cidrs } : {}),
        ...(groups.length ? { securityGroups: groups } : {}),
        description: describe(r.flows, cell.direction),
      };
      out.push({ group: cell.group, direction: cell.direction, rule, flows: r.flows });
    }
  }
  return out.sort((a, b) => cmp(a.group, b.group) || cmp(a.direction, b.direction) || cmp(JSON.stringify(a.rule), JSON.stringify(b.rule)));
}

function describe(flows: readonly ObservedFlow[], direction: Direction): string {
  const hosts = [...new Set(flows.map((f) => f.host))].sort(cmp);
  const shown = hosts.slice(0, 3).join(", ") + (hosts.length > 3 ? ` +${hosts.length - 3}` : "");
  return `observed ${direction === "ingress" ? "on" : "from"} ${shown}`;
}

/** The declaration with the suggested rules added to their groups. */
export function applySuggestions(decl: FleetDeclaration, suggestions: readonly Suggestion[]): FleetDeclaration {
  return {
    ...decl,
    securityGroups: decl.securityGroups.map((g) => {
      const mine = suggestions.filter((s) => s.group === g.name);
      if (mine.length === 0) return g;
      return {
        ...g,
        ingress: [...(g.ingress ?? []), ...mine.filter((s) => s.direction === "ingress").map((s) => s.rule)],
        egress: [...(g.egress ?? []), ...mine.filter((s) => s.direction === "egress").map((s) => s.rule)],
      };
    }),
  };
}

/** The suggestions as TypeScript to paste into the groups' rule lists. */
export function suggestionsTypeScript(suggestions: readonly Suggestion[]): string {
  if (suggestions.length === 0) return "// no rules to suggest: every observed flow is allowed by the declaration\n";
  const lines: string[] = [];
  let last = "";
  for (const s of suggestions) {
    const where = `${s.group} ${s.direction}`;
    if (where !== last) {
      lines.push(`// securityGroups: "${s.group}", ${s.direction}: add`);
      last = where;
    }
    lines.push(`${tsValue(s.rule)},`);
  }
  return `${lines.join("\n")}\n`;
}

function tsValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(tsValue).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    return `{ ${Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${k}: ${tsValue(x)}`)
      .join(", ")} }`;
  }
  return JSON.stringify(v);
}

/** Whether a suggestion's rule covers a side (host, direction, peer, traffic) of the fleet it was made for: its stated scope. */
export function inScope(index: FleetIndex, s: Suggestion, host: NormalisedHost, direction: Direction, peer: string, t: Traffic): boolean {
  if (direction !== s.direction || !host.groups.includes(s.group)) return false;
  const r = s.rule;
  if (r.protocol !== t.protocol) return false;
  const ports = r.ports === undefined ? undefined : (Array.isArray(r.ports) ? r.ports : [r.ports]).map(Number);
  if (ports && !ports.includes(t.port ?? -1)) return false;
  if (r.icmpType !== undefined && (t.icmpType ?? 0) !== r.icmpType) return false;
  if (r.icmpCode !== undefined && (t.icmpCode ?? 0) !== r.icmpCode) return false;
  const a = parseAddress(peer)!;
  for (const c of r.cidrs ?? []) {
    const [net, len] = c.split("/");
    const p = parseAddress(net!)!;
    if (p.family !== a.family) continue;
    const iv = prefixToInterval({ family: p.family, value: p.value, length: Number(len) });
    if (a.value >= iv.lo && a.value <= iv.hi) return true;
  }
  const owner = index.hostByAddress(a.family, a.value);
  return owner !== undefined && (r.securityGroups ?? []).some((g) => owner.groups.includes(g));
}
