// Small hand-written nft scripts of the compiler's shape (add + delete + full
// table definition) for the apply-path lab tests, which must not depend on
// the compiler.
import type { RulesetFacts } from "../../provider/declaration/declaration";

export const TABLE = "nftsg";

/**
 * The facts of every script here, as the compiler would state them
 * (HostRuleset.facts): no failsafe rule, no local interfaces. The apply
 * takes a script's facts as given and never parses the script for them.
 */
export const SCRIPT_FACTS: RulesetFacts = { localInterfaces: [] };

function wrap(owner: string, body: string[]): string {
  return [
    `table inet ${TABLE} {}`,
    `delete table inet ${TABLE}`,
    `table inet ${TABLE} {`,
    `\tcomment "${owner}"`,
    ...body,
    "}",
    "",
  ].join("\n");
}

/** A normal ruleset: SSH allowed, one extra port, a named set. */
export function allowScript(owner: string, port: number, peers: string[] = ["198.18.0.0/15"]): string {
  return wrap(owner, [
    "\tset peers4 {",
    "\t\ttype ipv4_addr",
    "\t\tflags interval",
    `\t\telements = { ${peers.join(", ")} }`,
    "\t}",
    "",
    "\tchain input {",
    "\t\ttype filter hook input priority filter; policy drop;",
    "\t\tct state established,related accept",
    '\t\tiif "lo" accept',
    // Neighbour discovery, as every real ruleset keeps it: without it the
    // host's IPv6 address is reachable only while the peer's neighbour cache
    // still holds it (a race a busy machine loses).
    "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept",
    "\t\ttcp dport 22 accept",
    `\t\tip saddr @peers4 tcp dport ${port} accept`,
    "\t}",
  ]);
}

/** New SSH connections dropped, established ones kept (no failsafe). */
export function lockoutScript(owner: string): string {
  return wrap(owner, [
    "\tchain input {",
    "\t\ttype filter hook input priority filter; policy drop;",
    "\t\tct state established,related accept",
    '\t\tiif "lo" accept',
    "\t}",
  ]);
}

/** Everything dropped, the running SSH session included. */
export function dropAllScript(owner: string): string {
  return wrap(owner, ["\tchain input {", "\t\ttype filter hook input priority filter; policy drop;", "\t}"]);
}

/** Passes the parser but `nft -c` rejects it (a set that does not exist). */
export function rejectedScript(owner: string): string {
  return wrap(owner, [
    "\tchain input {",
    "\t\ttype filter hook input priority filter; policy accept;",
    "\t\ttcp dport 22 accept",
    "\t\tip saddr @nosuchset tcp dport 80 accept",
    "\t}",
  ]);
}

/** New SSH connections accepted only from `source` (e.g. the runner, not a jump host). */
export function sshOnlyFromScript(owner: string, source: string): string {
  return wrap(owner, [
    "\tchain input {",
    "\t\ttype filter hook input priority filter; policy drop;",
    "\t\tct state established,related accept",
    '\t\tiif "lo" accept',
    `\t\tip saddr ${source} tcp dport 22 accept`,
    "\t}",
  ]);
}
