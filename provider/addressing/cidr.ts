// IPv4/IPv6 address and prefix arithmetic for the compiler.
//
// Addresses are bigints (IPv4: 32 bits, IPv6: 128 bits). Everything here is
// pure and exact; no `net` module, no DNS. Two jobs:
//   1. parse user input strictly and explain what is wrong with it;
//   2. normalise peer lists into the canonical element list of an nftables
//      interval set: sorted, overlapping and adjacent ranges merged (we never
//      rely on nft's `auto-merge`), each printed the way nft 1.0.6 prints it
//      (`10.0.0.0/8`, `10.0.1.0-10.0.2.255`, `192.0.2.1`, IPv6 as glibc's
//      inet_ntop writes it), so the script reads back byte for byte.

export type { Family } from "../vocabulary/families";
import type { Family } from "../vocabulary/families";

export interface Address {
  family: Family;
  value: bigint;
}

/** A network prefix; host bits of `value` are zero. */
export interface Prefix {
  family: Family;
  value: bigint;
  length: number;
}

/** An inclusive range of addresses of one family. */
export interface Interval {
  lo: bigint;
  hi: bigint;
}

export const FAMILY_BITS: Record<Family, number> = { 4: 32, 6: 128 };

export function familyMax(family: Family): bigint {
  return (1n << BigInt(FAMILY_BITS[family])) - 1n;
}

const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Strict dotted quad; rejects leading zeros (ambiguous: octal in some tools). */
export function parseIPv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!IPV4_OCTET.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** RFC 4291 text forms, including `::` and a trailing dotted quad. No zone ids. */
export function parseIPv6(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(":");
  if (lastColon >= 0 && text.indexOf(".", lastColon) > lastColon) {
    tailV4 = parseIPv4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    // Keep the colon so "::1.2.3.4" -> "::" and "a::b:1.2.3.4" -> "a::b:".
    head = text.slice(0, lastColon + 1);
    if (head.endsWith("::")) {
      // fine: "::" followed by the IPv4 tail
    } else if (head.endsWith(":")) {
      head = head.slice(0, -1);
    }
  }
  const groupsWanted = tailV4 === undefined ? 8 : 6;
  const doubleColon = head.indexOf("::");
  if (doubleColon !== head.lastIndexOf("::")) return undefined;
  let groups: string[];
  if (doubleColon >= 0) {
    const left = head.slice(0, doubleColon);
    const right = head.slice(doubleColon + 2);
    const leftGroups = left === "" ? [] : left.split(":");
    const rightGroups = right === "" ? [] : right.split(":");
    const missing = groupsWanted - leftGroups.length - rightGroups.length;
    // "::" stands for at least one zero group.
    if (missing < 1) return undefined;
    groups = [...leftGroups, ...new Array<string>(missing).fill("0"), ...rightGroups];
  } else {
    groups = head === "" ? [] : head.split(":");
    if (groups.length !== groupsWanted) return undefined;
  }
  let value = 0n;
  for (const group of groups) {
    if (!HEX_GROUP.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  if (tailV4 !== undefined) value = (value << 32n) | tailV4;
  return value;
}

/** An IP literal of either family (no brackets, no zone, no prefix). */
export function parseAddress(text: string): Address | undefined {
  if (text.includes(":")) {
    const v = parseIPv6(text);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseIPv4(text);
  return v === undefined ? undefined : { family: 4, value: v };
}

export function formatIPv4(value: bigint): string {
  const n = Number(value);
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * IPv6 text exactly as glibc's inet_ntop() writes it, which is what nft prints:
 * the first longest run of two or more zero groups becomes "::", hex is lower
 * case without leading zeros, and ::a.b.c.d / ::ffff:a.b.c.d keep their
 * embedded IPv4 form (glibc, unlike BSD, does this only for those two).
 */
export function formatIPv6(value: bigint): string {
  const hex = value.toString(16).padStart(32, "0");
  const words: number[] = [];
  for (let i = 0; i < 32; i += 4) words.push(parseInt(hex.slice(i, i + 4), 16));
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += formatIPv4(value & 0xffffffffn);
      break;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ":";
  return out;
}

export function formatAddress(family: Family, value: bigint): string {
  return family === 4 ? formatIPv4(value) : formatIPv6(value);
}

export type PrefixParse =
  | { ok: true; prefix: Prefix }
  | { ok: false; message: string };

const PREFIX_LEN = /^(0|[1-9][0-9]{0,2})$/;

/**
 * Parse "10.0.0.0/8", "2001:db8::/32", or a bare address (= /32 or /128).
 * Host bits must be zero; the error message then suggests the network.
 */
export function parsePrefix(text: string): PrefixParse {
  if (text.trim() !== text || text === "") {
    return { ok: false, message: `CIDR ${JSON.stringify(text)} is empty or has surrounding spaces` };
  }
  if (text.includes("%")) {
    return { ok: false, message: `CIDR ${text} has a zone id (%...); zone ids are not allowed in firewall rules` };
  }
  const slash = text.indexOf("/");
  const addrText = slash >= 0 ? text.slice(0, slash) : text;
  const lenText = slash >= 0 ? text.slice(slash + 1) : undefined;
  const addr = parseAddress(addrText);
  if (!addr) {
    return { ok: false, message: `${JSON.stringify(addrText)} in CIDR ${text} is not a valid IPv4 or IPv6 address` };
  }
  const bits = FAMILY_BITS[addr.family];
  let length = bits;
  if (lenText !== undefined) {
    if (!PREFIX_LEN.test(lenText) || Number(lenText) > bits) {
      return {
        ok: false,
        message: `CIDR ${text} has an invalid prefix length ${JSON.stringify(lenText)}; IPv${addr.family} prefix lengths are 0-${bits}`,
      };
    }
    length = Number(lenText);
  }
  const hostMask = (1n << BigInt(bits - length)) - 1n;
  if ((addr.value & hostMask) !== 0n) {
    const network = addr.value & ~hostMask & familyMax(addr.family);
    return {
      ok: false,
      message: `CIDR ${text} has host bits set; use ${formatAddress(addr.family, network)}/${length}`,
    };
  }
  return { ok: true, prefix: { family: addr.family, value: addr.value, length } };
}

/** Canonical text of a prefix: nft style, so a single address has no "/32". */
export function formatPrefix(p: Prefix): string {
  const a = formatAddress(p.family, p.value);
  return p.length === FAMILY_BITS[p.family] ? a : `${a}/${p.length}`;
}

export function prefixToInterval(p: Prefix): Interval {
  const size = 1n << BigInt(FAMILY_BITS[p.family] - p.length);
  return { lo: p.value, hi: p.value + size - 1n };
}

export function addressToInterval(a: Address): Interval {
  return { lo: a.value, hi: a.value };
}

/**
 * Sort and merge: overlapping, covered and adjacent intervals become one.
 * Result is sorted, disjoint and never adjacent — the canonical form, and the
 * only form the kernel accepts in an interval set without auto-merge.
 */
export function mergeIntervals(input: readonly Interval[]): Interval[] {
  if (input.length === 0) return [];
  const sorted = [...input].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : a.hi < b.hi ? -1 : a.hi > b.hi ? 1 : 0));
  const out: Interval[] = [];
  let cur: Interval = { lo: sorted[0]!.lo, hi: sorted[0]!.hi };
  for (let i = 1; i < sorted.length; i++) {
    const next = sorted[i]!;
    if (next.lo <= cur.hi + 1n) {
      if (next.hi > cur.hi) cur.hi = next.hi;
    } else {
      out.push(cur);
      cur = { lo: next.lo, hi: next.hi };
    }
  }
  out.push(cur);
  return out;
}

/** If [lo, hi] is exactly one prefix, its length; otherwise undefined. */
export function intervalPrefixLength(family: Family, iv: Interval): number | undefined {
  const size = iv.hi - iv.lo + 1n;
  if ((size & (size - 1n)) !== 0n) return undefined;
  if ((iv.lo & (size - 1n)) !== 0n) return undefined;
  return FAMILY_BITS[family] - (size.toString(2).length - 1);
}

/** One interval-set element as nft 1.0.6 lists it. */
export function intervalToNftElement(family: Family, iv: Interval): string {
  if (iv.lo === iv.hi) return formatAddress(family, iv.lo);
  const len = intervalPrefixLength(family, iv);
  if (len !== undefined) return `${formatAddress(family, iv.lo)}/${len}`;
  return `${formatAddress(family, iv.lo)}-${formatAddress(family, iv.hi)}`;
}

/** The minimal list of prefixes covering exactly [lo, hi]. */
export function intervalToPrefixes(family: Family, iv: Interval): Prefix[] {
  const bits = FAMILY_BITS[family];
  const out: Prefix[] = [];
  let lo = iv.lo;
  while (lo <= iv.hi) {
    let hostBits = 0;
    while (
      hostBits < bits &&
      (lo & ((1n << BigInt(hostBits + 1)) - 1n)) === 0n &&
      lo + (1n << BigInt(hostBits + 1)) - 1n <= iv.hi
    ) {
      hostBits++;
    }
    out.push({ family, value: lo, length: bits - hostBits });
    lo += 1n << BigInt(hostBits);
  }
  return out;
}

export function intervalContains(list: readonly Interval[], value: bigint): boolean {
  // Binary search over a merged (sorted, disjoint) list.
  let a = 0;
  let b = list.length - 1;
  while (a <= b) {
    const m = (a + b) >> 1;
    const iv = list[m]!;
    if (value < iv.lo) b = m - 1;
    else if (value > iv.hi) a = m + 1;
    else return true;
  }
  return false;
}
