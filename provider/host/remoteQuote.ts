import type { RulesetFacts } from "../declaration/declaration";
import { INTERFACE_PATTERN } from "../vocabulary/containers";
import { OWNER_PATTERN } from "../vocabulary/names";
// Input validation and POSIX shell quoting for the programs nftsg runs on
// hosts. Every value that reaches a remote shell goes through shQuote, even
// the ones validated to be harmless, so one missed check cannot become a
// command injection as root.


/**
 * Table names safe in a shell, a file name and a unit name. Looser than the
 * compiler's TABLE_NAME_PATTERN on purpose: this layer guards the remote
 * programs, whoever calls them; the compiler decides which names a fleet uses.
 */
export const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;

/** Owner identities: the compiler's pattern, which the owner parser on the host relies on. */
export const OWNER_ID = OWNER_PATTERN;

export function assertTableName(table: string): void {
  if (!TABLE_NAME.test(table)) {
    throw new Error(`invalid nftables table name ${JSON.stringify(table)}: expected ${TABLE_NAME.source}`);
  }
}

export function assertOwner(owner: string): void {
  if (!OWNER_ID.test(owner)) {
    throw new Error(`invalid owner ${JSON.stringify(owner)}: expected ${OWNER_ID.source}`);
  }
}

/**
 * A script's facts (RulesetFacts) as the apply program takes them: a TCP
 * port if any, and interface names or patterns (they become shell
 * patterns). Anything else cannot be the compiler's.
 */
export function assertRulesetFacts(facts: RulesetFacts | undefined): void {
  if (typeof facts !== "object" || facts === null || !Array.isArray(facts.localInterfaces)) {
    throw new Error("the ruleset's facts (failsafe port, local interfaces) are missing");
  }
  const port = facts.failsafePort;
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    throw new Error(`the ruleset's failsafe port ${JSON.stringify(port)} is not a TCP port`);
  }
  for (const i of facts.localInterfaces) {
    if (typeof i !== "string" || !INTERFACE_PATTERN.test(i)) {
      throw new Error(`the ruleset's local interface pattern ${JSON.stringify(i)} is not a valid interface name or pattern`);
    }
  }
}

/** Single-quotes a string for POSIX sh: the only character to escape is `'`. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
