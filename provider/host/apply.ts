// The host side of the apply path: atomic, commit-confirmed apply; read of
// the live table; removal. Pure library: no Pulumi in here. One SSH
// connection per operation; see docs/apply.md for the protocol.
import type { ConnectionDeclaration, RulesetFacts } from "../declaration/declaration";
import { HostError, hostLabel, type HostErrorKind } from "./errors";
import { connectionSecrets } from "./redact";
import { parseRemoteOutput, type RemoteOutput } from "./remoteOutput";
import { assertOwner, assertRulesetFacts, assertTableName } from "./remoteQuote";
import { RemoteRun, type RunEnd } from "./remoteRun";
import { applyProgram, newNonce, readProgram, remoteCommand, removeProgram } from "./remoteScript";
import { DEFAULT_ROLLBACK_SECONDS, DEFAULT_SSH_PORT, MAX_ROLLBACK_SECONDS, MIN_ROLLBACK_SECONDS } from "../vocabulary/defaults";
import { assertScriptScope, ownerInScript } from "./remoteScriptScope";
import { openSession, sleep, type SshSession } from "./ssh";
import { tryReadRuleset, type RulesetRead } from "./rulesetJson";
import { describeDifference, normaliseNftListing, tableDefinition } from "../nft/listing";

export { HostError } from "./errors";
export type { HostErrorKind } from "./errors";

export interface ApplyOptions {
  /**
   * What the host side must know of the script, as the compiler decided it
   * (HostRuleset.facts): the failsafe's port (something must listen on it)
   * and the local interface patterns (none may match the management path or
   * an uplink). Taken as given: the script is never parsed for them.
   */
  facts: RulesetFacts;
  /** Seconds after which the host restores its previous ruleset unless the apply was confirmed (default 30). */
  rollbackSeconds?: number;
  /** Take over a table owned by another stack, or one nftsg did not create. */
  takeover?: boolean;
  /** The owning stack, e.g. "org/project/stack". */
  owner: string;
  /** The resource instance applying (recorded on the host; see removeTable). */
  instance?: string;
  /** The stack's own identity (recorded on the host): another stack of the same name is refused. */
  stackId?: string;
  /** The key recorded on first use; connection.hostKey (pinned) takes precedence. */
  expectedHostKey?: string;
  /** The jump host's key recorded on first use (ApplyResult.proxyHostKey); connection.proxy.hostKey takes precedence. */
  expectedProxyHostKey?: string;
  /**
   * Time budget for proving that a new connection to the SSH port still
   * works after the apply (two tries). Default: min(6 s, rollbackSeconds / 2).
   */
  confirmTimeoutMs?: number;
  /** Host name for messages, e.g. "db-1". */
  displayName?: string;
  /** Also read the host's whole ruleset (`nft -j`) for the report of other firewalls. */
  readRuleset?: boolean;
  /**
   * Hosts the provider reaches through this one (this host is their jump
   * host). Before CONFIRM the apply also proves, for each that this host
   * could reach before the change, that a new TCP connection from this host
   * to it still gets an SSH banner; otherwise the host is rolled back (kind
   * `lockout`). Targets it could not reach before are reported in
   * `warnings`, not required.
   */
  jumpTargets?: readonly JumpTarget[];
}

/** A host managed through the host being applied (its jump host). */
export interface JumpTarget {
  /** Its name in the fleet, for messages. */
  name?: string;
  /** Where the jump host dials it: the target's connection.host and port (default 22). */
  host: string;
  port?: number;
}

export interface ApplyResult {
  /** The host key as seen, "ssh-ed25519 AAAA..." (record it: trust on first use). */
  hostKey: string;
  /** The jump host's key as seen, "<host>:<port> ssh-ed25519 AAAA..." (record it too), if there is a jump host. */
  proxyHostKey?: string;
  /** `nft list table inet T` after the apply. */
  listing: string;
  /** Connections opened to the host: the SSH connection plus the fresh-connection probe(s). */
  connections: number;
  /** Request/response exchanges: the program up to "applied", then CONFIRM up to exit. */
  roundTrips: number;
  /** With readRuleset: the host's ruleset as JSON, after the apply. */
  ruleset?: RulesetRead;
  /** What loads the saved ruleset at boot (see LiveState.bootLoader). */
  bootLoader?: "systemd" | "init" | "none";
  /** What the caller should show: jump targets this host could not reach before the change (their path is unproven). */
  warnings?: string[];
  /** The host's clock (ms since the epoch) right after the transaction (docs/observe.md: observations count from it). */
  appliedAtMs?: number;
}

export interface LiveState {
  hostKey: string;
  proxyHostKey?: string;
  exists: boolean;
  /** "" if the table is absent. */
  listing: string;
  owner?: string;
  /** The resource instance that last confirmed an apply of the table, if recorded. */
  instance?: string;
  /** The table's file exists in /etc/nftsg and is loaded at boot. */
  persisted: boolean;
  /** sha256 (hex) of /etc/nftsg/<table>.nft, the file boot loads; undefined if absent (or no sha256sum). */
  bootSha256?: string;
  /** With readRuleset: the host's ruleset as JSON. */
  ruleset?: RulesetRead;
  /** An apply was never confirmed and its rollback is still armed: what is live now will be rolled back. */
  pending?: boolean;
  /** What loads tables at boot here: systemd (nftsg's unit), an init script that loads the include file, or nothing. */
  bootLoader?: "systemd" | "init" | "none";
  /** The host's clock (ms since the epoch) when the table was read: recorded flows' times are relative to it. */
  nowMs?: number;
  /** The host's boot time (s since the epoch): an observed table loaded at boot counts since then. */
  bootTimeS?: number;
}

const MAX_CONFIRM_MS = 6_000;

export async function applyAtomically(
  conn: ConnectionDeclaration,
  table: string,
  script: string,
  opts: ApplyOptions,
): Promise<ApplyResult> {
  const label = hostLabel(conn.host, conn.port, opts.displayName);
  const secrets = connectionSecrets(conn);
  const early = (kind: HostErrorKind, msg: string) => new HostError(conn.host, kind, msg, { label, secrets });
  const rollbackSeconds = opts.rollbackSeconds ?? DEFAULT_ROLLBACK_SECONDS;
  try {
    assertTableName(table);
    assertOwner(opts.owner);
    assertInstance(opts.instance);
    assertInstance(opts.stackId);
    assertScriptScope(script, table);
    assertRulesetFacts(opts.facts);
    if (!(rollbackSeconds >= MIN_ROLLBACK_SECONDS && rollbackSeconds <= MAX_ROLLBACK_SECONDS)) {
      throw new Error(`rollbackSeconds must be between ${MIN_ROLLBACK_SECONDS} and ${MAX_ROLLBACK_SECONDS}`);
    }
  } catch (e) {
    throw early("check", (e as Error).message);
  }
  // A check of the script, not a fact taken from it: the owner the host
  // records is opts.owner; the table's comment must not name another.
  const scriptOwner = ownerInScript(script);
  if (scriptOwner !== undefined && scriptOwner !== opts.owner) {
    throw early("owner", `the ruleset's table comment names owner ${scriptOwner}, but this apply is for ${opts.owner}`);
  }
  // The probe must finish well before the timer fires, or it would race it.
  const confirmBudget = (loginMs: number) =>
    // A login takes what it takes here and now: on a busy host (or provider)
    // a fixed budget would call a slow login a lockout. At least 6 s, four
    // times this session's own login, and always within half the rollback.
    Math.min(opts.confirmTimeoutMs ?? Math.max(MAX_CONFIRM_MS, 4 * loginMs), (rollbackSeconds * 1000) / 2);

  const session = await openSession(conn, {
    expectedHostKey: opts.expectedHostKey, expectedProxyHostKey: opts.expectedProxyHostKey, displayName: opts.displayName,
  });
  const confirmMs = confirmBudget(session.loginMs);
  try {
    // The hosts managed through this one that it reaches now, under its
    // current ruleset: the new one must not cut them (proven before CONFIRM).
    const { reachable: jumpTargets, warnings } = await reachableJumpTargets(session, opts.jumpTargets ?? [], confirmMs);
    const nonce = newNonce();
    const lockWaitSeconds = rollbackSeconds + 60;
    const program = applyProgram({ table, owner: opts.owner, takeover: opts.takeover, instance: opts.instance, stackId: opts.stackId, failsafePort: opts.facts.failsafePort, localInterfaces: opts.facts.localInterfaces, script, rollbackSeconds, lockWaitSeconds, nonce });
    const run = new RemoteRun(await session.exec(remoteCommand(conn.sudo)), nonce);
    let roundTrips = 1;

    await run.write(program);
    // Up to "applied": lock wait + checks + the transaction itself.
    const applied = await run.waitForEvent("applied", (lockWaitSeconds + 60) * 1000);
    if (!applied) {
      if (!run.end) session.destroy();
      throw failure(session, run, nonce, table, opts, "before");
    }
    const listing = parseRemoteOutput(run.stdout, nonce).listing;
    // The host must run exactly what was sent before it is confirmed: a table
    // that reads back differently is rolled back, never made permanent.
    const expected = normaliseNftListing(tableDefinition(script));
    const live = normaliseNftListing(listing);
    if (live !== expected) {
      const how = await rollBack(run, nonce, rollbackSeconds);
      throw session.error("verify", `the table read back from the host differs from the ruleset sent, so it was not confirmed; ${how}:\n${describeDifference(expected, live)}`);
    }
    // Read-only, on its own channel, while the confirmation runs (never rejects).
    const rulesetRead = opts.readRuleset ? tryReadRuleset(session, conn.sudo) : undefined;

    // A new login to this host, and a new connection from it to each host
    // managed through it, side by side within the same budget.
    const [probe, cut] = await Promise.all([session.probeFreshConnection(confirmMs), cutJumpTargets(session, jumpTargets, confirmMs)]);
    // The connection or the remote shell went away meanwhile: not a lockout verdict.
    if (run.end) throw failure(session, run, nonce, table, opts, "before");
    if (!probe.ok) {
      const how = await rollBack(run, nonce, rollbackSeconds);
      const port = conn.port ?? DEFAULT_SSH_PORT;
      throw session.error(
        "lockout",
        `applying this ruleset would have cut SSH access to ${conn.host}:${port} (a new SSH login, key exchange and authentication, failed: ${probe.reason}); ${how}. ` +
          "Allow the management SSH port (keep the failsafe on, or add a rule) and try again.",
      );
    }
    if (cut.length > 0) {
      const how = await rollBack(run, nonce, rollbackSeconds);
      const which = cut.map(({ target }) => jumpTargetLabel(target)).join(", ");
      const reasons = cut.map(({ reason }) => reason).join("; ");
      const names = cut.map(({ target }) => target.name ?? target.host).join(", ");
      const one = cut.length === 1;
      throw session.error(
        "lockout",
        `applying this ruleset would have cut the management path from this host (their jump host) to ${which}, which nftsg reaches only through this host ` +
          `(a new TCP connection from this host, through a new forwardOut, failed: ${reasons}); ${how}. ` +
          `Allow it in this host's egress (tcp to ${names} on ${one ? "its" : "their"} SSH port) and in the ingress of ${names} ` +
          "(the SSH failsafe covers it unless failsafe.cidrs narrows it), and try again.",
      );
    }

    roundTrips++;
    await run.write("CONFIRM\n");
    run.endInput();
    if (!(await run.waitClosed(120_000))) session.destroy();
    const out = parseRemoteOutput(run.stdout, nonce);
    if (!out.events.includes("confirmed")) throw failure(session, run, nonce, table, opts, "after");
    const ruleset = await rulesetRead;
    const bootLoader = out.values.boot_loader as ApplyResult["bootLoader"];
    const appliedAtMs = numberValue(out.values.applied_at);
    // Notes of the transaction (counters that could not be carried over: docs/observe.md).
    warnings.push(...out.notes);
    return {
      hostKey: session.hostKey, proxyHostKey: session.proxyHostKey, listing, connections: session.connections, roundTrips,
      ...(ruleset ? { ruleset } : {}), ...(bootLoader ? { bootLoader } : {}), ...(warnings.length > 0 ? { warnings } : {}),
      ...(appliedAtMs !== undefined ? { appliedAtMs } : {}),
    };
  } finally {
    session.close();
  }
}

/** Sends ROLLBACK and waits for the host; says what the host now runs. */
async function rollBack(run: RemoteRun, nonce: string, rollbackSeconds: number): Promise<string> {
  await run.write("ROLLBACK\n");
  run.endInput();
  const end = await run.waitClosed((rollbackSeconds + 15) * 1000);
  if (parseRemoteOutput(run.stdout, nonce).events.includes("rolled-back")) return "the host was rolled back to its previous ruleset";
  return end ? "the host's rollback timer restored its previous ruleset" : `the host's rollback timer restores its previous ruleset within ${rollbackSeconds} s`;
}

function jumpTargetLabel(t: JumpTarget): string {
  const where = `${t.host}:${t.port ?? DEFAULT_SSH_PORT}`;
  return t.name ? `${t.name} (${where})` : where;
}

/**
 * Banner probes of every target at once (all within one budget, which must
 * end before the rollback timer: in waves they would not). Each is one
 * direct-tcpip channel on the running connection; sshd dials them without
 * blocking.
 */
async function probeJumpTargets(session: SshSession, targets: readonly JumpTarget[], ms: number): Promise<{ target: JumpTarget; ok: boolean; reason: string }[]> {
  return Promise.all(
    targets.map(async (target) => {
      const r = await session.probeForwardedBanner(target.host, target.port ?? DEFAULT_SSH_PORT, ms);
      return { target, ok: r.ok, reason: r.ok ? "" : r.reason };
    }),
  );
}

/**
 * The jump targets this host reaches before the change. One it does not (a
 * machine that is down, sshd stopped, a path already closed) cannot show
 * whether the new ruleset cuts it; requiring it would let one dead target
 * block every change of its jump host, so it is reported instead.
 */
async function reachableJumpTargets(session: SshSession, targets: readonly JumpTarget[], ms: number): Promise<{ reachable: JumpTarget[]; warnings: string[] }> {
  if (targets.length === 0) return { reachable: [], warnings: [] };
  const before = await probeJumpTargets(session, targets, ms);
  return {
    reachable: before.filter((r) => r.ok).map((r) => r.target),
    warnings: before
      .filter((r) => !r.ok)
      .map(
        (r) =>
          `${jumpTargetLabel(r.target)} was not reachable from this host before the change either (${r.reason}), so this apply could not prove that the new ruleset ` +
          "keeps the path to it open (nftsg manages it through this host, its jump host)",
      ),
  };
}

/** The jump targets the applied ruleset cut off, with why. */
async function cutJumpTargets(session: SshSession, targets: readonly JumpTarget[], ms: number): Promise<{ target: JumpTarget; reason: string }[]> {
  if (targets.length === 0) return [];
  return (await probeJumpTargets(session, targets, ms)).filter((r) => !r.ok);
}

export interface ReadOptions {
  expectedHostKey?: string;
  expectedProxyHostKey?: string;
  displayName?: string;
  /** Also read the host's whole ruleset (`nft -j`) for the report of other firewalls. */
  readRuleset?: boolean;
}

export async function readLive(conn: ConnectionDeclaration, table: string, opts: ReadOptions): Promise<LiveState> {
  validateOrThrow(conn, table, opts.displayName);
  const session = await openSession(conn, opts);
  try {
    const nonce = newNonce();
    // Read-only, on its own channel, beside the read program (never rejects).
    const rulesetRead = opts.readRuleset ? tryReadRuleset(session, conn.sudo) : undefined;
    const out = await runToEnd(session, conn, readProgram({ table, nonce }), nonce, table, {});
    if (out.values.exists === undefined) throw failure(session, undefined, nonce, table, {}, "before", out);
    const ruleset = await rulesetRead;
    return {
      hostKey: session.hostKey,
      proxyHostKey: session.proxyHostKey,
      exists: out.values.exists === "1",
      listing: out.listing,
      owner: out.values.owner || undefined,
      instance: out.values.instance || undefined,
      persisted: out.values.persisted === "1",
      bootSha256: out.values.boot_sha256 || undefined,
      pending: out.values.pending === "1",
      bootLoader: (out.values.boot_loader as LiveState["bootLoader"]) || undefined,
      ...(ruleset ? { ruleset } : {}),
      ...(numberValue(out.values.now_ms) !== undefined ? { nowMs: numberValue(out.values.now_ms) } : {}),
      ...(numberValue(out.values.boot_time) !== undefined ? { bootTimeS: numberValue(out.values.boot_time) } : {}),
    };
  } finally {
    session.close();
  }
}

/**
 * Removes the table, its boot loading and files, unless it is not this
 * caller's to remove: a table nftsg did not create, one another stack owns,
 * or one that another resource instance (`opts.instance`) confirmed since.
 */
export interface RemoveOptions {
  owner: string;
  takeover?: boolean;
  instance?: string;
  stackId?: string;
  expectedHostKey?: string;
  expectedProxyHostKey?: string;
  displayName?: string;
}

export interface RemoveResult {
  hostKey: string;
  proxyHostKey?: string;
  /** Why a table was left in place (not nftsg's, another instance's, another attachment's). */
  notes: string[];
}

export async function removeTable(conn: ConnectionDeclaration, table: string, opts: RemoveOptions): Promise<RemoveResult> {
  validateOrThrow(conn, table, opts.displayName, opts.owner, opts.instance);
  validateOrThrow(conn, table, opts.displayName, undefined, opts.stackId);
  const session = await openSession(conn, opts);
  try {
    const nonce = newNonce();
    const program = removeProgram({ table, owner: opts.owner, takeover: opts.takeover, instance: opts.instance, stackId: opts.stackId, nonce });
    const out = await runToEnd(session, conn, program, nonce, table, opts);
    if (!out.events.includes("removed")) throw failure(session, undefined, nonce, table, opts, "before", out);
    return { hostKey: session.hostKey, proxyHostKey: session.proxyHostKey, notes: out.notes };
  } finally {
    session.close();
  }
}

/** A whole number the host printed, or undefined. */
function numberValue(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,16}$/.test(text) ? Number(text) : undefined;
}

/** Resource instance ids: lower-case hex (the host keeps only [a-f0-9] of its record). */
const INSTANCE_ID = /^[a-f0-9]{16,64}$/;

function assertInstance(instance: string | undefined): void {
  if (instance !== undefined && !INSTANCE_ID.test(instance)) {
    throw new Error(`invalid resource instance id ${JSON.stringify(instance)}: expected ${INSTANCE_ID.source}`);
  }
}

function validateOrThrow(conn: ConnectionDeclaration, table: string, displayName?: string, owner?: string, instance?: string): void {
  try {
    assertTableName(table);
    if (owner !== undefined) assertOwner(owner);
    assertInstance(instance);
  } catch (e) {
    throw new HostError(conn.host, "check", (e as Error).message, {
      label: hostLabel(conn.host, conn.port, displayName),
      secrets: connectionSecrets(conn),
    });
  }
}

/** Runs a one-shot program to its end and parses its output; throws its failure. */
async function runToEnd(
  session: SshSession,
  conn: ConnectionDeclaration,
  program: string,
  nonce: string,
  table: string,
  opts: { owner?: string },
): Promise<RemoteOutput> {
  const run = new RemoteRun(await session.exec(remoteCommand(conn.sudo)), nonce);
  await run.write(program);
  run.endInput();
  const end = await run.waitClosed(180_000);
  if (!end) {
    session.destroy();
    throw session.error("unreachable", "the host did not finish the operation within 180 s");
  }
  const out = parseRemoteOutput(run.stdout, nonce);
  if (out.failKind || end.code !== 0) throw failure(session, run, nonce, table, opts, "before", out);
  return out;
}

/** What a lost connection means for the host, from the markers that arrived before it. */
function connectionLostMessage(events: string[], phase: "before" | "after"): string {
  if (events.includes("committed")) {
    return (
      "the SSH connection was lost after the host accepted the confirmation: the new ruleset is live and its rollback is disarmed, " +
      "but saving it for boot may not have completed; run `pulumi up` again to make sure it is persisted"
    );
  }
  if (phase === "after") {
    return (
      "the SSH connection was lost after CONFIRM was sent and before the host acknowledged it: the host runs the new ruleset " +
      "if the confirmation arrived, else its rollback restores the previous one; run `pulumi refresh` to see which"
    );
  }
  if (events.includes("applied")) {
    return "the SSH connection was lost after the ruleset was applied and before it was confirmed; the host restores its previous ruleset itself";
  }
  // The rollback was armed: the ruleset may have been applied and cut this
  // very session before its "applied" line got out (revokeEstablished
  // re-checks established connections). Never claim the host is unchanged.
  return events.includes("armed")
    ? "the SSH connection was lost while the ruleset was being applied (a ruleset can cut the session that applies it); " +
        "if it was applied, the host's armed rollback restores the previous ruleset by itself within rollbackSeconds; run `pulumi refresh` to see the result"
    : "the SSH connection was lost before the ruleset was applied; the host is unchanged";
}

/** Turns a failed remote run into a HostError naming the host and cause. */
function failure(
  session: SshSession,
  run: RemoteRun | undefined,
  nonce: string,
  table: string,
  opts: { owner?: string; takeover?: boolean },
  phase: "before" | "after",
  parsed?: RemoteOutput,
): HostError {
  const out = parsed ?? parseRemoteOutput(run?.stdout ?? "", nonce);
  const confirmed = out.events.includes("committed");
  const error = (kind: HostErrorKind, message: string) => session.error(kind, message, confirmed);
  const stderr = (run?.stderr ?? "").trim();
  const end: RunEnd | undefined = run?.end;
  const detail = stderr ? `: ${stderr}` : "";
  if (out.failKind === "owner" && out.values.foreign === "1") {
    return error(
      "owner",
      `table inet ${table} already exists and was not created by nftsg (it carries no nftsg owner marker: ` +
        "another tool's table, such as a distribution's default inet filter or firewalld's); nothing was changed. " +
        "Choose another table name, or set takeover: true to replace that table with nftsg's ruleset.",
    );
  }
  if (out.failKind === "owner" && out.values.other_stack === "1") {
    return error(
      "owner",
      `table inet ${table} is owned by another stack that has the same organisation, project and stack names as this one ` +
        `(${out.values.owner ?? opts.owner ?? "?"}, but a different stack identity: another backend, or a stack created anew); nothing was changed. ` +
        "Set takeover to take it over (the other stack will then refuse to touch it).",
    );
  }
  if (out.failKind === "owner") {
    const other = out.values.owner ?? "another stack";
    return error(
      "owner",
      `table inet ${table} is owned by stack ${other}, not by ${opts.owner ?? "this stack"}; nothing was changed. ` +
        "Set takeover to take it over (the other stack will then refuse to touch it).",
    );
  }
  if (out.failKind === "check") return error("check", `nft -c rejected the ruleset; nothing was applied${detail}`);
  if (out.failKind) return error(out.failKind, stderr || `the remote ${out.failKind} step failed`);
  if (end?.signal) {
    return error(
      "apply",
      `the remote nftsg shell was killed (${end.signal}) ${
        out.events.includes("committed")
          ? "after the host accepted the confirmation: the new ruleset is live; run `pulumi up` again to make sure it is persisted"
          : out.events.includes("applied")
            ? "after the ruleset was applied and before it was confirmed; its rollback timer restores the previous ruleset"
            : "before completing"
      }${detail}`,
    );
  }
  if (!end || end.connectionLost) {
    return error("unreachable", connectionLostMessage(out.events, phase));
  }
  if (end.code === 1 && /sudo/.test(stderr)) {
    return error("preflight", `sudo -n failed (connection.sudo needs passwordless sudo for this user)${detail}`);
  }
  if (end.code === 127) return error("preflight", `no POSIX shell to run nftsg's program${detail}`);
  return error("apply", `the remote program exited with status ${end.code}${detail}`);
}
