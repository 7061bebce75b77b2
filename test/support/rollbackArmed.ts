// Host-side watch of nftsg's commit-confirm window on a systemd host, as one
// bounded shell program run on the host beside an apply. It prints
//   armed <epoch s>                        the transient rollback timer became active
//   applied <epoch s> <shell pid> <AccuracyUSec>   the new ruleset (marker) is live
// and, with killShell, SIGKILLs the apply shell (so only the host's timer can
// restore) and then prints
//   restored <epoch s>                     the marker is gone from the live table
// Times are the kernel's clock, which the lab's machines share with the runner.
//
// The provider confirms within a fraction of a second of the apply, too fast
// to act in between from outside. HOLD_FRESH_SSH (run on the host before the
// operation) holds the confirmation back without touching nftsg's table: a
// table of the lab's own drops a NEW connection to port 22 while another one
// is open, so the apply's own session gets in but the provider's fresh-SSH
// proof that follows waits (up to rollbackSeconds/2). killShell releases the
// hold after the kill; otherwise the caller runs RELEASE_HOLD once it has acted.

export interface RollbackWatch {
  armedAtMs: number;
  appliedAtMs: number;
  shellPid: number;
  /** The rollback timer's AccuracyUSec as systemctl shows it (e.g. "100ms"). */
  accuracy: string;
  restoredAtMs?: number;
}

export interface WatchOptions {
  table: string;
  /** A string that is in the live table only once the new ruleset is applied. */
  marker: string;
  killShell: boolean;
  /** Bound on the wait for the apply to arm and apply. */
  armTimeoutSeconds: number;
  /** Bound on the wait for the restore after the kill. */
  restoreTimeoutSeconds: number;
}

const POLL_SECONDS = 0.02;
const HOLD_TABLE = "inet nftsglabhold";

/** `ct count` counts the connections that passed this rule, the current one included. */
export const HOLD_FRESH_SSH = `nft -f - <<'EOF'
table ${HOLD_TABLE} {}
delete table ${HOLD_TABLE}
table ${HOLD_TABLE} {
  chain input {
    type filter hook input priority -300; policy accept;
    tcp dport 22 ct state new ct count over 1 drop
  }
}
EOF`;

/** Removes the watch's hold on new SSH connections (idempotent). */
export const RELEASE_HOLD = `nft delete table ${HOLD_TABLE} 2>/dev/null; true`;

export function rollbackWatchProgram(o: WatchOptions): string {
  if (!/^[a-z][a-z0-9_-]*$/.test(o.table)) throw new Error(`bad table name ${o.table}`);
  if (!/^[A-Za-z0-9 ._:-]+$/.test(o.marker)) throw new Error(`marker must be plain text: ${o.marker}`);
  const armPolls = Math.ceil(o.armTimeoutSeconds / POLL_SECONDS);
  const restorePolls = Math.ceil(o.restoreTimeoutSeconds / POLL_SECONDS);
  const live = `nft list table inet ${o.table} 2>/dev/null | grep -qF '${o.marker}'`;
  // The unit is keyed by the network namespace, as the apply program names it.
  return `T=${o.table}
UNIT=nftsg-rollback-net$(readlink /proc/self/ns/net | tr -cd 0-9)-$T
armed=
i=0
while :; do
  i=$((i + 1))
  [ $i -le ${armPolls} ] || { echo "table $T: no armed apply of '${o.marker}' within ${o.armTimeoutSeconds} s" >&2; exit 1; }
  if [ -z "$armed" ] && systemctl is-active --quiet "$UNIT.timer"; then armed=$(date +%s.%N); echo "armed $armed"; fi
  if [ -n "$armed" ] && ${live}; then break; fi
  sleep ${POLL_SECONDS}
done
pid=
for f in /run/nftsg/net*/$T.armed; do [ -s "$f" ] && read -r pid start < "$f"; done
echo "applied $(date +%s.%N) $pid $(systemctl show -p AccuracyUSec --value "$UNIT.timer")"
${o.killShell ? "" : "exit 0"}
kill -9 "$pid" || exit 1
${RELEASE_HOLD}
i=0
while ${live}; do
  i=$((i + 1))
  [ $i -le ${restorePolls} ] || { echo "table $T: still on the unconfirmed ruleset ${o.restoreTimeoutSeconds} s after the kill" >&2; exit 1; }
  sleep ${POLL_SECONDS}
done
echo "restored $(date +%s.%N)"
`;
}

export function parseRollbackWatch(stdout: string): RollbackWatch {
  const armed = /^armed (\d+\.\d+)$/m.exec(stdout);
  const applied = /^applied (\d+\.\d+) (\d+) ?(.*)$/m.exec(stdout);
  if (!armed || !applied) throw new Error(`unexpected rollback watch output: ${JSON.stringify(stdout)}`);
  const restored = /^restored (\d+\.\d+)$/m.exec(stdout);
  return {
    armedAtMs: Number(armed[1]) * 1000,
    appliedAtMs: Number(applied[1]) * 1000,
    shellPid: Number(applied[2]),
    accuracy: (applied[3] ?? "").trim(),
    restoredAtMs: restored ? Number(restored[1]) * 1000 : undefined,
  };
}
