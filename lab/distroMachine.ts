// One real-distribution lab host: an overlay of the cached Debian root,
// booted by systemd-nspawn with systemd as PID 1, plugged into the lab bridge
// through a veth pair the lab names (nftsg<id>v<i> outside, nftsg0 in the
// machine, as in namespace hosts). A small wrapper boots it again whenever the guest reboots.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DISTRO_SUDO_USER } from "./distroRoot";
import type { SshKeyPair } from "./keys";
import { isAlive, killSync } from "./processes";
import { childEnv, runOk, runSync, sleepSync } from "./sh";

export interface DistroHostState {
  index: number;
  name: string;
  /** systemd-nspawn machine name, nftsg-<id>-d<i>. */
  machine: string;
  ipv4: string;
  ipv6: string;
  /** /run/nftsg-lab/<id>/d<i>: overlay dirs, wrapper pid files, console log. */
  dir: string;
  /** Root-namespace end of the veth pair (a bridge port). */
  veth: string;
  /** Machine end of the veth pair (made in the machine's netns at each boot). */
  peer: string;
  hostPublicKey: string;
  hostKeyFingerprint: string;
}

export const distroPaths = (h: DistroHostState) => ({
  upper: `${h.dir}/upper`,
  work: `${h.dir}/work`,
  root: `${h.dir}/root`,
  console: `${h.dir}/console.log`,
  wrapperPid: `${h.dir}/wrapper.pid`,
  nspawnPid: `${h.dir}/nspawn.pid`,
});

/** Upper bound on boots per machine: a guest stuck in a reboot loop stops. */
const MAX_BOOTS = 100;

/** cgroup parent of every machine's private cgroup (see cgroupDirs). */
const CGROUP_PARENT = "nftsg-lab";

/**
 * With --keep-unit, nspawn puts payload/ and supervisor/ cgroups beside itself,
 * so two machines in one cgroup collide: each wrapper moves into its own cgroup
 * first (both hierarchies on a hybrid host, the single one on cgroup v2).
 */
export function cgroupDirs(machine: string): string[] {
  const hybrid = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"].filter((d) => existsSync(`${d}/cgroup.procs`));
  const bases = hybrid.length > 0 ? hybrid : ["/sys/fs/cgroup"];
  return bases.map((b) => `${b}/${CGROUP_PARENT}/${machine}`);
}

function wrapperScript(h: DistroHostState, bridge: string, root: string): string {
  const p = distroPaths(h);
  return `#!/bin/sh
# nftsg lab: boots ${h.machine}, and again after each guest reboot (exit 133).
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
for c in ${cgroupDirs(h.machine).join(" ")}; do mkdir -p "$c" && echo $$ > "$c/cgroup.procs"; done
echo $$ > ${p.wrapperPid}
boots=0
while [ $boots -lt ${MAX_BOOTS} ]; do
  boots=$((boots + 1))
  # nspawn makes the veth pair (a link it did not make would need udev to
  # have initialised it); plug its outer end into the lab bridge once it exists.
  ip link del ${h.veth} 2>/dev/null
  systemd-nspawn --quiet -D ${root} --boot --register=no --keep-unit --machine=${h.machine} \\
    --network-veth-extra=${h.veth}:${h.peer} --console=read-only --link-journal=no --resolv-conf=off --timezone=off </dev/null &
  echo $! > ${p.nspawnPid}
  n=0
  until ip link set ${h.veth} master ${bridge} up 2>/dev/null; do
    n=$((n + 1)); [ $n -lt 200 ] || break
    sleep 0.05
  done
  wait $!
  rc=$?
  echo "nftsg-lab: nspawn exited with $rc (boot $boots)"
  [ $rc -eq 133 ] || break
done
ip link del ${h.veth} 2>/dev/null
rm -f ${p.nspawnPid} ${p.wrapperPid}
`;
}

function networkUnit(h: DistroHostState): string {
  return `[Match]
Name=${h.peer}

[Network]
Address=${h.ipv4}/24
LinkLocalAddressing=no
IPv6AcceptRA=no

[Address]
Address=${h.ipv6}/64
DuplicateAddressDetection=none
`;
}

function uidOf(root: string, user: string): number {
  const line = readFileSync(`${root}/etc/passwd`, "utf8").split("\n").find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`${user} missing from the distro root's /etc/passwd`);
  return Number(line.split(":")[2]);
}

/** Overlay on the cached root, plus everything that makes this machine itself. */
export async function prepareMachine(h: DistroHostState, baseRoot: string, hostKey: SshKeyPair, authorizedKeys: string): Promise<void> {
  const p = distroPaths(h);
  for (const d of [p.upper, p.work, p.root]) mkdirSync(d, { recursive: true, mode: 0o755 });
  await runOk("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${baseRoot},upperdir=${p.upper},workdir=${p.work}`, p.root]);
  const r = p.root;
  writeFileSync(`${r}/etc/hostname`, `${h.name}\n`);
  writeFileSync(`${r}/etc/hosts`, `127.0.0.1 localhost\n127.0.1.1 ${h.name}\n::1 localhost\n`);
  writeFileSync(`${r}/etc/machine-id`, `${randomBytes(16).toString("hex")}\n`);
  writeFileSync(`${r}/etc/systemd/network/10-nftsg-lab.network`, networkUnit(h));
  writeFileSync(`${r}/etc/ssh/ssh_host_ed25519_key`, hostKey.privateKey, { mode: 0o600 });
  writeFileSync(`${r}/etc/ssh/ssh_host_ed25519_key.pub`, `${hostKey.publicKey} ${h.name}\n`);
  writeFileSync(`${r}/root/.ssh/authorized_keys`, authorizedKeys, { mode: 0o600 });
  const home = `${r}/home/${DISTRO_SUDO_USER}/.ssh`;
  writeFileSync(`${home}/authorized_keys`, authorizedKeys, { mode: 0o600 });
  const uid = uidOf(r, DISTRO_SUDO_USER);
  await runOk("chown", [`${uid}:${uid}`, `${home}/authorized_keys`]);
}

/** Starts the wrapper (detached: it outlives nothing but is found again from its pid files). */
export function bootMachine(h: DistroHostState, bridge: string): void {
  const p = distroPaths(h);
  const script = `${h.dir}/boot.sh`;
  writeFileSync(script, wrapperScript(h, bridge, p.root), { mode: 0o755 });
  const out = openSync(p.console, "a");
  try {
    const child = spawn("/bin/sh", [script], {
      detached: true, stdio: ["ignore", out, out], env: childEnv(),
    });
    child.unref();
  } finally {
    closeSync(out);
  }
}

function readPid(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/** Pid (in the root pid namespace) of the machine's systemd, if it is running. */
export function machineInitPid(h: DistroHostState): number | undefined {
  const nspawn = readPid(distroPaths(h).nspawnPid);
  if (nspawn === undefined) return undefined;
  return childrenOf(nspawn)[0];
}

/**
 * Stops the machine: a clean poweroff (SIGTERM to nspawn) with a deadline,
 * then SIGKILL to the machine's init (which ends its whole pid namespace),
 * nspawn and the wrapper. Then unmounts and removes everything it made.
 * Synchronous so that exit handlers can run it.
 */
export function destroyMachineSync(h: DistroHostState, graceMs = 8000): void {
  const p = distroPaths(h);
  // SIGTERM to nspawn powers the machine off; nspawn then exits 0 and the
  // wrapper (which reaps it) stops booting and exits by itself.
  const nspawn = readPid(p.nspawnPid);
  const init = nspawn === undefined ? undefined : childrenOf(nspawn)[0];
  if (nspawn !== undefined && isAlive(nspawn)) {
    try {
      process.kill(nspawn, "SIGTERM");
    } catch { /* gone */ }
  }
  const wrapper = readPid(p.wrapperPid);
  const deadline = Date.now() + graceMs;
  while (wrapper !== undefined && isAlive(wrapper) && Date.now() < deadline) sleepSync(50);
  // Past the deadline: SIGKILL to the machine's init ends its whole pid namespace.
  const left = [wrapper, readPid(p.nspawnPid), nspawn, init].filter((x): x is number => x !== undefined && isAlive(x));
  killSync([...new Set(left)]);
  // Whatever is still in the machine's cgroups (its nspawn may have died before this ran).
  killCgroupTreesSync(cgroupDirs(h.machine));
  runSync("ip", ["link", "del", h.veth]);
  if (existsSync(p.root)) {
    if (runSync("umount", [p.root]).code !== 0) runSync("umount", ["-l", p.root]);
  }
  for (const c of cgroupDirs(h.machine)) {
    removeCgroupTree(c);
    try {
      rmdirSync(dirname(c)); // the shared parent, once no machine uses it
    } catch { /* other machines still run */ }
  }
  rmSync(h.dir, { recursive: true, force: true });
}

/** Removes a cgroup and the payload/supervisor cgroups nspawn made below it (deepest first). */
function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) removeCgroupTree(join(dir, e.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // still populated (a process outlived the kill): left for `lab down --all`
  }
}

/** Every pid in a cgroup and the cgroups below it. */
function cgroupPids(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const own = (() => {
    try {
      return readFileSync(`${dir}/cgroup.procs`, "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return [];
    }
  })();
  const below = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => cgroupPids(join(dir, e.name)));
  return [...own, ...below];
}

/**
 * SIGKILLs everything in the cgroup trees (a machine's processes, whatever
 * became of its nspawn and wrapper): the machines' inits first, which ends
 * their pid namespaces, then anything left.
 */
function killCgroupTreesSync(dirs: readonly string[]): void {
  const pids = () => [...new Set(dirs.flatMap(cgroupPids))].filter((p) => p !== process.pid);
  const deadline = Date.now() + 5000;
  for (let left = pids(); left.length > 0 && Date.now() < deadline; left = pids()) {
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    sleepSync(50);
  }
}

/**
 * Leftovers of distro machines whose lab state is gone (a crashed run): every
 * process in the machines' cgroups, overlay mounts under `labRoot`, cgroups.
 */
export function sweepMachinesSync(labRoot: string): void {
  const parents = [...new Set(cgroupDirs("x").map(dirname))];
  killCgroupTreesSync(parents);
  const mounts = readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" "))
    .filter((f) => f[2] === "overlay" && (f[1] ?? "").startsWith(`${labRoot}/`)).map((f) => f[1] as string);
  for (const m of mounts.reverse()) if (runSync("umount", [m]).code !== 0) runSync("umount", ["-l", m]);
  for (const c of parents) removeCgroupTree(c);
}
