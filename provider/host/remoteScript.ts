// The POSIX sh programs nftsg runs on a host, one per operation, each sent on
// the stdin of a single `sh -s` (or `sudo -n sh -s`) exec channel. Pure text
// builders: no I/O here, everything is unit-tested.
//
// Every program is ONE brace group, so the shell parses all of it before it
// runs any of it: a connection cut while the program (and the ruleset inside
// it) is being sent leaves an unterminated group, a syntax error, and nothing
// executed on the host.
import { randomBytes } from "node:crypto";
import { SH_BASE, SH_BOOT, SH_LOCAL_IFACES, SH_LOCK, SH_ROLLBACK, SH_SEED, shellVars, type LibParams } from "./remoteLib";
import { INTERFACE_PATTERN } from "../vocabulary/containers";
import { assertOwner, assertTableName, shQuote } from "./remoteQuote";
import { MAX_ROLLBACK_SECONDS, MIN_ROLLBACK_SECONDS } from "../vocabulary/defaults";

export { shQuote, assertTableName, assertOwner } from "./remoteQuote";


/** The exec request: the program arrives on stdin. */
export function remoteCommand(sudo: boolean | undefined): string {
  return sudo ? "sudo -n sh -s" : "sh -s";
}

export function newNonce(): string {
  return randomBytes(16).toString("hex");
}

/**
 * A heredoc terminator that is not a line of `body`. Random, so a ruleset
 * cannot be crafted in advance to end the heredoc early and smuggle commands;
 * checked anyway.
 */
export function heredocTerminator(body: string, random: () => string = () => randomBytes(12).toString("hex")): string {
  const lines = new Set(body.split("\n").map((l) => l.replace(/\r$/, "")));
  for (;;) {
    const t = `NFTSG_EOF_${random()}`;
    if (!lines.has(t)) return t;
  }
}

/** `cat > PATH <<'TERM'` … with the body verbatim (quoted terminator: no expansion). */
export function heredocToFile(pathExpr: string, body: string, failMessage: string, terminator = heredocTerminator(body)): string {
  const text = body.endsWith("\n") ? body : body + "\n";
  return `cat > ${pathExpr} <<'${terminator}' || fail apply ${shQuote(failMessage)}\n${text}${terminator}\n`;
}

export interface ApplyProgramParams {
  table: string;
  owner: string;
  takeover?: boolean;
  /** The resource instance applying: recorded on the host with the confirmed ruleset. */
  instance?: string;
  /** The stack's identity: recorded with the confirmed ruleset; another stack's is refused. */
  stackId?: string;
  /** The TCP port the script's failsafe opens for sshd: something must listen on it. */
  failsafePort?: number;
  /**
   * The ruleset's local (container) interface patterns: the host refuses the
   * apply when one matches an uplink (SH_LOCAL_IFACES).
   */
  localInterfaces?: readonly string[];
  /** The complete `nft -f` script (table inet T {} / delete table inet T / definition). */
  script: string;
  rollbackSeconds: number;
  lockWaitSeconds?: number;
  nonce: string;
}

/** A line of an observed table's script (docs/observe.md): what the apply program seeds from the live table. */
const OBSERVED_COUNTER = /^\tcounter counting_since \{$/m;

function validateScript(script: string): void {
  // The shell cannot carry NUL bytes through a heredoc, and nft never needs them.
  if (script.includes("\0")) throw new Error("the nft script contains a NUL byte");
}

/**
 * The rollback timer, installed as a file and run by systemd-run or setsid.
 * $1 = runtime dir; with "--sleep N" it waits itself (the arming shell records its pid).
 */
export function fireScript(table: string): string {
  assertTableName(table);
  return String.raw`#!/bin/sh
# nftsg rollback timer for table inet ${table}: restores the ruleset saved
# before an apply that was not confirmed in time. Written by nftsg.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
T=${shQuote(table)}
RUN=$1
if [ "$2" = --sleep ]; then sleep "$3"; fi
# Whoever renames the token first decides: the confirming shell, or this timer.
mv "$RUN/$T.armed" "$RUN/$T.firing" 2>/dev/null || exit 0
nft -f /etc/nftsg/$T.prev.nft
rc=$?
if command -v logger >/dev/null 2>&1; then
  logger -t nftsg "table inet $T: apply not confirmed in time, previous ruleset restored (nft exit $rc)"
fi
# The shell still waiting for a confirmation holds the host lock: end it,
# if it is still the same process (pid and start time recorded in the token).
pid='' start='' st=''
read -r pid start < "$RUN/$T.firing"
if [ -n "$pid" ] && [ -r "/proc/$pid/stat" ]; then
  read -r _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ st _ < "/proc/$pid/stat"
  if [ "$st" = "$start" ]; then kill -s TERM "$pid" 2>/dev/null; fi
fi
rm -f "$RUN/$T.firing" "$RUN/$T.rollback.pid"
exit 0
`;
}

function libParams(p: LibParams): string {
  return shellVars(p) + SH_BASE;
}

/**
 * The apply transaction (docs/apply.md, commit-confirmed):
 * preflight → lock → settle an earlier unconfirmed apply → ownership → save
 * the previous state → write and `nft -c` the new script → arm the rollback
 * → `nft -f` → print the read-back and "applied" → wait for CONFIRM (persist,
 * exit 0) or anything else/EOF (restore now, exit 4).
 */
export function applyProgram(p: ApplyProgramParams): string {
  assertTableName(p.table);
  assertOwner(p.owner);
  validateScript(p.script);
  for (const i of p.localInterfaces ?? []) {
    // They become shell patterns: nothing but nft's own name characters and a final "*".
    if (!INTERFACE_PATTERN.test(i)) throw new Error(`invalid local interface pattern ${JSON.stringify(i)}`);
  }
  if (!(p.rollbackSeconds >= MIN_ROLLBACK_SECONDS && p.rollbackSeconds <= MAX_ROLLBACK_SECONDS)) {
    throw new Error(`rollbackSeconds must be between ${MIN_ROLLBACK_SECONDS} and ${MAX_ROLLBACK_SECONDS}`);
  }
  const vars: LibParams = {
    table: p.table,
    nonce: p.nonce,
    owner: p.owner,
    takeover: p.takeover,
    instance: p.instance,
    stackId: p.stackId,
    rollbackSeconds: p.rollbackSeconds,
    lockWaitSeconds: p.lockWaitSeconds ?? p.rollbackSeconds + 60,
    localInterfaces: p.localInterfaces,
  };
  return `{
${libParams(vars)}${SH_LOCK}${SH_ROLLBACK}${SH_BOOT}${SH_LOCAL_IFACES}${SH_SEED}
# A connection lost after CONFIRM must not stop the persistence that follows
# it: writes to a closed channel fail (EPIPE) instead of killing this shell,
# and a hangup from sshd is ignored. A connection lost before CONFIRM is seen
# by the read below (EOF) and rolls back.
trap '' PIPE HUP
preflight
# No local (container) interface pattern may match an uplink: refused before
# anything changes (docs/containers.md, "Local interfaces").
check_local_ifaces
say "pid=$$"
lock
resolve_stale

# Ownership: refuse another stack's table before touching anything.
read_table
LIVE_OWNER=$(live_owner "$CUR")
check_owner "$LIVE_OWNER"
# Observe (docs/observe.md): the live table's counters and recorded flows are
# carried into an observed new one, unless it was another stack's (takeover);
# a new table starts counting now.
SEED=0
if [ "$EXISTS" = 0 ] || [ "$(stack_of "$LIVE_OWNER")" = "$(stack_of "$OWNER")" ]; then SEED=1; fi

# The failsafe must open the port sshd really listens on here: behind a
# port-forward, connection.port is not it (failsafe.port says which is).
FAILSAFE_PORT=${p.failsafePort === undefined ? "" : Math.trunc(p.failsafePort)}
if [ -n "$FAILSAFE_PORT" ] && ! port_listening "$FAILSAFE_PORT"; then
  fail preflight "the ruleset's failsafe opens tcp port $FAILSAFE_PORT for SSH, but nothing listens on that port on this host (is connection.port a port-forward?): set failsafe.port to the port sshd listens on; nothing was changed"
fi

# The previous state, as a script that replaces whatever is there with it
# ("table … {}" first, so "delete" works even if the table is absent then).
{
  printf '# nftsg: table inet %s as it was before the last apply (rollback)\\n' "$T"
  printf 'table inet %s {}\\ndelete table inet %s\\n' "$T" "$T"
  if [ "$EXISTS" = 1 ]; then printf '%s\\n' "$CUR"; fi
} > "$PREV.tmp" && mv -f "$PREV.tmp" "$PREV" || fail apply "cannot write $PREV"

# The new ruleset, verbatim, then checked: nothing is applied if nft -c fails.
# The rollback script must load too, or the rollback would not protect
# anything. One nft -c over both (one process: nft includes the two files, no
# cat); on failure, find out which.
${heredocToFile('"$NEW"', p.script, "cannot write the new ruleset")}if ! printf 'include "%s"\\ninclude "%s"\\n' "$PREV" "$NEW" | nft -c -f - >/dev/null 2>&1; then
  if ! err=$(nft -c -f "$PREV" 2>&1 >/dev/null); then
    rm -f "$NEW"
    fail preflight "the current table inet $T cannot be saved for rollback (nft rejects its own listing): $err"
  fi
  if ! err=$(nft -c -f "$NEW" 2>&1 >/dev/null); then rm -f "$NEW"; fail check "$err"; fi
fi

# Arm the rollback BEFORE applying; it must outlive this SSH session.
# (Renamed into place: a timer still running an older copy keeps reading its own.)
${heredocToFile('"$FIRE.tmp"', fireScript(p.table), "cannot write the rollback timer")}mv -f "$FIRE.tmp" "$FIRE" || fail apply "cannot write the rollback timer"
if [ -e "$PIDF" ] || [ -e "$FIRING" ]; then rm -f "$PIDF" "$FIRING"; fi
printf '%s %s\\n' "$$" "$(proc_start $$)" > "$ARMED" || fail apply "cannot arm the rollback"
if [ "$TIMER_SYSTEMD" = 1 ]; then
  systemctl stop "$RB_UNIT.timer" "$RB_UNIT.service" </dev/null >/dev/null 2>&1
  systemctl reset-failed "$RB_UNIT.timer" "$RB_UNIT.service" </dev/null >/dev/null 2>&1
  if ! err=$(systemd-run --quiet --collect --unit="$RB_UNIT" --on-active="$ROLLBACK_SECONDS"s --timer-property=AccuracySec=100ms /bin/sh "$FIRE" "$RUN" </dev/null 2>&1 >/dev/null); then
    disarm; rm -f "$NEW"; fail apply "cannot arm the rollback timer (systemd-run): $err"
  fi
elif command -v setsid >/dev/null 2>&1; then
  # Not a process-group leader (no job control here), so setsid execs in
  # place and $! is the timer's pid: recorded now, before anything can
  # disarm, so a disarm always finds the timer to stop.
  setsid /bin/sh "$FIRE" "$RUN" --sleep "$ROLLBACK_SECONDS" </dev/null >/dev/null 2>&1 9>&- &
  echo "$!" > "$PIDF"
else
  ( trap '' HUP; exec /bin/sh "$FIRE" "$RUN" --sleep "$ROLLBACK_SECONDS" ) </dev/null >/dev/null 2>&1 9>&- &
  echo "$!" > "$PIDF"
fi
# From here the host may run the new ruleset, which can cut this very session.
say armed

# Observe: an observed ruleset (one with the counter counting_since: tested
# where the program is built, as a grep of $NEW would) starts from the live
# table's counters and recorded flows, read now (as late as possible: what is
# counted between this read and the transaction is lost) and written into
# the same transaction.
APPLY_FILE=$NEW
OBSERVED=${OBSERVED_COUNTER.test(p.script) ? 1 : 0}
if [ "$SEED" = 1 ] && [ "$OBSERVED" = 1 ]; then
  { nft list table inet "$T" 2>/dev/null || :; } > "$RUN/$T.live.txt"
  if seed_table "$RUN/$T.live.txt" "$NEW" > "$RUN/$T.seeded.nft"; then
    APPLY_FILE=$RUN/$T.seeded.nft
  fi
fi

# One kernel transaction: all or nothing.
if ! err=$(nft -f "$APPLY_FILE" 2>&1 >/dev/null); then
  # The seeded file failed (never the compiled ruleset's fault: nft -c passed
  # it): apply the compiled ruleset itself, counting from zero.
  if [ "$APPLY_FILE" != "$NEW" ] && err2=$(nft -f "$NEW" 2>&1 >/dev/null); then
    say "note:the live table's counters and recorded flows could not be carried into the new table, which counts from zero: $(printf '%s' "$err" | head -n 3 | tr '\n' ' ')"
  else
    [ "$APPLY_FILE" = "$NEW" ] || err=$err2
    disarm || wait_firing
    rm -f "$NEW" "$RUN/$T.live.txt" "$RUN/$T.seeded.nft"
    fail apply "nft -f failed; nothing was applied and the previous ruleset is still in place: $err"
  fi
fi
say "applied_at=$(now_ms)"
if [ -e "$RUN/$T.live.txt" ] || [ -e "$RUN/$T.seeded.nft" ]; then rm -f "$RUN/$T.live.txt" "$RUN/$T.seeded.nft"; fi

say listing-begin
nft list table inet "$T" 2>/dev/null
say listing-end
say applied
REPLY=
IFS= read -r REPLY || REPLY=EOF
case $REPLY in
  CONFIRM)
    if ! disarm; then
      wait_firing
      rm -f "$NEW"
      fail apply "the rollback timer ($ROLLBACK_SECONDS s) fired before the confirmation arrived; the previous ruleset was restored"
    fi
    # From here on the new ruleset stays: tell the provider before persisting.
    say committed
    # Persist only now: a ruleset that could lock us out never reaches boot.
    mv -f "$NEW" "$LIVE" || fail apply "applied, but cannot save $LIVE for boot"
    printf '%s\\n' "$OWNER" > "$OWNERF.tmp" && mv -f "$OWNERF.tmp" "$OWNERF" || fail apply "applied, but cannot write $OWNERF"
    if [ -n "$INSTANCE" ]; then
      printf '%s\\n' "$INSTANCE" > "$INSTF.tmp" && mv -f "$INSTF.tmp" "$INSTF" || fail apply "applied, but cannot write $INSTF"
    fi
    if [ -n "$STACK_ID" ]; then
      printf '%s\\n' "$STACK_ID" > "$STACKF.tmp" && mv -f "$STACKF.tmp" "$STACKF" || fail apply "applied, but cannot write $STACKF"
    fi
    install_boot
    if [ "$SYSTEMD" = 1 ]; then LOADER=systemd; elif boot_loads "$(boot_conf)"; then LOADER=init; else LOADER=none; fi
    say "boot_loader=$LOADER"
    say confirmed
    exit 0
    ;;
  *)
    if disarm; then
      if ! err=$(nft -f "$PREV" 2>&1 >/dev/null); then fail apply "restoring the previous ruleset failed: $err"; fi
    else
      wait_firing
    fi
    rm -f "$NEW"
    say rolled-back
    exit 4
    ;;
esac
}
`;
}

/** Read-only: existence, listing, owner, persistence. Changes nothing on the host. */
export function readProgram(p: { table: string; nonce: string }): string {
  assertTableName(p.table);
  return `{
${libParams({ table: p.table, nonce: p.nonce })}${SH_SEED}
preflight
# Wait out an apply in progress (a shared hold on its lock; the lock file is
# only opened if it exists, so reading creates nothing), so a refresh never
# records a ruleset that is not confirmed yet.
if [ -e "$RUN/$T.lock" ] && command -v flock >/dev/null 2>&1 && exec 9<"$RUN/$T.lock"; then
  flock -s -w "$LOCK_WAIT" 9 || fail apply "another nftsg operation on table inet $T held this host's lock for more than $LOCK_WAIT s"
fi
# An apply whose shell died before it was confirmed: its timer restores the
# previous ruleset; what is live now is not what the host will keep.
PENDING=0
if [ -e "$ARMED" ]; then PENDING=1; fi
say "pending=$PENDING"
read_table
# Observe: the host's clock when the table was read (a recorded flow's times are relative to it).
READ_AT=$(now_ms)
PERSISTED=0
if [ -f "$LIVE" ] && boot_installed; then PERSISTED=1; fi
# What boot would load, to compare with what was applied.
BOOT_SHA=
if [ -f "$LIVE" ] && command -v sha256sum >/dev/null 2>&1; then BOOT_SHA=$(sha256sum < "$LIVE" | cut -c 1-64); fi
say "exists=$EXISTS"
say "boot_sha256=$BOOT_SHA"
say "owner=$(live_owner "$CUR")"
say "instance=$(live_instance)"
say "persisted=$PERSISTED"
if [ "$SYSTEMD" = 1 ]; then LOADER=systemd; elif boot_loads "$(boot_conf)"; then LOADER=init; else LOADER=none; fi
say "boot_loader=$LOADER"
# Observe: when the table was read, and the host's boot time (a table loaded at boot counts since then).
say "now_ms=$READ_AT"
say "boot_time=$(boot_time)"
say listing-begin
if [ "$EXISTS" = 1 ]; then printf '%s\\n' "$CUR"; fi
say listing-end
exit 0
}
`;
}

/**
 * Removes the table, its files and its boot loading: the host is left as it
 * was before nftsg. Idempotent.
 */
export function removeProgram(p: {
  table: string;
  owner: string;
  takeover?: boolean;
  instance?: string;
  stackId?: string;
  nonce: string;
  lockWaitSeconds?: number;
}): string {
  assertTableName(p.table);
  assertOwner(p.owner);
  return `{
${libParams({ table: p.table, nonce: p.nonce, owner: p.owner, takeover: p.takeover, instance: p.instance, stackId: p.stackId, lockWaitSeconds: p.lockWaitSeconds })}${SH_LOCK}${SH_ROLLBACK}${SH_BOOT}
preflight
lock
resolve_stale
read_table
LIVE_OWNER=$(live_owner "$CUR")
LIVE_INSTANCE=$(live_instance)
# A table nftsg did not create is never ours to delete.
if [ "$EXISTS" = 1 ] && [ -z "$LIVE_OWNER" ] && [ "$TAKEOVER" != 1 ]; then
  say "note:table inet $T was not created by nftsg; left in place"
  say removed
  exit 0
fi
check_owner "$LIVE_OWNER"
# Another resource instance confirmed this table since (a new Attachment: a
# renamed Fleet, a host moved between Fleets; Pulumi creates the new instance
# before it deletes the old one): it is theirs now, leave it, whatever
# takeover says.
if [ -n "$LIVE_INSTANCE" ] && [ "$LIVE_INSTANCE" != "$INSTANCE" ]; then
  say "note:table inet $T now belongs to another resource instance; left in place"
  say removed
  exit 0
fi
# Another attachment of the same stack applied this table since (a host
# renamed in the declaration, applied by an nftsg that recorded no instance).
if [ -n "$LIVE_OWNER" ] && [ "$LIVE_OWNER" != "$OWNER" ] && [ "$TAKEOVER" != 1 ]; then
  say "note:table inet $T now belongs to $LIVE_OWNER; left in place"
  say removed
  exit 0
fi
# add + delete in one transaction: plain "delete" fails when the table is absent.
if ! err=$(printf 'table inet %s {}\\ndelete table inet %s\\n' "$T" "$T" | nft -f - 2>&1 >/dev/null); then
  fail apply "cannot delete table inet $T: $err"
fi
# Boot loading before files: an include of a missing file would break the boot config.
uninstall_boot
rm -f "$LIVE" "$NEW" "$PREV" "$OWNERF" "$INSTF" "$STACKF" "$PREV.tmp" "$OWNERF.tmp" "$INSTF.tmp" "$STACKF.tmp" "$FIRE" "$PIDF"
rmdir "$STATE" 2>/dev/null
say removed
exit 0
}
`;
}
