// Attachment: one host's firewall. create/update push the host's compiled
// ruleset atomically over SSH; read detects drift; delete removes the table.
// diff works from inputs alone, so `pulumi preview` never opens a connection.
// What may reach a host is decided in attachmentContent.ts, what state means
// in attachmentState.ts; nothing here forgets a table it applied: one it must
// still remove is kept as a pending removal until it is gone.
import { isDeepStrictEqual } from "node:util";
import type { HostError } from "../host/errors";
import type { RulesetRead } from "../otherFirewalls/report";
import { contentProblems, refuseUnfit } from "./attachmentContent";
import type { AttachmentProps, PendingRemoval } from "./attachmentContract";
import { realAttachmentEnv, type AttachmentEnv } from "./attachmentEnv";
import {
  APPLY_FIELDS, DRIFT_MARKER, contentChanged, LOCATION_FIELDS, NO_TABLE_HASH, attachedToNoGroup, attachmentId, bootExpectation, expand, expectedListing,
  newInstanceId, outputs, outputsOf, persistenceProblem, sameOnHost, sha256, type Expanded,
} from "./attachmentState";
import { alsoDeclaredProblem } from "./runRegistry";
import { containsUnknown, UNKNOWN } from "./unknown";
import { observedAfterApply, observedFromRead, promotionLines, promotionMessage, promotionOf } from "./attachmentObserve";
import { fromWire, sealed } from "./attachmentWire";

export type { AttachmentProps } from "./attachmentContract";
export type { AttachmentEnv } from "./attachmentEnv";
export { realAttachmentEnv } from "./attachmentEnv";

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

/** Records a declared Attachment in this run; the label of another one at the same host and table, if any. */
function declareInRun(env: AttachmentEnv, news: AttachmentProps): string | undefined {
  if ([news.address, news.port, news.table, news.fleet, news.hostName].includes(UNKNOWN as never)) return undefined;
  return env.run?.declare(news.fleet, news.hostName, news.address, news.port, news.table);
}

/**
 * The inputs a refresh records: the outputs, with only what a promotion needs
 * of the observations (their counters and flow lists stay in the outputs), so
 * the next preview's diff stays short.
 */
function inputsAfterRead(props: AttachmentProps): AttachmentProps {
  if (!props.observed) return props;
  const { counters: _c, drops: _d, newlyDenied: _n, ...kept } = props.observed;
  return { ...props, observed: kept };
}

/** The inputs with the promotion's cut shown (observe.promotion), when they promote what the old inputs observed. */
function withPromotion(olds: AttachmentProps, news: AttachmentProps): AttachmentProps {
  if (!olds?.observed || !news.observe || containsUnknown(news.observe) || containsUnknown(news.hash)) return news;
  const p = promotionOf(olds, news);
  if (!p || p.problems.length === 0) return news;
  return { ...news, observe: { ...news.observe, promotion: promotionLines(news.hostName, p) } };
}

/** Errors name the host and never carry secrets. */
function hostFailure(p: AttachmentProps, err: unknown): Error {
  const { redact, connectionSecrets } = lazy().redact;
  const message = err instanceof Error ? err.message : String(err);
  const named = message.includes(p.hostName) ? message : `host ${p.hostName} (${p.address}:${p.port}): ${message}`;
  return new Error(redact(named, connectionSecrets(p.connection)));
}

/**
 * A failure after which the engine must still record state: the error
 * carries the resource's id and properties (the dynamic provider sends them
 * as the engine's "initialization failure"), so a table that was applied and
 * confirmed, or that is still to be removed, is never lost from state.
 */
function failureWithState(message: string, outs: AttachmentProps, inputs: AttachmentProps): Error {
  const e = new Error(message) as Error & { id: string; properties: Record<string, unknown>; reasons: string[] };
  e.id = attachmentId(outs);
  e.properties = { ...outs, __provider: (inputs as unknown as Record<string, unknown>).__provider };
  e.reasons = [message];
  return e;
}

/** Keys recorded on first use (trust on first use): from now on they must match. */
interface KnownKeys {
  hostKey?: string;
  proxyHostKey?: string;
}

/** Outcome of bringing a host to its declared state. */
type Converged = { ok: true; outs: AttachmentProps } | { ok: false; error: Error; confirmedOuts?: AttachmentProps };

/**
 * Apply (or, for a host attached to no group, remove) and return the outputs.
 * A failure after the host confirmed the new ruleset (saving it for boot, the
 * connection) still returns the outputs of what is now on the host.
 */
async function converge(env: AttachmentEnv, p: Expanded, known: KnownKeys, instance: string, olds?: AttachmentProps): Promise<Converged> {
  const { others } = lazy();
  const host = env.host();
  const keys = { expectedHostKey: p.connection.hostKey ?? known.hostKey, expectedProxyHostKey: known.proxyHostKey };
  try {
    if (attachedToNoGroup(p)) {
      const r = await host.removeTable(p.connection, p.table, { owner: p.owner, takeover: p.takeover, instance, stackId: p.stackId, ...keys, displayName: p.hostName });
      for (const n of r.notes) await env.warn(`nftsg: host ${p.hostName}: ${n}`);
      return { ok: true, outs: outputsOf(p, { hostKey: r.hostKey, proxyHostKey: r.proxyHostKey, listingHash: NO_TABLE_HASH, instance, ...others.NO_REPORT }) };
    }
    // The host reads the table back and compares it before it is confirmed (host/apply.ts).
    // A jump host of other hosts of the fleet also proves, before it confirms, that it still reaches them.
    // The script's facts (failsafe port, local interfaces) go with it: the compiler's, or for old state derived by expand().
    const r = await host.applyAtomically(p.connection, p.table, p.script, {
      facts: p.facts, owner: p.owner, takeover: p.takeover, instance, stackId: p.stackId, rollbackSeconds: p.rollbackSeconds, ...keys, displayName: p.hostName, readRuleset: true,
      jumpTargets: jumpTargetsOf(p),
    });
    if (r.bootLoader === "none") {
      await env.warn(
        `nftsg: host ${p.hostName}: the ruleset is live, but nothing on this host loads it at boot (no systemd, and no enabled nftables ` +
          "init script loads its nftables configuration): after a reboot the host would come up without it; enable the distribution's nftables service. " +
          "`pulumi refresh` reports it as not persisted until then",
      );
    }
    for (const w of r.warnings ?? []) await env.warn(`nftsg: host ${p.hostName}: ${w}`);
    const report = await reportedOtherFirewalls(env, p, r.ruleset);
    // Observed hosts: the policy now applied, and since when (docs/observe.md).
    const observed = observedAfterApply(p, olds, r.appliedAtMs);
    return {
      ok: true,
      outs: outputsOf(p, { hostKey: r.hostKey, proxyHostKey: r.proxyHostKey, listingHash: sha256(expectedListing(p.script)), instance, ...report, ...(observed ? { observed } : {}) }),
    };
  } catch (err) {
    const error = hostFailure(p, err);
    const he = err as Partial<HostError>;
    if (!he.confirmed) return { ok: false, error };
    // The ruleset is live and stays: record it (the next refresh shows whether it is persisted).
    const observed = observedAfterApply(p, olds, undefined);
    const confirmedOuts = outputsOf(p, {
      hostKey: he.hostKey ?? keys.expectedHostKey, proxyHostKey: known.proxyHostKey, listingHash: sha256(expectedListing(p.script)), instance, ...(observed ? { observed } : {}),
    });
    return { ok: false, error, confirmedOuts };
  }
}

/** The hosts managed through this one, as its apply probes them (their form is checked before: refuseUnfit). */
function jumpTargetsOf(p: AttachmentProps): { name: string; host: string; port: number }[] {
  return (p.jumpTargets ?? []).map(({ name, host, port }) => ({ name, host, port }));
}

/** Removes each pending table; returns those that could not be removed, with why. */
async function removePending(env: AttachmentEnv, p: AttachmentProps, pending: readonly PendingRemoval[], outs: AttachmentProps): Promise<{ left: PendingRemoval[]; errors: string[] }> {
  const left: PendingRemoval[] = [];
  const errors: string[] = [];
  for (const r of pending) {
    const sameHost = r.address === p.address && r.port === p.port;
    // The same machine: its pinned or recorded key. Another machine (the one
    // the Attachment moved away from): the key recorded for it then.
    const { hostKey: pinned, ...credentials } = p.connection;
    const conn = sameHost ? p.connection : { ...credentials, host: r.address, port: r.port };
    try {
      const res = await env.host().removeTable(conn, r.table, {
        owner: r.owner, takeover: p.takeover, instance: r.instance, stackId: p.stackId,
        expectedHostKey: sameHost ? (pinned ?? outs.hostKey) : r.hostKey,
        displayName: p.hostName,
      });
      for (const n of res.notes) await env.warn(`nftsg: host ${p.hostName} (${r.address}): ${n}`);
    } catch (err) {
      left.push(r);
      errors.push(`table inet ${r.table} on ${r.address}:${r.port} (${r.why}) could not be removed: ${hostFailure({ ...p, address: r.address, port: r.port }, err).message}`);
    }
  }
  return { left, errors };
}

/** The tables an update leaves behind: the old table after a rename, the old machine after a move to another one. */
function leftBehind(olds: AttachmentProps, news: AttachmentProps, outs: AttachmentProps): PendingRemoval[] {
  const out: PendingRemoval[] = [...(olds.pendingRemovals ?? [])];
  if (bootExpectation(olds).noTable) return out;
  const moved = olds.address !== news.address || olds.port !== news.port;
  // The same machine answers with the key recorded for it; a key that changed
  // (a new pin) means the Attachment now firewalls another machine.
  const otherMachine = moved && olds.hostKey !== undefined && outs.hostKey !== undefined && olds.hostKey !== outs.hostKey;
  if (otherMachine) {
    out.push({ address: olds.address, port: olds.port, table: olds.table, owner: olds.owner, instance: olds.instance, hostKey: olds.hostKey, why: "the machine this Attachment was moved away from" });
  } else if (olds.table !== news.table) {
    out.push({ address: news.address, port: news.port, table: olds.table, owner: olds.owner, instance: olds.instance, why: `renamed to ${news.table}` });
  }
  return out;
}

export function attachmentHandlers(env: AttachmentEnv = realAttachmentEnv()) {
  return {
    async check(wireOlds: AttachmentProps, wireNews: AttachmentProps) {
      // The SDK's wire form (attachmentWire.ts) back to the flat inputs state holds (olds are state's: flat already).
      const olds = fromWire(wireOlds).flat;
      const { flat, secret } = fromWire(wireNews);
      let news = flat;
      const failures: { property: string; reason: string }[] = [...contentProblems(news)];
      // A promotion of what the last refresh observed here: its cut flows shown in the preview's diff (docs/observe.md).
      news = withPromotion(olds, news);
      const twin = declareInRun(env, news);
      if (twin !== undefined) {
        failures.push({
          property: "connection.host",
          reason: alsoDeclaredProblem(news.address, news.port, news.table, [twin]),
        });
      }
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
      return { inputs: sealed(news, secret), failures };
    },

    async diff(_id: string, olds: AttachmentProps, news: AttachmentProps) {
      const changed =
        contentChanged(olds, news) ||
        Boolean(olds.pendingRemovals?.length) ||
        [...APPLY_FIELDS, ...LOCATION_FIELDS].some((f) => news[f] === UNKNOWN || !isDeepStrictEqual(olds[f], news[f]));
      // Unchanged: the host already has what this Attachment declares.
      if (!changed) env.run?.confirm(news.address, news.port, news.table);
      // A promotion of what was observed here: preview shows the flows it would cut (docs/observe.md).
      const promotion = changed && !containsUnknown(news) ? promotionOf(olds, news) : undefined;
      if (promotion && promotion.problems.length > 0) await env.warn(`nftsg: ${promotionMessage(news.hostName, promotion, false)}`);
      return { changes: changed, replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs: AttachmentProps) {
      refuseUnfit(inputs);
      const r = await converge(env, expand(inputs), {}, newInstanceId());
      if (!r.ok) {
        // Confirmed and then failed: the table is on the host; state must know it.
        if (r.confirmedOuts) throw failureWithState(r.error.message, r.confirmedOuts, inputs);
        throw r.error;
      }
      env.run?.confirm(inputs.address, inputs.port, inputs.table);
      return { id: attachmentId(r.outs), outs: r.outs };
    },

    async update(_id: string, olds: AttachmentProps, news: AttachmentProps) {
      refuseUnfit(news);
      // A promotion that would cut observed flows (or rests on no observation) is refused unless acknowledged.
      const promotion = promotionOf(olds, news);
      if (promotion && promotion.problems.length > 0 && !promotion.acknowledged) throw new Error(promotionMessage(news.hostName, promotion, true));
      // Only bookkeeping changed (connection settings such as a rotated key or
      // dialErrorLimit, rollbackSeconds, takeover, readable lines) and the host
      // would receive a byte-identical script: record it, contact nobody.
      if (sameOnHost(olds, news)) {
        const expanded = expand(news);
        const listingHash = olds.listingHash ?? sha256(expectedListing(expanded.script));
        env.run?.confirm(news.address, news.port, news.table);
        return { outs: outputsOf(expanded, { hostKey: olds.hostKey, proxyHostKey: olds.proxyHostKey, listingHash, instance: olds.instance, ...(news.observe && olds.observed ? { observed: olds.observed } : {}) }) };
      }
      // Trust on first use: a key recorded earlier must match from now on.
      const r = await converge(env, expand(news), olds, olds.instance ?? newInstanceId(), olds);
      if (!r.ok) {
        if (r.confirmedOuts) {
          throw failureWithState(r.error.message, outputs({ ...r.confirmedOuts, pendingRemovals: leftBehind(olds, news, r.confirmedOuts) }), news);
        }
        throw r.error;
      }
      env.run?.confirm(news.address, news.port, news.table);
      // The new table is in place and confirmed: only now remove what the old state left elsewhere.
      const { left, errors } = await removePending(env, news, leftBehind(olds, news, r.outs), r.outs);
      const outs = outputs({ ...r.outs, pendingRemovals: left });
      if (errors.length > 0) {
        throw failureWithState(
          `host ${news.hostName}: table inet ${news.table} is applied, but ${errors.join("; ")}. ` +
            "It stays recorded in state, and every update and the delete of this Attachment retry it",
          outs,
          news,
        );
      }
      return { outs };
    },

    async read(id: string, props: AttachmentProps) {
      const { listing } = lazy();
      let live;
      try {
        live = await env.host().readLive(props.connection, props.table, {
          expectedHostKey: props.connection.hostKey ?? props.hostKey, expectedProxyHostKey: props.proxyHostKey, displayName: props.hostName,
          readRuleset: !bootExpectation(props).noTable,
        });
      } catch (err) {
        throw hostFailure(props, err);
      }
      props = { ...props, ...(await reportedOtherFirewalls(env, props, live.ruleset)) };
      // Observed hosts: the counters and recorded flows, compactly (docs/observe.md).
      if (props.observe && live.exists) {
        const prev = props.observed ?? { mode: props.observe.mode, policyHash: props.observe.policyHash, ...(props.observe.proposalHash ? { proposalHash: props.observe.proposalHash } : {}) };
        props = { ...props, observed: observedFromRead(props.hostName, live.listing, live.nowMs ?? Date.now(), live.bootTimeS, prev) };
      }
      const expected = props.listingHash ?? sha256(expectedListing(expand(props).script));
      const actual = live.exists ? listing.normaliseNftListing(live.listing) : "";
      const bootFacts = bootExpectation(props);
      const boot = live.pending
        ? "an apply was never confirmed: the host's rollback timer restores its previous ruleset"
        : bootFacts.noTable ? undefined : persistenceProblem(bootFacts.bootSha256, live);
      if (expected === sha256(actual) && boot === undefined) return { id, props, inputs: inputsAfterRead(props) };
      // Drift: record what is really there, so the next `up` sees a change
      // and restores the declared ruleset (and its boot loading). The
      // compiled script's facts go too: they are not the live listing's.
      const what = expected !== sha256(actual) ? (live.exists ? "" : ": the table is missing") : `: ${boot}`;
      const { scriptBrotli: _gz, facts: _facts, ...rest } = props;
      const drifted: AttachmentProps = {
        ...rest,
        listingHash: expected,
        script: live.exists ? `${DRIFT_MARKER}${what}\n${live.listing}` : `${DRIFT_MARKER}${what}\n`,
        rules: `${DRIFT_MARKER}${what}`,
        hash: sha256(live.listing),
      };
      return { id, props: drifted, inputs: inputsAfterRead(drifted) };
    },

    async delete(_id: string, props: AttachmentProps) {
      // A successor declared in this run that has not applied yet (its create
      // failed under --continue-on-error, or was skipped): removing the table
      // now would leave the host open. Delete failing means the resource (and
      // the table) stays, until a run in which the successor confirms.
      const successor = env.run?.unconfirmedSuccessor(props.hostName, props.address, props.port, props.table);
      if (successor !== undefined) {
        throw new Error(
          `host ${props.hostName} (${props.address}:${props.port}): table inet ${props.table} was not removed: ${successor} declares it again ` +
            "and has not applied it yet in this run; the host keeps its current ruleset, and this Attachment stays until the new one has applied",
        );
      }
      const own: PendingRemoval = { address: props.address, port: props.port, table: props.table, owner: props.owner, instance: props.instance, why: "this Attachment's table" };
      const { errors } = await removePending(env, props, [own, ...(props.pendingRemovals ?? [])], props);
      // Delete failing means the resource still exists: nothing it applied is forgotten.
      if (errors.length > 0) throw new Error(`host ${props.hostName}: ${errors.join("; ")}`);
    },
  };
}
