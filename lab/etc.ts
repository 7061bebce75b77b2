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
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { ETC_NETNS, ETC_NFTSG } from "./constants";

const ROOT_NFTABLES_CONF = "/etc/nftables.conf";

export function ensureEtcNftsg(): void {
  mkdirSync(ETC_NFTSG, { recursive: true, mode: 0o755 });
}

export function prepareEtcNetns(ns: string): void {
  const base = `${ETC_NETNS}/${ns}`;
  mkdirSync(`${base}/nftsg`, { recursive: true, mode: 0o755 });
  if (existsSync(ROOT_NFTABLES_CONF)) copyFileSync(ROOT_NFTABLES_CONF, `${base}/nftables.conf`);
}

export function removeEtcNetns(ns: string): void {
  rmSync(`${ETC_NETNS}/${ns}`, { recursive: true, force: true });
}
