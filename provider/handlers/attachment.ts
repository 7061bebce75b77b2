// Attachment: one host's firewall. create/update push the host's compiled
// ruleset atomically over SSH; read detects drift; delete removes the table.
// diff works from inputs alone, so `pulumi preview` never opens a connection.
import { createHash } from "node:crypto";
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
  /** Input format (scriptEncoding.ts); absent in state written before format 2. */
  format?: number;
  rules: string;
  /** Format 2 input: the script, brotli + base64 (never echoed in outputs). */
  scriptBrotli?: string;
  /** Format 1 input, and the drift record written by read. */
  script?: string;
  hash: string;
  /** Output: the host key seen on first use (or pinned). */
  hostKey?: string;
  /** Output: sha256 of the table as it must list on the host ("" for no table); drift is checked against it. */
  listingHash?: string;
}

/** An Attachment with its script at hand, as the apply path needs it. */
type Expanded = AttachmentProps & { script: string };

/** Settings whose change means "apply again"; the ruleset itself is compared by hash (contentChanged). */
const APPLY_FIELDS = ["owner", "takeover", "rollbackSeconds", "connection", "hostName", "fleet"] as const;
/** Fields that point the resource at another firewall: replace. */
const REPLACE_FIELDS = ["address", "port", "table"] as const;

const DRIFT_MARKER = "# nftsg: the live table differs from what nftsg applied";

/** A host attached to no group compiles to an empty script and keeps no table. */
function attachedToNoGroup(p: Expanded): boolean {
  return p.script === "";
}

/** The props with the script decoded (format 2 carries it compressed). */
function expand(p: AttachmentProps): Expanded {
  if (p.script !== undefined) return p as Expanded;
  const { decodeScript } = require("./scriptEncoding") as typeof import("./scriptEncoding");
  return { ...p, script: decodeScript(p.scriptBrotli ?? "") };
}

/** Outputs: the inputs without the script (state keeps it once, in the inputs). */
function outputsOf(p: Expanded, hostKey: string, listingHash: string): AttachmentProps {
  const { script: _script, scriptBrotli: _gz, ...rest } = p;
  // Format 1 state keeps its script in the outputs: nothing else holds it there.
  return p.format === undefined ? { ...p, hostKey, listingHash } : { ...rest, hostKey, listingHash };
}

/** The table as it must list on the host, normalised; "" for no table. */
function expectedListing(script: string): string {
  const { listing } = lazy();
  return script === "" ? "" : listing.normaliseNftListing(listing.tableDefinition(script));
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Whether the ruleset changed. The script is compared by its hash, so state
 * written in another format (older versions kept the script in plain text
 * and one rule line per peer address) reads as unchanged when the script is
 * byte-identical: an upgrade neither replaces nor re-pushes any host. The
 * readable lines are compared only within one format.
 */
function contentChanged(olds: AttachmentProps, news: AttachmentProps): boolean {
  if ([news.hash, news.scriptBrotli, news.script, news.rules, news.format].includes(UNKNOWN)) return true;
  if (olds.hash !== news.hash) return true;
  return olds.format === news.format && olds.rules !== news.rules;
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

/**
 * TEST-ONLY: the lab tests of DESIGN §4's guarantees simulate a provider that
 * dies between apply and confirmation by setting this variable on the engine.
 */
function testFaultAfterApply(): "disconnect" | "kill-shell" | undefined {
  const v = process.env.NFTSG_TEST_FAULT_AFTER_APPLY;
  return v === "disconnect" || v === "kill-shell" ? v : undefined;
}

/** Apply (or, for a host attached to no group, remove) and return the outputs. */
async function converge(p: Expanded, expectedHostKey: string | undefined): Promise<AttachmentProps> {
  const { apply, listing } = lazy();
  try {
    if (attachedToNoGroup(p)) {
      const r = await apply.removeTable(p.connection, p.table, {
        owner: p.owner, takeover: p.takeover, expectedHostKey, displayName: p.hostName,
      });
      return outputsOf(p, r.hostKey, sha256(""));
    }
    const r = await apply.applyAtomically(p.connection, p.table, p.script, {
      owner: p.owner, takeover: p.takeover, rollbackSeconds: p.rollbackSeconds, expectedHostKey, displayName: p.hostName,
      faultAfterApply: testFaultAfterApply(),
    });
    // Read back and compare with what was sent, through the tested normaliser.
    const sent = expectedListing(p.script);
    const live = listing.normaliseNftListing(r.listing);
    if (sent !== live) {
      throw new Error(`the table read back from the host differs from the script sent:\n${listing.describeDifference(sent, live)}`);
    }
    return outputsOf(p, r.hostKey, sha256(sent));
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
      const changed = contentChanged(olds, news) || APPLY_FIELDS.some((f) => news[f] === UNKNOWN || !isDeepStrictEqual(olds[f], news[f]));
      // A new table name on the same host would run beside the old one until
      // the old is deleted (both tables must accept a packet): remove first.
      const sameHost = olds.address === news.address && olds.port === news.port;
      return {
        changes: changed || replaces.length > 0,
        replaces,
        deleteBeforeReplace: replaces.length > 0 && sameHost,
      };
    },

    async create(inputs: AttachmentProps) {
      const outs = await converge(expand(inputs), inputs.connection.hostKey);
      return { id: attachmentId(outs), outs };
    },

    async update(_id: string, olds: AttachmentProps, news: AttachmentProps) {
      // Trust on first use: a key recorded earlier must match from now on.
      const outs = await converge(expand(news), news.connection.hostKey ?? olds.hostKey);
      return { outs };
    },

    async read(id: string, props: AttachmentProps) {
      const { apply, listing } = lazy();
      let live;
      try {
        live = await apply.readLive(props.connection, props.table, {
          expectedHostKey: props.connection.hostKey ?? props.hostKey, displayName: props.hostName,
        });
      } catch (err) {
        throw hostFailure(props, err);
      }
      const expected = props.listingHash ?? sha256(expectedListing(expand(props).script));
      const actual = live.exists ? listing.normaliseNftListing(live.listing) : "";
      if (expected === sha256(actual)) return { id, props, inputs: props };
      // Drift: record what is really there, so the next `up` sees a change
      // and restores the declared ruleset.
      const { scriptBrotli: _gz, ...rest } = props;
      const drifted: AttachmentProps = {
        ...rest,
        listingHash: expected,
        script: live.exists ? `${DRIFT_MARKER}\n${live.listing}` : `${DRIFT_MARKER}: the table is missing\n`,
        rules: `${DRIFT_MARKER}${live.exists ? "" : ": the table is missing"}`,
        hash: createHash("sha256").update(live.listing).digest("hex"),
      };
      return { id, props: drifted, inputs: drifted };
    },

    async delete(_id: string, props: AttachmentProps) {
      const { apply } = lazy();
      try {
        await apply.removeTable(props.connection, props.table, {
          owner: props.owner, takeover: props.takeover, expectedHostKey: props.connection.hostKey ?? props.hostKey, displayName: props.hostName,
        });
      } catch (err) {
        // Delete failing means the resource still exists.
        throw hostFailure(props, err);
      }
    },
  };
}
