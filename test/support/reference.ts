// Reference evaluator: docs/semantics.md transcribed as directly as possible, so the
// semantic tests can compare real packets against it. It deliberately shares
// NO code with the compiler (only the declaration types): if both were built
// on the same helpers, a bug there would agree with itself and go unseen.
// It answers one question: is a NEW connection (or packet) from a source to a
// destination accepted end to end, i.e. by the source host's egress AND the
// destination host's ingress? It trusts the declaration to be valid.
import { isIP } from "node:net";
import type {
  FleetDeclaration,
  HostDeclaration,
  PortSpec,
  RuleDeclaration,
  SecurityGroupDeclaration,
} from "../../provider/declaration/declaration";

export type PacketProto = "tcp" | "udp" | "icmp" | "icmpv6";

export interface Packet {
  /** host: a declared host name; absent for an outside source such as the lab runner. */
  from: { host?: string; address: string };
  to: { host: string; address: string };
  proto: PacketProto;
  /** Destination port, tcp/udp only. */
  port?: number;
  /** Default: echo request (8 for icmp, 128 for icmpv6). */
  icmpType?: number;
  /** Default 0. */
  icmpCode?: number;
}

export const DEFAULT_SSH_PORT = 22;
const ECHO_REQUEST = { icmp: 8, icmpv6: 128 } as const;

// ---- addresses ---------------------------------------------------------------
// Plain bigint arithmetic: "2001:db8::a" and "2001:db8:0::0a" are one address,
// and a prefix contains an address iff their top `len` bits are equal.

interface Ip {
  family: 4 | 6;
  value: bigint;
}

function parseV4(s: string): bigint {
  return s.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function parseV6(s: string): bigint {
  let text = s;
  // An embedded dotted quad ("::ffff:1.2.3.4") is two 16-bit groups.
  const dot = text.lastIndexOf(":");
  if (text.includes(".")) {
    const v4 = parseV4(text.slice(dot + 1));
    text = `${text.slice(0, dot + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const groups = (part: string | undefined): string[] => (part ? part.split(":") : []);
  const left = groups(head);
  const right = groups(tail);
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...fill, ...right].reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function parseIp(s: string): Ip {
  const family = isIP(s);
  if (family === 4) return { family: 4, value: parseV4(s) };
  if (family === 6) return { family: 6, value: parseV6(s) };
  throw new Error(`reference: not an IP address: ${JSON.stringify(s)}`);
}

/** Does the prefix "a.b.c.d/n" (or an IPv6 one, or a bare address) contain addr? */
export function cidrContains(cidr: string, addr: string): boolean {
  const [base, lenText] = cidr.split("/") as [string, string | undefined];
  const net = parseIp(base);
  const ip = parseIp(addr);
  if (net.family !== ip.family) return false;
  const bits = net.family === 4 ? 32 : 128;
  const len = lenText === undefined ? bits : Number(lenText);
  const shift = BigInt(bits - len);
  return net.value >> shift === ip.value >> shift;
}

function sameIp(a: string, b: string): boolean {
  const x = parseIp(a);
  const y = parseIp(b);
  return x.family === y.family && x.value === y.value;
}

// ---- the declaration's derived facts ------------------------------------------

/** The addresses other members see a host by (§2 Host: default = connection host if an IP literal). */
export function hostAddresses(h: HostDeclaration): string[] {
  if (h.addresses !== undefined) return h.addresses;
  return isIP(h.connection.host) !== 0 ? [h.connection.host] : [];
}

function findHost(decl: FleetDeclaration, name: string | undefined): HostDeclaration | undefined {
  return name === undefined ? undefined : decl.hosts.find((h) => h.name === name);
}

function groupsOf(decl: FleetDeclaration, h: HostDeclaration): SecurityGroupDeclaration[] {
  return decl.securityGroups.filter((g) => h.securityGroups.includes(g.name));
}

/** "A host attached to no group keeps no nftsg table": nothing filters it. */
function hasTable(h: HostDeclaration | undefined): h is HostDeclaration {
  return h !== undefined && h.securityGroups.length > 0;
}

// ---- rule matching -------------------------------------------------------------

function portMatches(spec: PortSpec, port: number): boolean {
  const text = String(spec).trim();
  const dash = text.indexOf("-");
  if (dash < 0) return Number(text) === port;
  return Number(text.slice(0, dash)) <= port && port <= Number(text.slice(dash + 1));
}

function portsMatch(ports: RuleDeclaration["ports"], port: number | undefined): boolean {
  if (ports === undefined) return true; // absent = all ports
  if (port === undefined) return false;
  const list = Array.isArray(ports) ? ports : [ports];
  return list.some((spec) => portMatches(spec, port));
}

function protocolMatches(rule: RuleDeclaration, p: Packet): boolean {
  switch (rule.protocol) {
    case "all":
      return true;
    case "tcp":
    case "udp":
      return p.proto === rule.protocol && portsMatch(rule.ports, p.port);
    case "icmp":
    case "icmpv6": {
      if (p.proto !== rule.protocol) return false; // icmp is IPv4 only, icmpv6 IPv6 only
      if (rule.icmpType === undefined) return true;
      const type = p.icmpType ?? ECHO_REQUEST[p.proto];
      return type === rule.icmpType && (rule.icmpCode === undefined || (p.icmpCode ?? 0) === rule.icmpCode);
    }
    default:
      return false; // sctp/esp/ah/gre: never what the matrix sends
  }
}

/** A peer group matches the current members' addresses, and nothing when it has no members. */
function peerMatches(decl: FleetDeclaration, rule: RuleDeclaration, peer: string): boolean {
  if ((rule.cidrs ?? []).some((c) => cidrContains(c, peer))) return true;
  return (rule.securityGroups ?? []).some((g) =>
    decl.hosts.some((h) => h.securityGroups.includes(g) && hostAddresses(h).some((a) => sameIp(a, peer))),
  );
}

function someRuleMatches(decl: FleetDeclaration, rules: RuleDeclaration[], p: Packet, peer: string): boolean {
  return rules.some((r) => protocolMatches(r, p) && peerMatches(decl, r, peer));
}

// ---- the two halves of the path ------------------------------------------------

function failsafeAccepts(decl: FleetDeclaration, h: HostDeclaration, p: Packet): boolean {
  const fs = decl.failsafe ?? {};
  if (fs.ssh === false || p.proto !== "tcp") return false;
  if (p.port !== (h.connection.port ?? DEFAULT_SSH_PORT)) return false;
  return fs.cidrs === undefined || fs.cidrs.some((c) => cidrContains(c, p.from.address));
}

export function ingressAccepts(decl: FleetDeclaration, p: Packet): boolean {
  const h = findHost(decl, p.to.host);
  if (!hasTable(h)) return true;
  if (failsafeAccepts(decl, h, p)) return true;
  const rules = groupsOf(decl, h).flatMap((g) => g.ingress ?? []);
  return someRuleMatches(decl, rules, p, p.from.address);
}

export function egressAccepts(decl: FleetDeclaration, p: Packet): boolean {
  const h = findHost(decl, p.from.host);
  if (!hasTable(h)) return true;
  const rules = groupsOf(decl, h).flatMap((g) => g.egress ?? []);
  if (rules.length === 0) return true; // the cloud default: egress open until restricted
  return someRuleMatches(decl, rules, p, p.to.address);
}

/** Would a NEW connection/packet be accepted end to end? */
export function evaluate(decl: FleetDeclaration, p: Packet): boolean {
  const fam = parseIp(p.to.address).family;
  if (parseIp(p.from.address).family !== fam) throw new Error(`reference: mixed families in ${JSON.stringify(p)}`);
  if ((p.proto === "icmp" && fam !== 4) || (p.proto === "icmpv6" && fam !== 6)) {
    throw new Error(`reference: ${p.proto} over IPv${fam} in ${JSON.stringify(p)}`);
  }
  // To oneself, the packet goes out and back in on loopback: always accepted.
  if (p.from.host !== undefined && p.from.host === p.to.host) return true;
  return egressAccepts(decl, p) && ingressAccepts(decl, p);
}
