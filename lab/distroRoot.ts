// The root filesystem of the lab's real-distribution hosts: a Debian 12
// (bookworm) made once by debootstrap from Debian's own packages and cached
// outside the repository, keyed by a hash of everything that goes into it.
// Machines never write to it: each boots an overlay of it (distroMachine.ts).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { run, runOk } from "./sh";

export const DISTRO_SUITE = "bookworm";

/** What a real host needs for nftsg and for the tests (systemd as PID 1, sshd, nft, sudo). */
export const DISTRO_PACKAGES = [
  "systemd", "systemd-sysv", "dbus", "openssh-server", "nftables", "iproute2", "sudo", "procps",
] as const;

/** The non-root login the sudo tests use (passwordless sudo, like a cloud image's default user). */
export const DISTRO_SUDO_USER = "nftsg-op";

/**
 * Machine-independent configuration, run in the new root by chroot. Per-machine
 * parts (hostname, machine-id, addresses, keys) are written into each overlay.
 */
const CONFIGURE = `set -e
# Host keys are per machine (the lab writes one ed25519 key into each overlay).
rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
systemctl enable systemd-networkd.service
# Nothing may wake up and fetch from the network inside a lab host.
systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer
useradd --create-home --shell /bin/sh ${DISTRO_SUDO_USER}
echo '${DISTRO_SUDO_USER} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/${DISTRO_SUDO_USER}
chmod 0440 /etc/sudoers.d/${DISTRO_SUDO_USER}
install -d -m 0700 /root/.ssh
install -d -m 0700 -o ${DISTRO_SUDO_USER} -g ${DISTRO_SUDO_USER} /home/${DISTRO_SUDO_USER}/.ssh
apt-get clean
rm -rf /var/lib/apt/lists/* /var/log/journal/*
`;

export const distroCacheRoot = (): string => join(homedir(), ".cache/nftsg/distro");

/** Cache key: changes whenever the suite, the package list or the configuration does. */
export function distroRootHash(): string {
  return createHash("sha256").update(JSON.stringify([DISTRO_SUITE, DISTRO_PACKAGES, CONFIGURE])).digest("hex").slice(0, 12);
}

export const distroRootPath = (): string => join(distroCacheRoot(), `${DISTRO_SUITE}-${distroRootHash()}`);

/** Written last: a root without it is an interrupted build. */
const COMPLETE = ".nftsg-complete";

const DEFAULT_MIRROR = "http://deb.debian.org/debian";

/** The first Debian archive URI in apt sources text (deb822 "URIs:" or one-line "deb"), if any. */
export function mirrorFromSources(text: string): string | undefined {
  const uris = [...text.matchAll(/(?:^URIs:[ \t]*|^deb[ \t]+(?:\[[^\]]*\][ \t]+)?)(\S+)/gm)].map((m) => m[1] as string);
  return uris.find((u) => /^https?:\/\/.*\/debian\/?$/.test(u))?.replace(/\/$/, "");
}

/**
 * The Debian mirror apt on this machine already uses, so the build needs no
 * network access apt does not have.
 */
export function debianMirror(): string {
  const files = ["/etc/apt/sources.list"];
  try {
    for (const f of readdirSync("/etc/apt/sources.list.d").sort()) files.push(`/etc/apt/sources.list.d/${f}`);
  } catch {
    // no sources.list.d
  }
  for (const f of files) {
    try {
      const mirror = mirrorFromSources(readFileSync(f, "utf8"));
      if (mirror) return mirror;
    } catch {
      // unreadable: try the next
    }
  }
  return DEFAULT_MIRROR;
}

export interface DistroRootResult {
  path: string;
  /** False when the cached root was reused. */
  built: boolean;
  seconds: number;
}

/**
 * The cached root, built if missing. Builds go to a private temporary
 * directory renamed into place at the end, so concurrent builders and
 * interrupted builds never leave a half-made root under the final name.
 */
export async function ensureDistroRoot(log: (line: string) => void = () => undefined): Promise<DistroRootResult> {
  const t0 = process.hrtime.bigint();
  const seconds = (): number => Number(process.hrtime.bigint() - t0) / 1e9;
  const dest = distroRootPath();
  if (existsSync(join(dest, COMPLETE))) return { path: dest, built: false, seconds: seconds() };
  if (!existsSync("/usr/sbin/debootstrap")) throw new Error("debootstrap missing: apt-get install debootstrap (scripts/setup.sh does)");
  mkdirSync(distroCacheRoot(), { recursive: true });
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    const mirror = debianMirror();
    log(`distro: debootstrap ${DISTRO_SUITE} from ${mirror} into ${tmp}`);
    const r = await run("debootstrap", [
      "--variant=minbase", `--include=${DISTRO_PACKAGES.join(",")}`, DISTRO_SUITE, tmp, mirror,
    ], { timeoutMs: 20 * 60_000 });
    if (r.code !== 0) {
      const tail = r.stdout.split("\n").slice(-15).join("\n");
      throw new Error(`debootstrap failed (${r.code}):\n${tail}\n${r.stderr.trim()}\n(see ${tmp}/debootstrap/debootstrap.log)`);
    }
    await runOk("chroot", [tmp, "/bin/sh", "-c", CONFIGURE], { timeoutMs: 120_000 });
    writeFileSync(join(tmp, COMPLETE), `${new Date().toISOString()} ${mirror}\n`);
    if (existsSync(join(dest, COMPLETE))) {
      rmSync(tmp, { recursive: true, force: true }); // another builder finished first
    } else {
      rmSync(dest, { recursive: true, force: true });
      renameSync(tmp, dest);
    }
    return { path: dest, built: true, seconds: seconds() };
  } catch (e) {
    // Keep the failed tree only long enough to read its log.
    if (existsSync(`${tmp}/debootstrap/debootstrap.log`)) {
      try {
        log(readFileSync(`${tmp}/debootstrap/debootstrap.log`, "utf8").split("\n").slice(-30).join("\n"));
      } catch { /* best effort */ }
    }
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
