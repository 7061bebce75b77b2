// Attachment: one host's firewall. create/update push the host's compiled
// ruleset atomically over SSH; read detects drift; delete removes the table.
// diff works from inputs alone, so `pulumi preview` never opens a connection.
import { createHash, randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { ConnectionDeclaration } from "../declaration/declaration";
import { UNKNOWN } from "./unknown";

export interface AttachmentProps {
  fleet: string;
  hostName: string;
  address: string;
  port: number;
  connection: ConnectionDeclaration;
  table: string;
  owner: string;
  takeover: boolean;
  rollbackSeconds: number;
  rules: string;
  script: string;
  hash: string;
  /** Output: the host key seen on first use (or pinned). */
  hostKey?: string;
  /** Output: the jump host's key seen on first use, "<host>:<port> <type> <base64>" (absent without a jump host). */
  proxyHostKey?: string;
  /**
   * Output: this resource instance's identity, recorded on the host with each
   * confirmed apply. A replacement (new address or port, renamed Fleet, host
   * moved between Fleets) is created before the old instance is deleted, under
   * the same owner; the old delete sees another instance's id and leaves the
   * table. Absent in state written by older versions.
   */
  instance?: string;
}

/** Fields whose change means "apply again"; the rest are bookkeeping. */
const APPLY_FIELDS = ["script", "hash", "owner", "takeover", "rollbackSeconds", "connection", "hostName", "fleet", "rules"] as const;
/** Fields that point the resource at another firewall: replace. */
const REPLACE_FIELDS = ["address", "port", "table"] as const;

const DRIFT_MARKER = "# nftsg: the live table differs from what nftsg applied";

/** A host attached to no group compiles to an empty script and keeps no table. */
function attachedToNoGroup(p: AttachmentProps): boolean {
  return p.script === "";
}

function attachmentId(p: AttachmentProps): string {
  return `${p.hostName}@${p.address}:${p.port}/inet ${p.table}`;
}

function lazy() {
  return {
    apply: require("../host/apply") as typeof import("../host/apply"),
    listing: require("../compiler/nftListing") as typeof import("../compiler/nftListing"),
    redact: require("../host/redact") as typeof import("../host/redact"),
  };
}

/** Errors name the host and never carry secrets. */
function hostFailure(p: AttachmentProps, err: unknown): Error {
  const { redact, connectionSecrets } = lazy().redact;
  const message = err instanceof Error ? err.message : String(err);
  const named = message.includes(p.hostName) ? message : `host ${p.hostName} (${p.address}:${p.port}): ${message}`;
  return new Error(redact(named, connectionSecrets(p.connection)));
}

/** Whether applying `news` would give the host exactly what `olds` gave it (olds not drifted). */
function sameOnHost(olds: AttachmentProps, news: AttachmentProps): boolean {
  return (
    olds.script === news.script &&
    olds.table === news.table &&
    olds.owner === news.owner &&
    olds.address === news.address &&
    olds.port === news.port &&
    !olds.script.startsWith(DRIFT_MARKER) &&
    !String(olds.rules).startsWith(DRIFT_MARKER)
  );
}

/** Why the host would not come up with this script after a reboot, if it would not. */
function persistenceProblem(script: string, live: { persisted: boolean; bootSha256?: string }): string | undefined {
  if (!live.persisted) return "the table is not loaded at boot (its /etc/nftsg file, boot unit or include line is missing or disabled)";
  const sent = script.endsWith("\n") ? script : `${script}\n`;
  if (live.bootSha256 !== undefined && live.bootSha256 !== createHash("sha256").update(sent).digest("hex")) {
    return "the file loaded at boot differs from the applied ruleset";
  }
  return undefined;
}

/** Outputs without undefined values: the engine's property serialisation rejects them. */
function outputs(p: AttachmentProps): AttachmentProps {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as unknown as AttachmentProps;
}

function newInstanceId(): string {
  return randomBytes(16).toString("hex");
}

/** Apply (or, for a host attached to no group, remove) and return the outputs. */
/** Keys recorded on first use (trust on first use): from now on they must match. */
interface KnownKeys {
  hostKey?: string;
  proxyHostKey?: string;
}

async function converge(p: AttachmentProps, known: KnownKeys, instance: string): Promise<AttachmentProps> {
  const { apply, listing } = lazy();
  const keys = { expectedHostKey: p.connection.hostKey ?? known.hostKey, expectedProxyHostKey: known.proxyHostKey };
  try {
    if (attachedToNoGroup(p)) {
      const r = await apply.removeTable(p.connection, p.table, {
        owner: p.owner, takeover: p.takeover, instance, ...keys, displayName: p.hostName,
      });
      return outputs({ ...p, hostKey: r.hostKey, proxyHostKey: r.proxyHostKey, instance });
    }
    const r = await apply.applyAtomically(p.connection, p.table, p.script, {
      owner: p.owner, takeover: p.takeover, instance, rollbackSeconds: p.rollbackSeconds, ...keys, displayName: p.hostName,
    });
    // Read back and compare with what was sent, through the tested normaliser.
    const sent = listing.normaliseNftListing(listing.tableDefinition(p.script));
    const live = listing.normaliseNftListing(r.listing);
    if (sent !== live) {
      throw new Error(`the table read back from the host differs from the script sent:\n${listing.describeDifference(sent, live)}`);
    }
    return outputs({ ...p, hostKey: r.hostKey, proxyHostKey: r.proxyHostKey, instance });
  } catch (err) {
    throw hostFailure(p, err);
  }
}

export function attachmentHandlers() {
  return {
    async check(_olds: AttachmentProps, news: AttachmentProps) {
      const failures: { property: string; reason: string }[] = [];
      // `address` is the non-secret copy of connection.host; inside the secret
      // connection an unknown value is not visible as such during preview.
      const host = news.address;
      if (host !== UNKNOWN && (typeof host !== "string" || host.length === 0)) {
        failures.push({ property: "connection.host", reason: "the SSH host is required" });
      }
      const { TABLE_NAME_PATTERN } = require("../compiler/nftNames") as typeof import("../compiler/nftNames");
      if (news.table !== UNKNOWN && !TABLE_NAME_PATTERN.test(String(news.table))) {
        failures.push({ property: "table", reason: `"${news.table}" is not a valid nftables table name (letters, digits, _; max 32)` });
      }
      const rb = news.rollbackSeconds;
      if (typeof rb === "number" && (!Number.isInteger(rb) || rb < 5 || rb > 3600)) {
        failures.push({ property: "rollbackSeconds", reason: `${rb} is out of range: use a whole number of seconds from 5 to 3600` });
      }
      return { inputs: news, failures };
    },

    async diff(_id: string, olds: AttachmentProps, news: AttachmentProps) {
      const replaces = REPLACE_FIELDS.filter((f) => news[f] === UNKNOWN || olds[f] !== news[f]);
      const changed = APPLY_FIELDS.some((f) => news[f] === UNKNOWN || !isDeepStrictEqual(olds[f], news[f]));
      // Always create the replacement first: a new table name on the same
      // host runs beside the old one until the old is deleted, and two
      // tables only ever restrict (a packet must pass both); deleting first
      // would leave the host open if the create then failed.
      return { changes: changed || replaces.length > 0, replaces, deleteBeforeReplace: false };
    },

    async create(inputs: AttachmentProps) {
      const outs = await converge(inputs, {}, newInstanceId());
      return { id: attachmentId(outs), outs };
    },

    async update(_id: string, olds: AttachmentProps, news: AttachmentProps) {
      // Only bookkeeping changed (connection settings such as a rotated key or
      // dialErrorLimit, rollbackSeconds, takeover, readable lines) and the host
      // would receive a byte-identical script: record it, contact nobody.
      if (sameOnHost(olds, news)) {
        return { outs: outputs({ ...news, hostKey: olds.hostKey, proxyHostKey: olds.proxyHostKey, instance: olds.instance }) };
      }
      // Trust on first use: a key recorded earlier must match from now on.
      const outs = await converge(news, olds, olds.instance ?? newInstanceId());
      return { outs };
    },

    async read(id: string, props: AttachmentProps) {
      const { apply, listing } = lazy();
      let live;
      try {
        live = await apply.readLive(props.connection, props.table, {
          expectedHostKey: props.connection.hostKey ?? props.hostKey, expectedProxyHostKey: props.proxyHostKey, displayName: props.hostName,
        });
      } catch (err) {
        throw hostFailure(props, err);
      }
      const expected = attachedToNoGroup(props) ? "" : listing.normaliseNftListing(listing.tableDefinition(props.script));
      const actual = live.exists ? listing.normaliseNftListing(live.listing) : "";
      const boot = attachedToNoGroup(props) ? undefined : persistenceProblem(props.script, live);
      if (expected === actual && boot === undefined) return { id, props, inputs: props };
      // Drift: record what is really there, so the next `up` sees a change
      // and restores the declared ruleset (and its boot loading).
      const what = expected !== actual ? (live.exists ? "" : ": the table is missing") : `: ${boot}`;
      const drifted: AttachmentProps = {
        ...props,
        script: live.exists ? `${DRIFT_MARKER}${what}\n${live.listing}` : `${DRIFT_MARKER}${what}\n`,
        rules: `${DRIFT_MARKER}${what}`,
        hash: createHash("sha256").update(live.listing).digest("hex"),
      };
      return { id, props: drifted, inputs: drifted };
    },

    async delete(_id: string, props: AttachmentProps) {
      const { apply } = lazy();
      try {
        await apply.removeTable(props.connection, props.table, {
          owner: props.owner, takeover: props.takeover, instance: props.instance,
          expectedHostKey: props.connection.hostKey ?? props.hostKey, expectedProxyHostKey: props.proxyHostKey, displayName: props.hostName,
        });
      } catch (err) {
        // Delete failing means the resource still exists.
        throw hostFailure(props, err);
      }
    },
  };
}
