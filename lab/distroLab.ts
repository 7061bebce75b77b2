// A lab of real-distribution hosts: Debian 12 machines with systemd as PID 1
// (systemd-nspawn --boot of the cached debootstrap root), on a lab bridge
// with lab addresses, reachable over real SSH as root or as a sudo user.
// The lab is an ordinary lab (state.json, slot, bridge) whose hosts are
// machines, so `npm run lab -- down`, downAll and the exit hooks remove it.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { HOST_IFACE, bridgeName, labDir } from "./constants";
import { hostIpv4, hostIpv6, runnerIpv4, runnerIpv6 } from "./addressing";
import { DISTRO_SUDO_USER, ensureDistroRoot } from "./distroRoot";
import { bootMachine, machineInitPid, prepareMachine, type DistroHostState } from "./distroMachine";
import { registerOwned, unregisterOwned } from "./hooks";
import { generateEd25519, type SshKeyPair } from "./keys";
import { createNetwork } from "./network";
import { run, sleep, type ExecResult } from "./sh";
import { claimSlot, releaseSlot } from "./slots";
import { readState, writeState, type LabState } from "./state";
import { teardownSync } from "./teardown";
import { reserveId, tcpReachable } from "./up";

export { DISTRO_SUDO_USER };

export interface DistroHost {
  name: string;
  machine: string;
  ipv4: string;
  ipv6: string;
  hostPublicKey: string;
  hostKeyFingerprint: string;
}

export interface DistroLabUpOptions {
  /** Host names (default d1). */
  names?: readonly string[];
  persistent?: boolean;
  log?: (line: string) => void;
}

/** Figures measured while bringing the lab up (reported by tests and the CLI). */
export interface DistroUpTimes {
  rootSeconds: number;
  rootBuilt: boolean;
  /** Per host: from starting the machine to a completed SSH login. */
  bootToSshSeconds: Record<string, number>;
}

const HOST_NAME = /^[a-z][a-z0-9-]{0,30}$/;
const MAX_DISTRO_HOSTS = 8;
// A bound, not a sync point: the waits end as soon as the machine reports a
// new boot id and a login works. A boot under a fully busy 2-core machine
// (the suite's loaded runs) has taken over a minute here.
const BOOT_TIMEOUT_MS = 180_000;
const NSPAWN = "/usr/bin/systemd-nspawn";

export interface SshOptions {
  /** root (default) or the sudo user. */
  user?: string;
  timeoutMs?: number;
}

export class DistroLab {
  readonly id: string;
  readonly dir: string;
  readonly slot: number;
  readonly hosts: readonly DistroHost[];
  readonly runnerIpv4: string;
  readonly runnerIpv6: string;
  readonly privateKeyPath: string;
  readonly publicKey: string;
  readonly knownHostsPath: string;
  readonly sudoUser = DISTRO_SUDO_USER;
  private isDown = false;

  constructor(
    private readonly state: LabState,
    readonly privateKey: string,
    readonly times: DistroUpTimes,
  ) {
    this.id = state.id;
    this.dir = state.dir;
    this.slot = state.slot;
    this.runnerIpv4 = state.runnerIpv4;
    this.runnerIpv6 = state.runnerIpv6;
    this.privateKeyPath = state.privateKeyPath;
    this.publicKey = state.publicKey;
    this.knownHostsPath = `${state.dir}/known_hosts`;
    this.hosts = (state.distroHosts ?? []).map((h) => ({
      name: h.name, machine: h.machine, ipv4: h.ipv4, ipv6: h.ipv6,
      hostPublicKey: h.hostPublicKey, hostKeyFingerprint: h.hostKeyFingerprint,
    }));
  }

  private hostState(name: string): DistroHostState {
    const h = this.state.distroHosts?.find((x) => x.name === name);
    if (!h) throw new Error(`distro lab ${this.id} has no host ${JSON.stringify(name)}`);
    return h;
  }

  host(name: string): DistroHost {
    this.hostState(name);
    return this.hosts.find((h) => h.name === name) as DistroHost;
  }

  sshArgs(host: string, user = "root"): string[] {
    const h = this.hostState(host);
    return [
      "-i", this.privateKeyPath,
      "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
      "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${this.knownHostsPath}`,
      "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
      `${user}@${h.ipv4}`,
    ];
  }

  /** A command over real SSH (pinned host key). */
  ssh(host: string, cmd: string, opts: SshOptions = {}): Promise<ExecResult> {
    return run("ssh", [...this.sshArgs(host, opts.user), cmd], { timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  /** A command as root inside the machine without SSH (nsenter into its namespaces). */
  exec(host: string, cmd: string, opts: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
    const pid = machineInitPid(this.hostState(host));
    if (pid === undefined) return Promise.resolve({ code: 255, stdout: "", stderr: `${host} is not running` });
    return run("nsenter", ["-t", String(pid), "-a", "/bin/sh", "-c", cmd], { timeoutMs: opts.timeoutMs ?? 30_000, input: opts.input });
  }

  /** This boot's id (changes on every real reboot), read without SSH. */
  async bootId(host: string): Promise<string | undefined> {
    const r = await this.exec(host, "cat /proc/sys/kernel/random/boot_id");
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  /** Waits until an SSH login as root succeeds (bounded). */
  async waitSsh(host: string, timeoutMs = BOOT_TIMEOUT_MS): Promise<void> {
    const h = this.hostState(host);
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (await tcpReachable(h.ipv4, 22, 500)) {
        const r = await this.ssh(host, "true", { timeoutMs: 10_000 });
        if (r.code === 0) return;
        last = r.stderr.trim();
      }
      await sleep(100);
    }
    // The console is removed with the lab: its end goes into the error.
    let consoleTail = "";
    try {
      consoleTail = readFileSync(`${h.dir}/console.log`, "utf8").split("\n").slice(-25).join("\n");
    } catch { /* no console log */ }
    throw new Error(`distro host ${host} (${h.ipv4}): no SSH login within ${timeoutMs} ms${last ? `: ${last}` : ""}; console:\n${consoleTail}`);
  }

  /**
   * A real reboot (systemctl reboot inside; systemd-nspawn exits 133 and the
   * wrapper boots the machine again). Resolves once a new boot id is up and
   * SSH works; returns the seconds that took.
   */
  async reboot(host: string, timeoutMs = BOOT_TIMEOUT_MS): Promise<number> {
    const before = await this.bootId(host);
    const t0 = Date.now();
    await this.exec(host, "systemctl reboot", { timeoutMs: 10_000 });
    const deadline = t0 + timeoutMs;
    for (;;) {
      const now = await this.bootId(host);
      if (now !== undefined && now !== before) break;
      if (Date.now() > deadline) throw new Error(`distro host ${host} did not come back from reboot within ${timeoutMs} ms`);
      await sleep(100);
    }
    await this.waitSsh(host, Math.max(1000, deadline - Date.now()));
    return (Date.now() - t0) / 1000;
  }

  async down(): Promise<void> {
    if (this.isDown) return;
    this.isDown = true;
    teardownSync(this.state);
    unregisterOwned(this.id);
  }
}

function hostNames(opts: DistroLabUpOptions): string[] {
  const names = [...(opts.names ?? ["d1"])];
  if (names.length < 1 || names.length > MAX_DISTRO_HOSTS) throw new Error(`a distro lab has 1..${MAX_DISTRO_HOSTS} hosts`);
  for (const n of names) if (!HOST_NAME.test(n) || n === "runner") throw new Error(`bad host name ${JSON.stringify(n)}`);
  if (new Set(names).size !== names.length) throw new Error(`duplicate host names: ${names.join(", ")}`);
  return names;
}

function buildState(id: string, slot: number, names: string[], client: SshKeyPair, keys: SshKeyPair[], persistent: boolean): LabState {
  const dir = labDir(id);
  return {
    version: 1, id, slot, dir, bridge: bridgeName(id),
    runnerIpv4: runnerIpv4(slot), runnerIpv6: runnerIpv6(slot),
    privateKeyPath: `${dir}/id_ed25519`, publicKey: client.publicKey,
    persistent, createdAt: new Date().toISOString(), hosts: [],
    distroHosts: names.map((name, i) => {
      const index = i + 1;
      const key = keys[i] as SshKeyPair;
      return {
        index, name, machine: `nftsg-${id}-d${index}`,
        ipv4: hostIpv4(slot, index), ipv6: hostIpv6(slot, index),
        dir: `${dir}/d${index}`, veth: `nftsg${id}v${index}`, peer: HOST_IFACE,
        hostPublicKey: key.publicKey, hostKeyFingerprint: key.fingerprint,
      };
    }),
  };
}

/** Brings up real Debian 12 hosts; unless `persistent`, they go when this process exits. */
export async function distroLabUp(opts: DistroLabUpOptions = {}): Promise<DistroLab> {
  if (process.getuid?.() !== 0) throw new Error("the distro lab needs root (overlay mounts, systemd-nspawn)");
  if (!existsSync(NSPAWN)) throw new Error(`${NSPAWN} missing: apt-get install systemd-container (scripts/setup.sh does)`);
  const names = hostNames(opts);
  const root = await ensureDistroRoot(opts.log);
  const persistent = opts.persistent ?? false;
  const id = reserveId();
  let state: LabState | undefined;
  let slot: number | undefined;
  try {
    slot = claimSlot(id);
    const client = generateEd25519(`nftsg-lab-${id}`);
    const keys = names.map((n) => generateEd25519(`${n}@nftsg-lab-${id}`));
    state = buildState(id, slot, names, client, keys, persistent);
    const s = state;
    if (!persistent) registerOwned(id, () => teardownSync(s));
    writeFileSync(s.privateKeyPath, client.privateKey, { mode: 0o600 });
    const authorized = `${client.publicKey} nftsg-lab-${id}\n`;
    const hosts = s.distroHosts ?? [];
    writeFileSync(`${s.dir}/known_hosts`, hosts.flatMap((h) => [`${h.ipv4} ${h.hostPublicKey}`, `${h.ipv6} ${h.hostPublicKey}`]).join("\n") + "\n");
    writeState(s); // before anything is created, so a crash can be cleaned up from it
    await createNetwork(s);
    for (const [i, h] of hosts.entries()) await prepareMachine(h, root.path, keys[i] as SshKeyPair, authorized);
    const started = Date.now();
    for (const h of hosts) bootMachine(h, s.bridge);
    const lab = new DistroLab(s, client.privateKey, { rootSeconds: root.seconds, rootBuilt: root.built, bootToSshSeconds: {} });
    for (const h of hosts) {
      await lab.waitSsh(h.name);
      lab.times.bootToSshSeconds[h.name] = (Date.now() - started) / 1000;
    }
    return lab;
  } catch (e) {
    unregisterOwned(id);
    if (state) teardownSync(state);
    else {
      rmSync(labDir(id), { recursive: true, force: true });
      if (slot !== undefined) releaseSlot(slot, id);
    }
    throw e;
  }
}

/** Handle on a running distro lab (e.g. from `npm run lab -- distro-up`). */
export async function attachDistroLab(id: string): Promise<DistroLab> {
  const state = readState(id);
  if (!state.distroHosts?.length) throw new Error(`lab ${id} has no distro hosts`);
  return new DistroLab(state, readFileSync(state.privateKeyPath, "utf8"), { rootSeconds: 0, rootBuilt: false, bootToSshSeconds: {} });
}
