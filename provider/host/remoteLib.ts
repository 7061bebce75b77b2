// The POSIX sh functions shared by the programs nftsg runs on a host (apply,
// read, remove). Kept as text so they can be unit-tested and read in one
// place; the programs in remoteScript.ts put them together.
//
// Conventions (the shell text is written with String.raw, so TS never touches
// its backslashes, and it avoids the `${` form so TS never interpolates it):
// - `say X` prints the marker line "@@nftsg:<nonce>:X" the TS side parses;
// - `fail KIND MESSAGE` prints MESSAGE on stderr, the marker "fail:KIND" and
//   exits 3;
// - nothing reads stdin except the apply program's final `read` (stdin also
//   carries the program text and then the CONFIRM/ROLLBACK line).
import { shQuote } from "./remoteQuote";

export const STATE_DIR = "/etc/nftsg";

/**
 * The shell's parameter expansion opener (dollar, brace) inside the
 * String.raw texts below, where a bare one would be TypeScript's
 * interpolation: "$" "{" PE "}" "x%%/host=*}" is the shell's x%%/host=* expansion.
 */
const PE = "${";
/** First line of a boot config file nftsg had to create (removed with the last include). */
export const CREATED_CONF_MARK = "# created by nftsg to load its tables at boot; removed with the last of them";

export interface LibParams {
  table: string;
  nonce: string;
  owner?: string;
  takeover?: boolean;
  /** The resource instance applying or removing the table (see INSTANCE_ID). */
  instance?: string;
  /** The stack's own random identity (lower-case hex): two stacks of the same name are two owners. */
  stackId?: string;
  rollbackSeconds?: number;
  lockWaitSeconds?: number;
  /** The ruleset's local (container) interface patterns, checked by check_local_ifaces. */
  localInterfaces?: readonly string[];
}

/** Variable assignments: every input value is single-quoted. */
export function shellVars(p: LibParams): string {
  return String.raw`PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
LC_ALL=C; export LC_ALL
umask 022
T=${shQuote(p.table)}
NONCE=${shQuote(p.nonce)}
OWNER=${shQuote(p.owner ?? "")}
TAKEOVER=${p.takeover ? 1 : 0}
INSTANCE=${shQuote(p.instance ?? "")}
STACK_ID=${shQuote(p.stackId ?? "")}
ROLLBACK_SECONDS=${Math.trunc(p.rollbackSeconds ?? 30)}
LOCK_WAIT=${Math.trunc(p.lockWaitSeconds ?? 90)}
LOCAL_IFACES=${shQuote((p.localInterfaces ?? []).join(" "))}
STATE=${STATE_DIR}
LIVE=$STATE/$T.nft
NEW=$STATE/$T.new.nft
PREV=$STATE/$T.prev.nft
OWNERF=$STATE/$T.owner
INSTF=$STATE/$T.instance
STACKF=$STATE/$T.stack
UNIT=nftsg-$T.service
UNIT_FILE=/etc/systemd/system/$UNIT
DROPIN_DIR=/etc/systemd/system/nftables.service.d
DROPIN=$DROPIN_DIR/nftsg-$T.conf
INCLUDE_LINE="include \"$LIVE\" # nftsg"
CREATED_MARK=${shQuote(CREATED_CONF_MARK)}
TAB=$(printf '\t')
`;
}

/** Markers, failure, preflight, runtime paths. */
export const SH_BASE = String.raw`say() { printf '@@nftsg:%s:%s\n' "$NONCE" "$*"; }
fail() { fail_kind=$1; shift; printf '%s\n' "$*" >&2; say "fail:$fail_kind"; exit 3; }

# nft present, root, and a kernel that answers nf_tables requests.
preflight() {
  command -v nft >/dev/null 2>&1 || fail preflight "nft is not installed (install the nftables package)"
  # The effective uid (what id -u prints), from this shell's own status
  # without a process; id -u where /proc does not say.
  uid=
  { while read -r k _ e _ <&3; do if [ "$k" = Uid: ]; then uid=$e; break; fi; done 3< /proc/self/status; } 2>/dev/null
  [ -n "$uid" ] || uid=$(id -u 2>/dev/null)
  [ "$uid" = 0 ] || fail preflight "not running as root (uid $uid): connect as root, or set connection.sudo for a user with passwordless sudo"
  if ! err=$(nft list tables 2>&1 >/dev/null); then
    fail preflight "nft cannot use the kernel's nf_tables (no kernel support, or not permitted here): $err"
  fi
  SYSTEMD=0
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then SYSTEMD=1; fi
  # Runtime files (lock, rollback token and timer pid) are per network
  # namespace, because that is what a ruleset belongs to: on a normal host
  # there is one, and hosts emulated as namespaces sharing /run stay apart.
  # "net:[4026531840]" -> 4026531840 (one process: readlink, the rest is the shell's).
  NETNS_LINK=$(readlink /proc/self/ns/net 2>/dev/null)
  NETNS=${PE}NETNS_LINK#*[}
  NETNS=${PE}NETNS%]*}
  case $NETNS in '' | *[!0-9]*) NETNS=0 ;; esac
  # A systemd timer runs in PID 1's network namespace: use one only when
  # that is this ruleset's namespace, else the rollback would restore the
  # wrong namespace; its unit is keyed by the namespace too.
  TIMER_SYSTEMD=0
  if [ "$SYSTEMD" = 1 ] && command -v systemd-run >/dev/null 2>&1 \
    && [ "$(readlink /proc/1/ns/net 2>/dev/null)" = "$NETNS_LINK" ]; then
    TIMER_SYSTEMD=1
  fi
  RB_UNIT=nftsg-rollback-net$NETNS-$T
  RUN=/run/nftsg/net$NETNS
  ARMED=$RUN/$T.armed
  FIRING=$RUN/$T.firing
  PIDF=$RUN/$T.rollback.pid
  FIRE=$RUN/$T.rollback.sh
}

# The live table in CUR (EXISTS=1), or CUR empty (EXISTS=0) when it is absent:
# one nft call, where "list tables" and then "list table" would be two.
read_table() {
  EXISTS=0
  if CUR=$(nft list table inet "$T" 2>&1); then EXISTS=1; return 0; fi
  case $CUR in
    *"No such file or directory"*) CUR= ;;
    *) fail apply "cannot read table inet $T: $CUR" ;;
  esac
}

# The owning stack, from the table's own comment (the only comment line
# indented by exactly one tab in a listing): "owner=<id>" inside it, or the
# whole comment when it is a bare stack id (what the compiler writes); else
# /etc/nftsg/<table>.owner (which survives the table being flushed by hand).
# In the shell itself (no sed, no head): it runs on every apply.
live_owner() {
  c=
  while IFS= read -r l <&3; do
    case $l in
      "$TAB"'comment "'*'"') c=${PE}l#"$TAB"'comment "'}; c=${PE}c%'"'}; break ;;
    esac
  done 3<<NFTSG_LISTING
$1
NFTSG_LISTING
  # The last "owner=" in it, up to a space, quote, semicolon or comma.
  o=
  case $c in *owner=*) o=${PE}c##*owner=}; o=${PE}o%%[[:space:]\";,]*} ;; esac
  if [ -z "$o" ]; then
    case $c in '' | *[!A-Za-z0-9._/@:=+-]*) ;; *) o=$c ;; esac
  fi
  if [ -z "$o" ] && [ -f "$OWNERF" ]; then o=$(head -n 1 "$OWNERF" | tr -cd 'A-Za-z0-9._/@:=+-'); fi
  printf '%s' "$o"
}

# Owners are "<stack>/host=<attachment>": the same stack may move a table
# between its own attachments (a renamed host); another stack may not.
stack_of() { printf '%s' "${PE}1%%/host=*}"; }

# A table with no owner marker was made by someone else (a distribution's
# "inet filter", firewalld, a hand-written ruleset): only takeover replaces it.
# Owners are otherwise compared by stack, as above.
check_owner() {
  if [ "$EXISTS" = 1 ] && [ -z "$1" ] && [ "$TAKEOVER" != 1 ]; then
    say "foreign=1"
    fail owner "table inet $T was not created by nftsg"
  fi
  if [ -n "$1" ] && [ "$(stack_of "$1")" != "$(stack_of "$OWNER")" ] && [ "$TAKEOVER" != 1 ]; then
    say "owner=$1"
    fail owner "table inet $T is owned by $1"
  fi
  # Same names, another stack (another backend, or a stack made anew): the
  # stack identities differ. A table applied before identities were
  # recorded has none and is compared by name only.
  live_stack=$(live_stack_id)
  if [ -n "$live_stack" ] && [ -n "$STACK_ID" ] && [ "$live_stack" != "$STACK_ID" ] && [ "$TAKEOVER" != 1 ]; then
    say "owner=$1"
    say "other_stack=1"
    fail owner "table inet $T is owned by another stack of the same name"
  fi
}

# The stack identity recorded with the table ("" if none).
live_stack_id() { first_line_hex "$STACKF"; }

# The resource instance that last confirmed an apply of this table ("" if
# none recorded, e.g. applied by an older nftsg).
live_instance() { first_line_hex "$INSTF"; }

# The first line of file $1 ("" if there is none), less every character
# but [a-f0-9]: read by the shell, tr only for a line that needs it.
first_line_hex() {
  l=
  { IFS= read -r l < "$1" || :; } 2>/dev/null
  case $l in
    *[!a-f0-9]*) printf '%s' "$l" | tr -cd 'a-f0-9' ;;
    *) printf '%s' "$l" ;;
  esac
}


# Whether a TCP socket of this network namespace listens on port $1 (state
# 0A in /proc/net/tcp{,6}); true when that cannot be read, so it never blocks
# on a host that hides /proc/net.
port_listening() {
  [ -r /proc/net/tcp ] || return 0
  hex=$(printf '%04X' "$1")
  set -- /proc/net/tcp
  if [ -r /proc/net/tcp6 ]; then set -- "$@" /proc/net/tcp6; fi
  awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' "$@" 2>/dev/null
}

# Which config file the distribution loads at boot without systemd.
boot_conf() {
  for c in /etc/sysconfig/nftables.conf /etc/nftables.conf /etc/nftables.nft; do
    if [ -f "$c" ]; then printf '%s' "$c"; return 0; fi
  done
  printf '%s' /etc/nftables.conf
}

boot_installed() {
  if [ "$SYSTEMD" = 1 ]; then
    [ -f "$UNIT_FILE" ] && [ -f "$DROPIN" ] && systemctl is-enabled --quiet "$UNIT" </dev/null >/dev/null 2>&1
  else
    c=$(boot_conf)
    [ -f "$c" ] && grep -qxF "$INCLUDE_LINE" "$c" && boot_loads "$c"
  fi
}

# Without systemd, an include line only counts if something loads its file
# at boot: an nftables init script that names the file, enabled in a
# runlevel (sysvinit's /etc/rc?.d links, OpenRC's /etc/runlevels). Anything
# else (no init script, a minimal image) is reported as not persisted.
boot_loads() {
  for s in /etc/init.d/nftables /etc/init.d/nftables.sh; do
    [ -f "$s" ] && grep -qF "$1" "$s" || continue
    for l in /etc/rc[S2345].d/S[0-9][0-9]nftables* /etc/runlevels/*/nftables; do
      [ -e "$l" ] && return 0
    done
  done
  return 1
}
`;

/** The host lock: flock on a file (mkdir fallback), held until the shell exits. */
export const SH_LOCK = String.raw`lock() {
  { [ -d "$RUN" ] && [ -d "$STATE" ]; } || mkdir -p "$RUN" "$STATE" || fail preflight "cannot create $RUN and $STATE"
  if command -v flock >/dev/null 2>&1; then
    # fd 9 stays open (and locked) until this shell exits; the kernel drops
    # the lock if the shell dies, so no stale lock survives a crash.
    exec 9>"$RUN/$T.lock" || fail apply "cannot open the lock file $RUN/$T.lock"
    flock -w "$LOCK_WAIT" 9 || fail apply "another nftsg operation on table inet $T held this host's lock for more than $LOCK_WAIT s"
  else
    # No flock: mkdir is atomic. A lock whose holder is gone is broken.
    i=0
    until mkdir "$RUN/$T.lockdir" 2>/dev/null; do
      holder=$(cat "$RUN/$T.lockdir/pid" 2>/dev/null)
      if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then rm -rf "$RUN/$T.lockdir"; continue; fi
      i=$((i + 1))
      [ "$i" -lt "$LOCK_WAIT" ] || fail apply "another nftsg operation on table inet $T held this host's lock for more than $LOCK_WAIT s"
      sleep 1
    done
    echo $$ > "$RUN/$T.lockdir/pid"
    trap 'rm -rf "$RUN/$T.lockdir"' EXIT
  fi
}
`;

/**
 * The rollback token protocol. "armed" exists while an applied ruleset waits
 * for confirmation; the confirming/rolling-back shell and the timer both try
 * to rename it, and rename is atomic, so exactly one of them decides.
 */
export const SH_ROLLBACK = String.raw`stop_timer() {
  if [ "$TIMER_SYSTEMD" = 1 ]; then
    systemctl stop "$RB_UNIT.timer" "$RB_UNIT.service" </dev/null >/dev/null 2>&1
    systemctl reset-failed "$RB_UNIT.timer" "$RB_UNIT.service" </dev/null >/dev/null 2>&1
  fi
  p=
  { read -r p < "$PIDF" || :; } 2>/dev/null
  case $p in
    '' | *[!0-9]*) ;;
    *)
      # Only if that pid is still our timer (a pid file can outlive its process).
      case $(tr '\000' ' ' < "/proc/$p/cmdline" 2>/dev/null) in
        # The timer is a session leader (setsid): kill its group, sleep included.
        *"/$T.rollback.sh "*) kill -s TERM -- "-$p" 2>/dev/null || kill -s TERM "$p" 2>/dev/null ;;
      esac
      ;;
  esac
}

# 0 = we claimed the token (the timer will not fire); 1 = the timer has it.
# Only an apply under the lock creates the token, so when it does not exist
# there is nothing to claim (and no mv to run).
disarm() {
  if [ -e "$ARMED" ] && mv "$ARMED" "$RUN/$T.disarmed" 2>/dev/null; then
    stop_timer
    rm -f "$RUN/$T.disarmed" "$PIDF"
    return 0
  fi
  return 1
}

# While the timer restores, wait for it (it removes its token when done).
wait_firing() {
  i=0
  while [ -e "$FIRING" ] && [ "$i" -lt 30 ]; do sleep 1; i=$((i + 1)); done
}

# An earlier transaction applied but never confirmed (its shell was killed
# and its timer has not fired yet): roll it back now, before anything else.
resolve_stale() {
  if disarm && [ -f "$PREV" ]; then
    if err=$(nft -f "$PREV" 2>&1 >/dev/null); then
      say "note:rolled back an earlier apply that was never confirmed"
    else
      fail apply "an earlier apply was never confirmed and restoring its previous ruleset failed: $err"
    fi
  fi
  wait_firing
}

proc_start() {
  st=
  if [ -r "/proc/$1/stat" ]; then read -r _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ st _ < "/proc/$1/stat"; fi
  printf '%s' "$st"
}
`;

/** Boot persistence: nftsg's own unit where systemd runs, else the distribution's include. */
export const SH_BOOT = String.raw`write_unit() {
  nft_bin=$(command -v nft)
  printf '%s\n' \
    "# Installed by nftsg: loads nftables table inet $T at boot. Removed when nftsg deletes the table." \
    "# Its own unit, not the distribution's nftables.service, whose start/reload/stop flush the whole ruleset;" \
    "# ordered after it at boot; $DROPIN reloads the table whenever that unit flushes." \
    "[Unit]" \
    "Description=nftsg firewall table inet $T" \
    "DefaultDependencies=no" \
    "Wants=network-pre.target" \
    "Before=network-pre.target shutdown.target" \
    "After=local-fs.target nftables.service" \
    "Conflicts=shutdown.target" \
    "" \
    "[Service]" \
    "Type=oneshot" \
    "RemainAfterExit=yes" \
    "ExecStart=$nft_bin -f $LIVE" \
    "ExecReload=$nft_bin -f $LIVE" \
    "" \
    "[Install]" \
    "WantedBy=sysinit.target"
}

# Drop-in for the distribution's nftables.service (Debian, RHEL, ...): its
# start, reload and stop run "flush ruleset", which would take this table
# with it (also when it is started while nftsg's unit is already active, or
# stopped for good); load the table again right after each, in the same job.
write_dropin() {
  nft_bin=$(command -v nft)
  printf '%s\n' \
    "# Installed by nftsg: nftables.service flushes the whole ruleset when it starts, reloads or stops;" \
    "# load nftsg's table inet $T again right after. Removed when nftsg deletes the table." \
    "[Service]" \
    "ExecStartPost=$nft_bin -f $LIVE" \
    "ExecReload=$nft_bin -f $LIVE" \
    "ExecStopPost=$nft_bin -f $LIVE"
}

install_boot() {
  if [ "$SYSTEMD" = 1 ]; then
    write_unit > "$RUN/$T.unit.tmp" || fail apply "cannot write the boot unit"
    write_dropin > "$RUN/$T.dropin.tmp" || fail apply "cannot write the nftables.service drop-in"
    changed=0
    if [ "$(cat "$RUN/$T.unit.tmp")" != "$(cat "$UNIT_FILE" 2>/dev/null)" ]; then
      cat "$RUN/$T.unit.tmp" > "$UNIT_FILE" || fail apply "cannot write $UNIT_FILE"
      changed=1
    fi
    if [ "$(cat "$RUN/$T.dropin.tmp")" != "$(cat "$DROPIN" 2>/dev/null)" ]; then
      mkdir -p "$DROPIN_DIR" && cat "$RUN/$T.dropin.tmp" > "$DROPIN" || fail apply "cannot write $DROPIN"
      changed=1
    fi
    if [ "$changed" = 1 ]; then systemctl daemon-reload </dev/null >/dev/null 2>&1; fi
    rm -f "$RUN/$T.unit.tmp" "$RUN/$T.dropin.tmp"
    if ! systemctl is-enabled --quiet "$UNIT" </dev/null >/dev/null 2>&1; then
      err=$(systemctl enable --quiet "$UNIT" </dev/null 2>&1) || fail apply "cannot enable $UNIT: $err"
    fi
  else
    c=$(boot_conf)
    if [ ! -e "$c" ]; then printf '#!/usr/sbin/nft -f\n%s\n' "$CREATED_MARK" > "$c" || fail apply "cannot create $c"; fi
    if ! grep -qxF "$INCLUDE_LINE" "$c"; then
      # Appended at the end: after the distribution's "flush ruleset".
      if [ -s "$c" ] && [ -n "$(tail -c 1 "$c")" ]; then printf '\n' >> "$c"; fi
      printf '%s\n' "$INCLUDE_LINE" >> "$c" || fail apply "cannot add the include line to $c"
    fi
  fi
}

uninstall_boot() {
  if [ -e "$UNIT_FILE" ] || [ -L "/etc/systemd/system/sysinit.target.wants/$UNIT" ] || [ -e "$DROPIN" ]; then
    if [ "$SYSTEMD" = 1 ]; then systemctl disable --quiet "$UNIT" </dev/null >/dev/null 2>&1; fi
    rm -f "$UNIT_FILE" "/etc/systemd/system/sysinit.target.wants/$UNIT" "$DROPIN"
    rmdir "$DROPIN_DIR" 2>/dev/null
    if [ "$SYSTEMD" = 1 ]; then systemctl daemon-reload </dev/null >/dev/null 2>&1; fi
  fi
  for c in /etc/sysconfig/nftables.conf /etc/nftables.conf /etc/nftables.nft; do
    [ -f "$c" ] && grep -qxF "$INCLUDE_LINE" "$c" || continue
    grep -vxF "$INCLUDE_LINE" "$c" > "$RUN/$T.conf.tmp"
    # Rewritten in place, not renamed: keeps its mode, owner and SELinux
    # label, and works when the file is a bind mount.
    cat "$RUN/$T.conf.tmp" > "$c" || fail apply "cannot remove the include line from $c"
    rm -f "$RUN/$T.conf.tmp"
    if [ "$(cat "$c")" = "$(printf '#!/usr/sbin/nft -f\n%s' "$CREATED_MARK")" ]; then rm -f "$c"; fi
  done
}
`;

/**
 * Local (container) interfaces (docs/containers.md): the ruleset accepts
 * everything arriving on an interface that matches one of LOCAL_IFACES like
 * loopback, before every group rule, and treats it as a container network in
 * the forward chain. So no pattern may match an interface that connects this
 * host to anything but its own guests: check_local_ifaces refuses the apply
 * (kind preflight, before anything changes) when one matches an interface
 * that carries the SSH connection, a default route or a public address, or
 * that is not a bridge of local guests, a veth or a tap. Two netlink dumps and
 * a few processes, whatever the number of interfaces (a node with hundreds of
 * pod veths must not pay a process per veth).
 */
export const SH_LOCAL_IFACES = String.raw`# The SSH connection ("client cport server sport"): $SSH_CONNECTION, or that
# of the nearest ancestor that has it (sudo resets the environment).
ssh_connection() {
  if [ -n "$SSH_CONNECTION" ]; then printf '%s' "$SSH_CONNECTION"; return 0; fi
  p=$$ i=0
  while [ "$i" -lt 10 ] && [ -n "$p" ] && [ "$p" -gt 1 ] 2>/dev/null; do
    c=$(tr '\000' '\n' < "/proc/$p/environ" 2>/dev/null | sed -n 's/^SSH_CONNECTION=//p' | head -n 1)
    if [ -n "$c" ]; then printf '%s' "$c"; return 0; fi
    p=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d ' ' -f 2)
    i=$((i + 1))
  done
  return 1
}

# Every word after "dev" in its input (ip route output, one route or many),
# on one line, space-separated.
route_devs() { awk '{ for (i = 1; i < NF; i++) if ($i == "dev") printf "%s ", $(i + 1) }'; }

# "ip -d -o link show" to one line per link: "name kind master", where kind
# is veth, bridge, vxlan, ... as ip shows it, "tap" for a tun device in tap
# mode, "physical" when ip shows none, and master is "-" when there is none.
link_table() {
  awk '{
    n = split($0, seg, /\\    /)
    split(seg[1], f, ": "); name = f[2]; sub(/@.*/, "", name)
    master = "-"
    if (match(seg[1], / master [^ ]+/)) master = substr(seg[1], RSTART + 8, RLENGTH - 8)
    kind = "physical"
    for (i = 3; i <= n; i++) {
      split(seg[i], w, " "); k = w[1]
      if (k == "" || k == "altname" || k == "alias" || k == "vf" || k ~ /_slave$/) continue
      if (k == "tun" && w[3] == "tap") k = "tap"
      kind = k; break
    }
    print name, kind, master
  }'
}

# Whether address $1 is publicly routable: not private (RFC 1918, ULA),
# shared (100.64/10), loopback, link-local, documentation, benchmarking
# (198.18/15), multicast or reserved.
is_global_addr() {
  case $1 in
    *:*)
      a=$(printf '%s' "$1" | tr 'A-F' 'a-f')
      case $a in ::*) return 1 ;; esac
      h1=$(printf '%s' "$a" | cut -d : -f 1)
      h2=$(printf '%s' "$a" | cut -d : -f 2)
      [ -n "$h2" ] || h2=0
      v1=$((0x$h1)); v2=$((0x$h2))
      # Global unicast is 2000::/3, less documentation (2001:db8::/32).
      [ "$v1" -ge 8192 ] && [ "$v1" -le 16383 ] || return 1
      [ "$v1" -eq 8193 ] && [ "$v2" -eq 3512 ] && return 1
      return 0
      ;;
  esac
  o1=$(printf '%s' "$1" | cut -d . -f 1)
  o2=$(printf '%s' "$1" | cut -d . -f 2)
  o3=$(printf '%s' "$1" | cut -d . -f 3)
  case $o1 in 0 | 10 | 127) return 1 ;; esac
  [ "$o1" -ge 224 ] && return 1
  [ "$o1" -eq 100 ] && [ "$o2" -ge 64 ] && [ "$o2" -le 127 ] && return 1
  [ "$o1" -eq 169 ] && [ "$o2" -eq 254 ] && return 1
  [ "$o1" -eq 172 ] && [ "$o2" -ge 16 ] && [ "$o2" -le 31 ] && return 1
  [ "$o1" -eq 192 ] && [ "$o2" -eq 168 ] && return 1
  [ "$o1" -eq 192 ] && [ "$o2" -eq 0 ] && { [ "$o3" -eq 0 ] || [ "$o3" -eq 2 ]; } && return 1
  [ "$o1" -eq 198 ] && { [ "$o2" -eq 18 ] || [ "$o2" -eq 19 ]; } && return 1
  [ "$o1" -eq 198 ] && [ "$o2" -eq 51 ] && [ "$o3" -eq 100 ] && return 1
  [ "$o1" -eq 203 ] && [ "$o2" -eq 0 ] && [ "$o3" -eq 113 ] && return 1
  return 0
}

# PAT = the first pattern of LOCAL_IFACES that interface $1 matches, or ""
# (nft's "*" is a prefix wildcard, as in a shell pattern; the patterns hold no
# other metacharacter). No subshell: it runs once per interface.
match_local() {
  PAT=
  set -f
  for lp in $LOCAL_IFACES; do
    # shellcheck disable=SC2254 # the pattern is meant to match as a glob
    case $1 in $lp) PAT=$lp; break ;; esac
  done
  set +f
}

# WHY = why interface $1 (of kind $2) must not be local, reasons joined by
# "; ", or "" if it may be.
uplink_reasons() {
  WHY=
  case " $MGMT_CLIENT_DEVS " in *" $1 "*) add_why "carries the SSH connection (the route to $MGMT_CLIENT)" ;; esac
  case " $MGMT_SERVER_DEVS " in *" $1 "*) add_why "holds $MGMT_SERVER, the address this SSH connection arrived at" ;; esac
  case " $DEFAULT_DEVS " in *" $1 "*) add_why "carries a default route" ;; esac
  case $2 in
    bridge)
      # Its ports: the links whose master it is.
      while read -r pn pk pm; do
        [ "$pm" = "$1" ] || continue
        case $pk in
          veth | tap | dummy) ;;
          *) add_why "bridges $pn, a $pk device that connects other machines" ;;
        esac
      done <<NFTSG_LINKS
$LINKTAB
NFTSG_LINKS
      ;;
    veth | tap) ;;
    *) add_why "is a $2 device, not a bridge of local guests, a veth or a tap" ;;
  esac
  # A bridge of local guests may hold a public (routed) prefix for them.
  if [ "$2" != bridge ]; then
    while read -r an aa; do
      [ "$an" = "$1" ] || continue
      if is_global_addr "$aa"; then add_why "carries the public address $aa"; fi
    done <<NFTSG_ADDRS
$ADDRTAB
NFTSG_ADDRS
  fi
}
add_why() { if [ -n "$WHY" ]; then WHY="$WHY; $*"; else WHY=$*; fi; }

check_local_ifaces() {
  [ -n "$LOCAL_IFACES" ] || return 0
  command -v ip >/dev/null 2>&1 || fail preflight "the ruleset treats interfaces matching containers.interfaces as local, but ip (iproute2) is not installed to check that none of them is an uplink; install iproute2 or set containers.interfaces to []; nothing was changed"
  conn=$(ssh_connection) || fail preflight "cannot find the SSH connection (SSH_CONNECTION) to check that no interface matching containers.interfaces carries it; nothing was changed"
  MGMT_CLIENT=$(printf '%s' "$conn" | cut -d ' ' -f 1)
  MGMT_SERVER=$(printf '%s' "$conn" | cut -d ' ' -f 3 | cut -d % -f 1)
  case $MGMT_CLIENT in
    *%*) MGMT_CLIENT_DEVS=$(printf '%s' "$MGMT_CLIENT" | cut -d % -f 2) ;;
    *) MGMT_CLIENT_DEVS=$(ip route get "$MGMT_CLIENT" 2>/dev/null | route_devs) ;;
  esac
  DEFAULT_DEVS=$({ ip -4 route show table all default; ip -6 route show table all default; } 2>/dev/null | route_devs)
  out=$(ip -d -o link show 2>&1) || fail preflight "cannot list the interfaces to check containers.interfaces (ip -d -o link show: $out); nothing was changed"
  LINKTAB=$(printf '%s\n' "$out" | link_table)
  addrs=$(ip -o addr show 2>/dev/null)
  MGMT_SERVER_DEVS=$(printf '%s\n' "$addrs" | awk -v a="$MGMT_SERVER" '$3 == "inet" || $3 == "inet6" { split($4, p, "/"); if (p[1] == a) printf "%s ", $2 }')
  # Link-local and host-scope addresses are never public: not looked at.
  ADDRTAB=$(printf '%s\n' "$addrs" | awk '($3 == "inet" || $3 == "inet6") && / scope global / { split($4, p, "/"); print $2, p[1] }')
  problems=
  while read -r name kind _master; do
    [ -n "$name" ] || continue
    match_local "$name"
    [ -n "$PAT" ] || continue
    uplink_reasons "$name" "$kind"
    [ -n "$WHY" ] || continue
    problems="$problems
interface $name (matched by \"$PAT\") $WHY"
  done <<NFTSG_LINKS
$LINKTAB
NFTSG_LINKS
  [ -z "$problems" ] || fail preflight "containers.interfaces: everything arriving on a local (container) interface is accepted like loopback, before every security group rule, so none may connect this host to other machines:$problems
Set containers.interfaces to this host's container and VM bridges only (e.g. [\"docker0\", \"br-<network id>\"]); nothing was changed"
}
`;

/**
 * Observe (docs/observe.md): an observed table's counters and recorded flows
 * survive an apply. The new table replaces the old one in one transaction
 * (table {} + delete table + definition), so what the old one counted is
 * carried into the new one inside that same transaction: each named counter
 * of the new table that the live one also has starts from the live value,
 * and each dynamic set whose definition is unchanged gets the live elements
 * back (with their counters and remaining timeouts). `counting_since` keeps
 * the time the counters started (now for a new table; the host's boot time
 * for a table loaded at boot, whose value is 0).
 *
 * now_ms: the host's clock in milliseconds (seconds * 1000 where date has no
 * %N). seed_table LIVE_LISTING NEW_SCRIPT > SEEDED: the seeded script.
 */
export const SH_SEED = String.raw`now_ms() {
  t=$(date +%s%N 2>/dev/null)
  case $t in
    '' | *[!0-9]*) t=$(date +%s)000 ;;
    *) t=$((t / 1000000)) ;;
  esac
  printf '%s' "$t"
}

boot_time() { awk '$1 == "btime" { print $2 }' /proc/stat 2>/dev/null; }

seed_table() {
  awk -v now="$(date +%s)" -v btime="$(boot_time)" -v table="$T" '
    function header(kind, line) { sub("^\t" kind " ", "", line); sub(/ \{$/, "", line); return line }
    # The live listing (maybe empty: a new table): counter values, dynamic sets (definition and elements).
    FILENAME == ARGV[1] {
      if (c != "" && $0 ~ /^\t\tpackets [0-9]+ bytes [0-9]+$/) { val[c] = $0 }
      c = ""
      if ($0 ~ /^\tcounter [A-Za-z0-9_-]+ \{$/) { c = header("counter", $0); next }
      if ($0 ~ /^\tset [A-Za-z0-9_-]+ \{$/) { s = header("set", $0); def[s] = ""; inel = 0; next }
      if (s == "") next
      if ($0 ~ /^\t\}$/) { s = ""; inel = 0; next }
      line = $0
      if (line ~ /^\t\telements = \{/) { inel = 1; sub(/^\t\telements = \{ */, "", line) }
      else if (inel) sub(/^[ \t]+/, "", line)
      else { def[s] = def[s] line "\n"; if (line ~ /^\t\tflags .*dynamic/) dyn[s] = 1; next }
      if (line ~ / *\}$/) { sub(/ *\}$/, "", line); inel = 0 }
      el[s] = el[s] (el[s] == "" ? "" : " ") line
      next
    }
    # The new script, printed with live counter values; its dynamic sets noted.
    {
      if (nc != "" && $0 == "\t\tpackets 0 bytes 0") {
        if (nc in val) v = val[nc]
        else if (nc == "counting_since") v = "\t\tpackets " now " bytes 0"
        else v = $0
        if (nc == "counting_since" && v ~ /^\t\tpackets 0 bytes/ && btime != "") v = "\t\tpackets " btime " bytes 0"
        print v; nc = ""; next
      }
      nc = ""
      print
      if ($0 ~ /^\tcounter [A-Za-z0-9_-]+ \{$/) { nc = header("counter", $0); next }
      if ($0 ~ /^\tset [A-Za-z0-9_-]+ \{$/) { ns = header("set", $0); ndef[ns] = ""; order[++n] = ns; next }
      if (ns != "") { if ($0 ~ /^\t\}$/) ns = ""; else ndef[ns] = ndef[ns] $0 "\n" }
    }
    END {
      for (i = 1; i <= n; i++) {
        k = order[i]
        if ((k in dyn) && el[k] != "" && def[k] == ndef[k]) printf "add element inet %s %s { %s }\n", table, k, el[k]
      }
    }
  ' "$1" "$2"
}
`;
