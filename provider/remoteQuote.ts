// Input validation and POSIX shell quoting for the programs nftsg runs on
// hosts. Every value that reaches a remote shell goes through shQuote, even
// the ones validated to be harmless, so one missed check cannot become a
// command injection as root.

/** nftables table names nftsg accepts (also safe in file and unit names). */
export const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;

/**
 * Stack identities ("org/project/stack"); the same pattern as the compiler's
 * OWNER_PATTERN. Restricted to characters that survive a round trip through
 * an nft comment and the owner parser on the host.
 */
export const OWNER_ID = /^[A-Za-z0-9][A-Za-z0-9._/@:=+-]{0,127}$/;

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

/** Single-quotes a string for POSIX sh: the only character to escape is `'`. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
