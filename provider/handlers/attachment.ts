// Attachment: one host's firewall. create/update push the host's compiled
// ruleset atomically over SSH; read detects drift; delete removes the table.
// diff works from inputs alone, so `pulumi preview` never opens a connection.
import { createHash, randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { HostOps } from "../host/ops";
import type { RulesetRead } from "../otherFirewalls/report";
import type { AttachmentProps } from "./attachmentContract";
import { containsUnknown, UNKNOWN } from "./unknown";

export type { AttachmentProps } from "./attachmentContract";

/** What the handlers use of the world: the hosts, and the engine's log. */
export interface AttachmentEnv {
  /** The hosts (SSH by default; a fake in handler tests). */
  host(): HostOps;
  /** A warning shown by `pulumi up` / `refresh`. */
  warn(message: string): Promise<void>;
}

/** The real world: hosts over SSH, warnings to the engine. Loaded lazily. */
export function realAttachmentEnv(): AttachmentEnv {
  let ops: HostOps | undefined;
  return {
    host: () => (ops ??= (require("../host/ops") as typeof import("../host/ops")).sshHostOps()),
    warn: (message) => (require("./engineLog") as typeof import("./engineLog")).warn(message),
  };
}

/** An Attachment with its script at hand, as the apply path needs it. */
type Expanded = AttachmentProps & { script: string };

/** Settings whose change means "apply again"; the ruleset itself is compared by hash (contentChanged). */
const APPLY_FIELDS = ["owner", "takeover", "rollbackSeconds", "connection", "hostName", "fleet"] as const;
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
const LOCATION_FIELDS = ["address", "port", "table"] as const;

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

/** What an apply records beside the inputs. */
interface ApplyOutputs {
  hostKey: string | undefined;
  proxyHostKey: string | undefined;
  listingHash: string;
  instance: string | undefined;
  otherFirewalls?: string[];
  firewallWarnings?: string[];
}

/** Outputs: the inputs without the script (state keeps it once, in the inputs). */
function outputsOf(p: Expanded, applied: ApplyOutputs): AttachmentProps {
  const { script: _script, scriptBrotli: _gz, ...rest } = p;
  // Format 1 state keeps its script in the outputs: nothing else holds it there.
  return outputs(p.format === undefined ? { ...p, ...applied } : { ...rest, ...applied });
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
    listing: require("../nft/listing") as typeof import("../nft/listing"),
    redact: require("../host/redact") as typeof import("../host/redact"),
    others: require("../otherFirewalls/report") as typeof import("../otherFirewalls/report"),
  };
}

/**
 * The other-firewalls report of a host, its warnings sent to the engine so
 * that `pulumi up` / `pulumi refresh` show them.
 */
async function reportedOtherFirewalls(env: AttachmentEnv, p: AttachmentProps, read: RulesetRead | undefined) {
  const { others } = lazy();
  const report = others.reportOtherFirewalls(p.table, read, p.address);
  for (const w of report.firewallWarnings) await env.warn(`nftsg: host ${p.hostName}: ${w}`);
  return report;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * What makes inputs unfit to reach a host, as check failures: a declaration
 * whose verdict is not valid, content that is not a compiled ruleset (a
 * placeholder, a script that does not match its hash), or no script where
 * the compiler did not say "no table" (sha256 of the empty script).
 */
function contentProblems(news: AttachmentProps): { property: string; reason: string }[] {
  const { verdictProblems } = require("./verdict") as typeof import("./verdict");
  const out: { property: string; reason: string }[] = [];
  if (news.verdict !== undefined && news.verdict !== UNKNOWN) out.push(...verdictProblems(news.verdict));
  const { OWNER_PATTERN } = require("../vocabulary/names") as typeof import("../vocabulary/names");
  if (news.owner !== UNKNOWN && (typeof news.owner !== "string" || !OWNER_PATTERN.test(news.owner))) {
    out.push({ property: "owner", reason: `${JSON.stringify(news.owner)} is not an owner nftsg can record on the host (at most 128 characters of letters, digits and . _ / @ : = + -); shorten the host name` });
  }
  if ([news.hash, news.scriptBrotli, news.script].includes(UNKNOWN)) return out;
  if (typeof news.hash !== "string" || !SHA256_HEX.test(news.hash)) {
    out.push({ property: "hash", reason: `this host has no compiled ruleset (${JSON.stringify(news.rules)}): the declaration did not compile; nothing is applied` });
    return out;
  }
  const encoded = news.script === undefined;
  const script = encoded ? (news.scriptBrotli === undefined ? undefined : safeDecode(news.scriptBrotli)) : news.script;
  if (script === undefined) {
    out.push({ property: "scriptBrotli", reason: "the compiled ruleset is missing or cannot be decoded; nothing is applied" });
  } else if (sha256(script) !== news.hash) {
    out.push({
      property: encoded ? "scriptBrotli" : "script",
      reason: script === "" ? "no script, but the compiler did not mark this host as keeping no table; nothing is applied" : "the script does not match its hash; nothing is applied",
    });
  }
  return out;
}

function safeDecode(encoded: string): string | undefined {
  try {
    return (require("./scriptEncoding") as typeof import("./scriptEncoding")).decodeScript(encoded);
  } catch {
    return undefined;
  }
}

/**
 * The last line before a host is contacted: inputs that check would refuse,
 * or that still hold an unknown value, never reach it (the engine does not
 * normally hand either to create or update; if it ever does, fail closed).
 */
function refuseUnfit(news: AttachmentProps): void {
  const problems = contentProblems(news);
  if (containsUnknown(news)) problems.push({ property: "inputs", reason: "a value is still unknown" });
  if (problems.length === 0) return;
  const what = problems.map((p) => `${p.property}: ${p.reason}`).join("; ");
  throw new Error(`host ${news.hostName} (${news.address}:${news.port}): refused before contacting the host: ${what}`);
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
    olds.hash === news.hash &&
    olds.table === news.table &&
    olds.owner === news.owner &&
    olds.address === news.address &&
    olds.port === news.port &&
    !String(olds.script ?? "").startsWith(DRIFT_MARKER) &&
    !String(olds.rules).startsWith(DRIFT_MARKER)
  );
}

/**
 * What the host must have loaded at boot, from state of either format: format
 * 1 (and a drift record) carries the script; format 2 outputs carry only its
 * hash, which is the boot file's (compiled scripts end with a newline).
 */
function bootExpectation(p: AttachmentProps): { noTable: boolean; bootSha256: string } {
  if (p.script !== undefined) {
    const sent = p.script.endsWith("\n") || p.script === "" ? p.script : `${p.script}\n`;
    return { noTable: p.script === "", bootSha256: sha256(sent) };
  }
  return { noTable: p.hash === sha256(""), bootSha256: p.hash };
}

/** Why the host would not come up with this ruleset after a reboot, if it would not. */
function persistenceProblem(expectedBootSha256: string, live: { persisted: boolean; bootSha256?: string }): string | undefined {
  if (!live.persisted) return "the table is not loaded at boot (its /etc/nftsg file, boot unit or include line is missing or disabled)";
  if (live.bootSha256 !== undefined && live.bootSha256 !== expectedBootSha256) {
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

async function converge(env: AttachmentEnv, p: Expanded, known: KnownKeys, instance: string): Promise<AttachmentProps> {
  const { listing, others } = lazy();
  const apply = env.host();
  const keys = { expectedHostKey: p.connection.hostKey ?? known.hostKey, expectedProxyHostKey: known.proxyHostKey };
  try {
    if (attachedToNoGroup(p)) {
      const r = await apply.removeTable(p.connection, p.table, {
        owner: p.owner, takeover: p.takeover, instance, ...keys, displayName: p.hostName,
      });
      return outputsOf(p, { hostKey: r.hostKey, proxyHostKey: r.proxyHostKey, listingHash: sha256(""), instance, ...others.NO_REPORT });
    }
    const r = await apply.applyAtomically(p.connection, p.table, p.script, {
      owner: p.owner, takeover: p.takeover, instance, rollbackSeconds: p.rollbackSeconds, ...keys, displayName: p.hostName, readRuleset: true,
    });
    // Read back and compare with what was sent, through the tested normaliser.
    const sent = expectedListing(p.script);
    const live = listing.normaliseNftListing(r.listing);
    if (sent !== live) {
      throw new Error(`the table read back from the host differs from the script sent:\n${listing.describeDifference(sent, live)}`);
    }
    const report = await reportedOtherFirewalls(env, p, r.ruleset);
    return outputsOf(p, { hostKey: r.hostKey, proxyHostKey: r.proxyHostKey, listingHash: sha256(sent), instance, ...report });
  } catch (err) {
    throw hostFailure(p, err);
  }
}

/**
 * After a table rename: the new table is in place and confirmed; remove the
 * old one (under the same owner and instance). If that fails the host keeps
 * both tables, which only ever restricts, and the update fails loudly; the
 * next `up` retries.
 */
async function removeRenamedTable(env: AttachmentEnv, olds: AttachmentProps, news: AttachmentProps, outs: AttachmentProps): Promise<void> {
  const apply = env.host();
  try {
    await apply.removeTable(news.connection, olds.table, {
      owner: olds.owner, takeover: olds.takeover, instance: olds.instance,
      expectedHostKey: news.connection.hostKey ?? outs.hostKey, expectedProxyHostKey: outs.proxyHostKey, displayName: news.hostName,
    });
  } catch (err) {
    const e = hostFailure(news, err);
    throw new Error(`table inet ${news.table} is applied, but the old table inet ${olds.table} could not be removed (the host runs both, which only restricts): ${e.message}`);
  }
}

export function attachmentHandlers(env: AttachmentEnv = realAttachmentEnv()) {
  return {
    async check(_olds: AttachmentProps, news: AttachmentProps) {
      const failures: { property: string; reason: string }[] = [...contentProblems(news)];
      // `address` is the non-secret copy of connection.host; inside the secret
      // connection an unknown value is not visible as such during preview.
      const host = news.address;
      if (host !== UNKNOWN && (typeof host !== "string" || host.length === 0)) {
        failures.push({ property: "connection.host", reason: "the SSH host is required" });
      }
      const { TABLE_NAME_PATTERN } = require("../vocabulary/names") as typeof import("../vocabulary/names");
      if (news.table !== UNKNOWN && !TABLE_NAME_PATTERN.test(String(news.table))) {
        failures.push({ property: "table", reason: `"${news.table}" is not a valid nftables table name (letters, digits, _; max 32)` });
      }
      const rb = news.rollbackSeconds;
      const { MIN_ROLLBACK_SECONDS: min, MAX_ROLLBACK_SECONDS: max } = require("../vocabulary/defaults") as typeof import("../vocabulary/defaults");
      if (typeof rb === "number" && (!Number.isInteger(rb) || rb < min || rb > max)) {
        failures.push({ property: "rollbackSeconds", reason: `${rb} is out of range: use a whole number of seconds from ${min} to ${max}` });
      }
      return { inputs: news, failures };
    },

    async diff(_id: string, olds: AttachmentProps, news: AttachmentProps) {
      const changed =
        contentChanged(olds, news) ||
        [...APPLY_FIELDS, ...LOCATION_FIELDS].some((f) => news[f] === UNKNOWN || !isDeepStrictEqual(olds[f], news[f]));
      return { changes: changed, replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs: AttachmentProps) {
      refuseUnfit(inputs);
      const outs = await converge(env, expand(inputs), {}, newInstanceId());
      return { id: attachmentId(outs), outs };
    },

    async update(_id: string, olds: AttachmentProps, news: AttachmentProps) {
      refuseUnfit(news);
      // Only bookkeeping changed (connection settings such as a rotated key or
      // dialErrorLimit, rollbackSeconds, takeover, readable lines) and the host
      // would receive a byte-identical script: record it, contact nobody.
      if (sameOnHost(olds, news)) {
        const expanded = expand(news);
        const listingHash = olds.listingHash ?? sha256(expectedListing(expanded.script));
        return { outs: outputsOf(expanded, { hostKey: olds.hostKey, proxyHostKey: olds.proxyHostKey, listingHash, instance: olds.instance }) };
      }
      // Trust on first use: a key recorded earlier must match from now on.
      const outs = await converge(env, expand(news), olds, olds.instance ?? newInstanceId());
      if (olds.table !== news.table && !bootExpectation(olds).noTable) await removeRenamedTable(env, olds, news, outs);
      return { outs };
    },

    async read(id: string, props: AttachmentProps) {
      const { listing } = lazy();
      const apply = env.host();
      let live;
      try {
        live = await apply.readLive(props.connection, props.table, {
          expectedHostKey: props.connection.hostKey ?? props.hostKey, expectedProxyHostKey: props.proxyHostKey, displayName: props.hostName,
          readRuleset: !bootExpectation(props).noTable,
        });
      } catch (err) {
        throw hostFailure(props, err);
      }
      props = { ...props, ...(await reportedOtherFirewalls(env, props, live.ruleset)) };
      const expected = props.listingHash ?? sha256(expectedListing(expand(props).script));
      const actual = live.exists ? listing.normaliseNftListing(live.listing) : "";
      const bootFacts = bootExpectation(props);
      const boot = bootFacts.noTable ? undefined : persistenceProblem(bootFacts.bootSha256, live);
      if (expected === sha256(actual) && boot === undefined) return { id, props, inputs: props };
      // Drift: record what is really there, so the next `up` sees a change
      // and restores the declared ruleset (and its boot loading).
      const what = expected !== sha256(actual) ? (live.exists ? "" : ": the table is missing") : `: ${boot}`;
      const { scriptBrotli: _gz, ...rest } = props;
      const drifted: AttachmentProps = {
        ...rest,
        listingHash: expected,
        script: live.exists ? `${DRIFT_MARKER}${what}\n${live.listing}` : `${DRIFT_MARKER}${what}\n`,
        rules: `${DRIFT_MARKER}${what}`,
        hash: createHash("sha256").update(live.listing).digest("hex"),
      };
      return { id, props: drifted, inputs: drifted };
    },

    async delete(_id: string, props: AttachmentProps) {
      const apply = env.host();
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
