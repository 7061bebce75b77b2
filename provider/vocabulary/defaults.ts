// Defaults and limits: each declared once, used by validation, the compiler,
// the handlers and the host side alike.

/** The nftables table nftsg owns on each host (family inet). */
export const DEFAULT_TABLE = "nftsg";
/** The SSH port when a connection names none: the failsafe's port too. */
export const DEFAULT_SSH_PORT = 22;
/** Seconds after which a host restores its previous ruleset unless the apply was confirmed. */
export const DEFAULT_ROLLBACK_SECONDS = 30;
/**
 * rollbackSeconds bounds. The lockout probe gets at most half of it, so
 * below 5 s a login on a busy host may not complete before the timer fires.
 */
export const MIN_ROLLBACK_SECONDS = 5;
export const MAX_ROLLBACK_SECONDS = 3600;
/** Descriptions of groups and rules. */
export const MAX_DESCRIPTION = 256;
/** nft limits comments (rule, set, table) to 128 bytes. */
export const NFT_COMMENT_MAX_BYTES = 128;
