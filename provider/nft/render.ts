import { NFT_COMMENT_MAX_BYTES } from "../vocabulary/defaults";
// Text rendering in nft 1.0.6's own listing format, so that
// `nft list table inet <t>` after loading a script prints the script's table
// definition back byte for byte (verified in test/unit/golden.test.ts).


export type SetKeyType = "ipv4_addr" | "ipv6_addr" | "inet_service";

/**
 * nft wraps the elements of a named set after every N elements, N depending
 * on the key type (src/expression.c, calculate_delim): 2 for IPv4 addresses,
 * 5 for integers such as ports, 1 for everything else (IPv6).
 */
const ELEMENTS_PER_LINE: Record<SetKeyType, number> = {
  ipv4_addr: 2,
  inet_service: 5,
  ipv6_addr: 1,
};

const ELEMENT_NEWLINE = ",\n\t\t\t     ";

// Builders use arrays and one join(): the result is a flat string, which
// matters because these strings are copied into many hosts' scripts (a rope
// built with += would be re-walked on every copy).

export function renderElements(type: SetKeyType, elements: readonly string[]): string {
  const perLine = ELEMENTS_PER_LINE[type];
  const parts: string[] = ["{ "];
  for (let i = 0; i < elements.length; i++) {
    if (i > 0) parts.push(i % perLine === 0 ? ELEMENT_NEWLINE : ", ");
    parts.push(elements[i]!);
  }
  parts.push(" }");
  return parts.join("");
}

/** A named interval set, indented for a table body. Elements must be non-empty. */
export function renderSet(name: string, type: SetKeyType, elements: readonly string[]): string {
  return [
    "\tset ", name, " {\n",
    "\t\ttype ", type, "\n",
    "\t\tflags interval\n",
    "\t\telements = ", renderElements(type, elements), "\n",
    "\t}",
  ].join("");
}

const encoder = new TextEncoder();

/**
 * Make arbitrary text safe inside an nft quoted string: nft has no escapes,
 * so `"` becomes `'`, control characters become spaces, whitespace runs
 * collapse, and the result is cut to nft's 128-byte limit (on a character
 * boundary, marked with "...").
 */
const PLAIN_COMMENT = /^[\x21-\x7e](?:[\x21\x23-\x7e]| (?! ))*$/;

export function sanitiseComment(text: string): string {
  // Fast path: short printable ASCII without quotes or double spaces.
  if (text.length <= NFT_COMMENT_MAX_BYTES && PLAIN_COMMENT.test(text) && !text.endsWith(" ")) return text;
  let s = text.replace(/"/g, "'").replace(/[\u0000-\u001f\u007f]+/g, " ").replace(/\s+/g, " ").trim();
  if (encoder.encode(s).length <= NFT_COMMENT_MAX_BYTES) return s;
  // Every character is at least one byte, so only the first 128 can fit.
  const chars = Array.from(s).slice(0, NFT_COMMENT_MAX_BYTES);
  while (chars.length > 0 && encoder.encode(chars.join("") + "...").length > NFT_COMMENT_MAX_BYTES) chars.pop();
  s = chars.join("").trimEnd() + "...";
  return s;
}

export function quote(text: string): string {
  return `"${sanitiseComment(text)}"`;
}

/** A named counter, indented for a table body, as nft lists it (values seeded on the host, docs/observe.md). */
export function renderCounter(name: string): string {
  return ["\tcounter ", name, " {\n\t\tpackets 0 bytes 0\n\t}"].join("");
}

/** A duration in hours as nft prints it: "7d", "1d12h", "5h". */
export function nftHours(hours: number): string {
  const d = Math.floor(hours / 24);
  const h = hours % 24;
  return `${d > 0 ? `${d}d` : ""}${h > 0 || d === 0 ? `${h}h` : ""}`;
}

/**
 * A dynamic set of flows (docs/observe.md): address . protocol . port,
 * bounded, each element expiring `hours` after its last refresh, with a
 * packet and byte counter per element when `counter`. As nft lists it.
 */
export function renderFlowSet(name: string, addressExpr: "ip saddr" | "ip daddr" | "ip6 saddr" | "ip6 daddr", size: number, hours: number, counter: boolean): string {
  return [
    "\tset ", name, " {\n",
    "\t\ttypeof ", addressExpr, " . meta l4proto . th dport\n",
    "\t\tsize ", String(size), "\n",
    "\t\tflags dynamic,timeout\n",
    counter ? "\t\tcounter\n" : "",
    "\t\ttimeout ", nftHours(hours), "\n",
    "\t}",
  ].join("");
}
