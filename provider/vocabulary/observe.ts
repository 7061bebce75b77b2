// Observe before enforce (docs/observe.md): the words and limits shared by
// validation, the compiler, the host side, the handlers and the report.

/**
 * How a host runs its declared policy:
 * - "enforce": as always, and every rule's hits and every drop are counted,
 *   the dropped flows recorded;
 * - "staged": the same compiled rules, but every drop becomes an accept that
 *   is counted and recorded (a would-drop). Nothing is dropped.
 * A host whose fleet and host declare no `observe` runs the plain ruleset of
 * before (no counters, nothing recorded): byte-identical scripts, so an
 * upgrade re-pushes no host.
 */
export const OBSERVE_MODES = ["enforce", "staged"] as const;
export type ObserveMode = (typeof OBSERVE_MODES)[number];

/**
 * Distinct flows recorded per direction and address family (one dynamic set
 * each). At the bound, flows already recorded keep counting, a new flow is
 * not recorded and its packets are counted in the direction's `unrecorded`
 * counter (the report shows it; a promotion guard treats it as incomplete).
 */
export const DEFAULT_MAX_FLOWS = 4096;
export const MIN_MAX_FLOWS = 16;
export const MAX_MAX_FLOWS = 65536;

/** How long a recorded flow is kept after its last packet (the sets' timeout). */
export const DEFAULT_RETENTION_HOURS = 168;
export const MIN_RETENTION_HOURS = 1;
export const MAX_RETENTION_HOURS = 720;

/** Drop logging (optional): at most this many lines per minute per direction by default. */
export const DEFAULT_LOG_PER_MINUTE = 10;
export const MAX_LOG_PER_MINUTE = 10_000;

/**
 * At most this many observed flows per host are kept in an Attachment's
 * `observed` output (the busiest first); the rest are counted. The promotion
 * guard and its digest use all of them.
 */
export const MAX_FLOWS_IN_STATE = 200;

/** Acknowledgements of observed drops (`observe.acknowledge`): the digest the refusal names. */
export const ACKNOWLEDGE_PATTERN = /^[0-9a-f]{12}$/;
