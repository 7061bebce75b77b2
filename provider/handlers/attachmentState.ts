// The Attachment's state, whatever format wrote it: the script at hand, the
// outputs an apply records, whether two states give the host the same thing,
// what the host must load at boot, and what drift looks like.
import { createHash, randomBytes } from "node:crypto";
import type { RulesetFacts } from "../declaration/declaration";
import type { AttachmentProps } from "./attachmentContract";
import { UNKNOWN } from "./unknown";

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** sha256 of the empty script: the compiler's explicit "no table" (a host attached to no group). */
export const NO_TABLE_HASH = sha256("");

export const DRIFT_MARKER = "# nftsg: the live table differs from what nftsg applied";

/** An Attachment with its script and the script's facts at hand, as the apply path needs them. */
export type Expanded = AttachmentProps & { script: string; facts: RulesetFacts };

/** Settings whose change means "apply again"; the ruleset itself is compared by hash (contentChanged). */
export const APPLY_FIELDS = ["owner", "takeover", "rollbackSeconds", "connection", "hostName", "fleet"] as const;
/**
 * Where the firewall is: how the host is reached and the table's name. A
 * change is an update, never a replacement: an update knows the host keys
 * recorded on first use (a replacement's create would not, and would trust
 * whatever key the address presents), so the same machine under a new
 * address (IPv4 -> IPv6, a DNS name, a port-forward) passes and another
 * machine is refused until its key is pinned. A new table name is applied
 * and confirmed first; only then is the old table removed (two nftsg tables
 * on one host only ever restrict).
 */
export const LOCATION_FIELDS = ["address", "port", "table"] as const;

/** A host attached to no group compiles to an empty script and keeps no table. */
export function attachedToNoGroup(p: Expanded): boolean {
  return p.script === "";
}

/**
 * The props with the script decoded (format 2 carries it compressed) and its
 * facts: the compiler's, as the inputs carry them; for state written before
 * the inputs carried facts, derived once from the script (legacyFacts.ts)
 * and recorded with the outputs of the operation.
 */
export function expand(p: AttachmentProps): Expanded {
  const script = p.script ?? (require("./scriptEncoding") as typeof import("./scriptEncoding")).decodeScript(p.scriptBrotli ?? "");
  const facts = p.facts ?? (require("./legacyFacts") as typeof import("./legacyFacts")).legacyFacts(script);
  return { ...p, script, facts };
}

/** What an apply records beside the inputs. */
export interface ApplyOutputs {
  hostKey: string | undefined;
  proxyHostKey: string | undefined;
  listingHash: string;
  instance: string | undefined;
  otherFirewalls?: string[];
  firewallWarnings?: string[];
  pendingRemovals?: AttachmentProps["pendingRemovals"];
  /** Observed hosts (docs/observe.md): what was applied, since when, and the last refresh's observations. */
  observed?: AttachmentProps["observed"];
}

/** Outputs: the inputs without the script (state keeps it once, in the inputs). */
export function outputsOf(p: Expanded, applied: ApplyOutputs): AttachmentProps {
  const { script: _script, scriptBrotli: _gz, ...rest } = p;
  // Format 1 state keeps its script in the outputs: nothing else holds it there.
  return outputs(p.format === undefined ? { ...p, ...applied } : { ...rest, ...applied });
}

/** Outputs without undefined values (or empty pending lists): the engine's property serialisation rejects undefined. */
export function outputs(p: AttachmentProps): AttachmentProps {
  return Object.fromEntries(
    Object.entries(p).filter(([k, v]) => v !== undefined && !(k === "pendingRemovals" && Array.isArray(v) && v.length === 0)),
  ) as unknown as AttachmentProps;
}

/** The table as it must list on the host, normalised; "" for no table. */
export function expectedListing(script: string): string {
  const listing = require("../nft/listing") as typeof import("../nft/listing");
  return script === "" ? "" : listing.normaliseNftListing(listing.tableDefinition(script));
}

/**
 * Whether the ruleset changed. The script is compared by its hash, so state
 * written in another format (older versions kept the script in plain text
 * and one rule line per peer address) reads as unchanged when the script is
 * byte-identical: an upgrade neither replaces nor re-pushes any host. The
 * readable lines are compared only within one format.
 */
export function contentChanged(olds: AttachmentProps, news: AttachmentProps): boolean {
  if ([news.hash, news.scriptBrotli, news.script, news.rules, news.format].includes(UNKNOWN)) return true;
  if (olds.hash !== news.hash) return true;
  return olds.format === news.format && olds.rules !== news.rules;
}

export function attachmentId(p: AttachmentProps): string {
  return `${p.hostName}@${p.address}:${p.port}/inet ${p.table}`;
}

/** Whether applying `news` would give the host exactly what `olds` gave it (olds not drifted, nothing left to remove). */
export function sameOnHost(olds: AttachmentProps, news: AttachmentProps): boolean {
  return (
    olds.hash === news.hash &&
    olds.table === news.table &&
    olds.owner === news.owner &&
    olds.address === news.address &&
    olds.port === news.port &&
    !(olds.pendingRemovals?.length) &&
    !String(olds.script ?? "").startsWith(DRIFT_MARKER) &&
    !String(olds.rules).startsWith(DRIFT_MARKER)
  );
}

/**
 * What the host must have loaded at boot, from state of either format: format
 * 1 (and a drift record) carries the script; format 2 outputs carry only its
 * hash, which is the boot file's (compiled scripts end with a newline).
 */
export function bootExpectation(p: AttachmentProps): { noTable: boolean; bootSha256: string } {
  if (p.script !== undefined) {
    const sent = p.script.endsWith("\n") || p.script === "" ? p.script : `${p.script}\n`;
    return { noTable: p.script === "", bootSha256: sha256(sent) };
  }
  return { noTable: p.hash === NO_TABLE_HASH, bootSha256: p.hash };
}

/** Why the host would not come up with this ruleset after a reboot, if it would not. */
export function persistenceProblem(expectedBootSha256: string, live: { persisted: boolean; bootSha256?: string; bootLoader?: string }): string | undefined {
  if (!live.persisted && live.bootLoader === "none") {
    return "the table is not loaded at boot: this host has no systemd and no enabled nftables init script that loads its nftables configuration (enable your distribution's nftables service)";
  }
  if (!live.persisted) return "the table is not loaded at boot (its /etc/nftsg file, boot unit or include line is missing or disabled)";
  if (live.bootSha256 !== undefined && live.bootSha256 !== expectedBootSha256) {
    return "the file loaded at boot differs from the applied ruleset";
  }
  return undefined;
}

export function newInstanceId(): string {
  return randomBytes(16).toString("hex");
}
