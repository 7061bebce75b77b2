// What names may look like: groups, hosts, tables and owners. Shared by
// validation (which explains a bad name) and by the compiler and the host
// side (which refuse one that got past it).

/** Security group names (docs/semantics.md#objects). */
export const GROUP_NAME_PATTERN = /^[a-z][a-z0-9-]{0,40}$/;

/**
 * Host names: 1-64 characters, letters, digits, ".", "_" and "-", starting
 * with a letter or digit. They appear in lines, comments, and as keys of the
 * compiled fleet (and so in Pulumi resource names), never inside nft syntax
 * other than a quoted comment.
 */
export const HOST_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Table names: a lower-case nft identifier of at most 32 characters that is
 * not an nft keyword (NFT_RESERVED_WORDS). We never quote the name, so it can
 * be used verbatim in `nft list table inet <name>`.
 */
export const TABLE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

/**
 * Owner identities recorded in a table's comment ("org/project/stack/host=x"):
 * characters that survive a round trip through an nft comment, a file and the
 * owner parser on the host. 1-128 characters.
 */
export const OWNER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/@:=+-]{0,127}$/;

/** The failsafe rule's comment in a compiled ruleset, and its name in explanations. */
export const FAILSAFE_LABEL = "failsafe ssh";
