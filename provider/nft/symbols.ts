// Symbolic constants nft prints instead of numbers (from `nft describe` on
// nftables 1.0.6). The compiler emits the symbol whenever nft would list one,
// so a loaded script reads back identically; the listing normaliser maps both
// spellings back to numbers, so other nft versions (or a host without
// /etc/protocols, where `meta l4proto` prints numbers) still compare equal.

export const ICMP_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "echo-reply"],
  [3, "destination-unreachable"],
  [4, "source-quench"],
  [5, "redirect"],
  [8, "echo-request"],
  [9, "router-advertisement"],
  [10, "router-solicitation"],
  [11, "time-exceeded"],
  [12, "parameter-problem"],
  [13, "timestamp-request"],
  [14, "timestamp-reply"],
  [15, "info-request"],
  [16, "info-reply"],
  [17, "address-mask-request"],
  [18, "address-mask-reply"],
]);

/** nft prints `icmp code` with this table whatever the type is. */
export const ICMP_CODE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "net-unreachable"],
  [1, "host-unreachable"],
  [2, "prot-unreachable"],
  [3, "port-unreachable"],
  [4, "frag-needed"],
  [9, "net-prohibited"],
  [10, "host-prohibited"],
  [13, "admin-prohibited"],
]);

export const ICMPV6_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "destination-unreachable"],
  [2, "packet-too-big"],
  [3, "time-exceeded"],
  [4, "parameter-problem"],
  [128, "echo-request"],
  [129, "echo-reply"],
  [130, "mld-listener-query"],
  [131, "mld-listener-report"],
  [132, "mld-listener-done"],
  [133, "nd-router-solicit"],
  [134, "nd-router-advert"],
  [135, "nd-neighbor-solicit"],
  [136, "nd-neighbor-advert"],
  [137, "nd-redirect"],
  [138, "router-renumbering"],
  [141, "ind-neighbor-solicit"],
  [142, "ind-neighbor-advert"],
  [143, "mld2-listener-report"],
]);

export const ICMPV6_CODE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "no-route"],
  [1, "admin-prohibited"],
  [3, "addr-unreachable"],
  [4, "port-unreachable"],
  [5, "policy-fail"],
  [6, "reject-route"],
]);

/** Aliases nft accepts on input but never prints. */
const ICMPV6_TYPE_ALIASES: ReadonlyMap<string, number> = new Map([["mld-listener-reduction", 132]]);

/**
 * IP protocol names as nft prints them for `meta l4proto` (taken from
 * /etc/protocols on the host; a host without that file prints numbers).
 */
export const L4PROTO_NUMBERS: ReadonlyMap<string, number> = new Map([
  ["icmp", 1],
  ["igmp", 2],
  ["tcp", 6],
  ["udp", 17],
  ["dccp", 33],
  ["ipv6", 41],
  ["gre", 47],
  ["esp", 50],
  ["ah", 51],
  ["ipv6-icmp", 58],
  ["sctp", 132],
  ["udplite", 136],
]);

export function icmpTypeSymbol(v6: boolean, type: number): string {
  return (v6 ? ICMPV6_TYPE_NAMES : ICMP_TYPE_NAMES).get(type) ?? String(type);
}

export function icmpCodeSymbol(v6: boolean, code: number): string {
  return (v6 ? ICMPV6_CODE_NAMES : ICMP_CODE_NAMES).get(code) ?? String(code);
}

function invert(m: ReadonlyMap<number, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of m) out.set(v, k);
  return out;
}

/** Symbol -> number, per context, for the listing normaliser. */
export const SYMBOL_NUMBERS = {
  icmpType: invert(ICMP_TYPE_NAMES),
  icmpCode: invert(ICMP_CODE_NAMES),
  icmpv6Type: new Map([...invert(ICMPV6_TYPE_NAMES), ...ICMPV6_TYPE_ALIASES]),
  icmpv6Code: invert(ICMPV6_CODE_NAMES),
  l4proto: L4PROTO_NUMBERS,
} as const;
