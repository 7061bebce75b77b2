// Address ranges that can never be a peer seen by a host's firewall, or that
// would silently not match: loopback (traffic on lo is always accepted),
// the unspecified address, link-local (valid on one link only, with a zone),
// multicast (never a source), and IPv4-mapped IPv6 (a host never sees
// ::ffff:a.b.c.d on the wire; the IPv4 packet matches the IPv4 rule instead).
import { type Family, type Prefix, prefixToInterval } from "../../addressing/cidr";

export type SpecialKind = "loopback" | "unspecified" | "link-local" | "multicast" | "IPv4-mapped";

interface Range {
  family: Family;
  lo: bigint;
  hi: bigint;
  kind: SpecialKind;
  text: string;
  why: string;
}

function range(family: Family, lo: bigint, length: number, kind: SpecialKind, text: string, why: string): Range {
  const bits = family === 4 ? 32 : 128;
  return { family, lo, hi: lo + (1n << BigInt(bits - length)) - 1n, kind, text, why };
}

const V4 = (a: number, b: number, c: number, d: number) => BigInt(((a << 24) >>> 0) + (b << 16) + (c << 8) + d);

const RANGES: readonly Range[] = [
  range(4, V4(127, 0, 0, 0), 8, "loopback", "127.0.0.0/8", "loopback traffic never reaches the firewall's rules (lo is always accepted)"),
  range(6, 1n, 128, "loopback", "::1", "loopback traffic never reaches the firewall's rules (lo is always accepted)"),
  range(4, 0n, 32, "unspecified", "0.0.0.0", "the unspecified address is never a peer (did you mean 0.0.0.0/0, anywhere?)"),
  range(6, 0n, 128, "unspecified", "::", "the unspecified address is never a peer (did you mean ::/0, anywhere?)"),
  range(4, V4(169, 254, 0, 0), 16, "link-local", "169.254.0.0/16", "link-local addresses are valid on one link only and are not how other hosts reach this one"),
  range(6, 0xfe80n << 112n, 10, "link-local", "fe80::/10", "link-local addresses are valid on one link only and are not how other hosts reach this one"),
  range(4, V4(224, 0, 0, 0), 4, "multicast", "224.0.0.0/4", "multicast addresses are never the source of a packet nor a host's address"),
  range(6, 0xffn << 120n, 8, "multicast", "ff00::/8", "multicast addresses are never the source of a packet nor a host's address"),
  range(6, 0xffffn << 32n, 96, "IPv4-mapped", "::ffff:0:0/96", "IPv4-mapped IPv6 addresses never appear on the wire: write the IPv4 address or prefix itself"),
];

export interface SpecialRange {
  kind: SpecialKind;
  /** The special range, e.g. "fe80::/10". */
  range: string;
  why: string;
}

/** The special range the whole prefix lies in, if any (0.0.0.0/0 and ::/0 lie in none). */
export function specialRangeOf(p: Prefix): SpecialRange | undefined {
  const iv = prefixToInterval(p);
  const r = RANGES.find((x) => x.family === p.family && iv.lo >= x.lo && iv.hi <= x.hi);
  return r && { kind: r.kind, range: r.text, why: r.why };
}
