// Private /etc/nftsg and /etc/nftables.conf per host. All hosts share one
// filesystem, but `ip netns exec NS` (used to start each host's sshd, and by
// exec()) bind-mounts every entry of /etc/netns/NS over /etc/<entry> in a
// private mount namespace that its children (SSH sessions) inherit. A bind
// mount needs an existing target, so /etc/nftsg is created in the root
// filesystem if missing and deliberately left there (an empty directory).
//
// Caveat for code under test: /etc/nftables.conf is then a bind-mounted file
// inside a host, so it can be rewritten in place but not replaced by rename
// (EBUSY); files inside /etc/nftsg can be renamed freely.
import { copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { ETC_NETNS, ETC_NFTSG } from "./constants";

const ROOT_NFTABLES_CONF = "/etc/nftables.conf";

export function ensureEtcNftsg(): void {
  mkdirSync(ETC_NFTSG, { recursive: true, mode: 0o755 });
}

/**
 * Each host boots like a sysvinit host with its distribution's nftables
 * service enabled: an init script that loads /etc/nftables.conf, linked in
 * runlevel 2. Lab hosts have no systemd, and nftsg counts an include line as
 * persisted only when something loads its file at boot; a test that wants a
 * host without it removes the link (its own /etc/rc2.d).
 */
const INIT_SCRIPT = [
  "#!/bin/sh",
  "# nftsg lab: the nftables init script of a sysvinit host; loads /etc/nftables.conf at boot.",
  "case \"$1\" in",
  "  start|restart|reload|force-reload) exec /usr/sbin/nft -f /etc/nftables.conf ;;",
  "  stop) ;;",
  "esac",
  "",
].join("\n");

export function prepareEtcNetns(ns: string): void {
  const base = `${ETC_NETNS}/${ns}`;
  mkdirSync(`${base}/nftsg`, { recursive: true, mode: 0o755 });
  if (existsSync(ROOT_NFTABLES_CONF)) copyFileSync(ROOT_NFTABLES_CONF, `${base}/nftables.conf`);
  // Bind-mount targets must exist; they do on Debian, and stay if made here.
  for (const d of ["/etc/init.d", "/etc/rc2.d"]) mkdirSync(d, { recursive: true, mode: 0o755 });
  mkdirSync(`${base}/init.d`, { recursive: true, mode: 0o755 });
  mkdirSync(`${base}/rc2.d`, { recursive: true, mode: 0o755 });
  writeFileSync(`${base}/init.d/nftables`, INIT_SCRIPT, { mode: 0o755 });
  if (!existsSync(`${base}/rc2.d/S01nftables`)) symlinkSync("../init.d/nftables", `${base}/rc2.d/S01nftables`);
}

export function removeEtcNetns(ns: string): void {
  rmSync(`${ETC_NETNS}/${ns}`, { recursive: true, force: true });
}
