// Bringing a lab up: reserve an id and a subnet, write keys and configs,
// record state.json, then create the network and start one sshd per host.
// If anything fails, whatever was created is torn down before rethrowing.
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import {
  LAB_ROOT, MAX_HOSTS, SETUP_CONCURRENCY, SSHD_BIN, SSHD_PRIVSEP_DIR,
  bridgeName, labDir, nsName, vethName,
} from "./constants";
import { hostIpv4, hostIpv6, runnerIpv4, runnerIpv6 } from "./addressing";
import { ensureEtcNftsg, prepareEtcNetns } from "./etc";
import { registerOwned, unregisterOwned } from "./hooks";
import { generateEd25519, type SshKeyPair } from "./keys";
import { LabImpl, knownHostsPath } from "./lab";
import { createNetwork } from "./network";
import { mapLimit } from "./pool";
import { sleep } from "./sh";
import { claimSlot, releaseSlot } from "./slots";
import { sshdConfig, sshdPaths, startSshd } from "./sshd";
import { writeState, type HostState, type LabState } from "./state";
import { teardownSync } from "./teardown";
import type { LabUpOptions } from "./types";

const HOST_NAME = /^[a-z][a-z0-9-]{0,30}$/;

function hostNames(opts: LabUpOptions): string[] {
  if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > MAX_HOSTS) {
    throw new Error(`hosts must be an integer in 1..${MAX_HOSTS}, got ${opts.hosts}`);
  }
  const names = opts.hostNames ? [...opts.hostNames] : Array.from({ length: opts.hosts }, (_, i) => `h${i + 1}`);
  if (names.length !== opts.hosts) throw new Error(`hostNames has ${names.length} names for ${opts.hosts} hosts`);
  for (const n of names) {
    if (!HOST_NAME.test(n) || n === "runner") throw new Error(`bad host name ${JSON.stringify(n)}`);
  }
  if (new Set(names).size !== names.length) throw new Error(`duplicate host names: ${names.join(", ")}`);
  return names;
}

function preflight(): void {
  if (process.getuid?.() !== 0) throw new Error("the lab needs root (network namespaces, sshd)");
  if (!existsSync(SSHD_BIN)) throw new Error(`${SSHD_BIN} missing: apt-get install openssh-server`);
}

/** A fresh 4-char base36 id, reserved by creating its directory. */
export function reserveId(): string {
  mkdirSync(LAB_ROOT, { recursive: true, mode: 0o755 });
  for (let attempt = 0; attempt < 20; attempt++) {
    const id = (randomBytes(4).readUInt32BE() % 36 ** 4).toString(36).padStart(4, "0");
    try {
      mkdirSync(labDir(id), { mode: 0o700 });
      return id;
    } catch {
      // taken: try another
    }
  }
  throw new Error("could not reserve a lab id");
}

function buildState(id: string, slot: number, names: string[], client: SshKeyPair, hostKeys: SshKeyPair[], persistent: boolean): LabState {
  const dir = labDir(id);
  const hosts: HostState[] = names.map((name, i) => {
    const index = i + 1;
    const key = hostKeys[i] as SshKeyPair;
    return {
      index, name, ns: nsName(id, index), veth: vethName(id, index),
      ipv4: hostIpv4(slot, index), ipv6: hostIpv6(slot, index),
      dir: `${dir}/h${index}`, hostPublicKey: key.publicKey, hostKeyFingerprint: key.fingerprint,
    };
  });
  return {
    version: 1, id, slot, dir, bridge: bridgeName(id),
    runnerIpv4: runnerIpv4(slot), runnerIpv6: runnerIpv6(slot),
    privateKeyPath: `${dir}/id_ed25519`, publicKey: client.publicKey,
    persistent, createdAt: new Date().toISOString(), hosts,
  };
}

function writeFiles(state: LabState, client: SshKeyPair, hostKeys: SshKeyPair[], runnerLoginRc: boolean): void {
  mkdirSync(SSHD_PRIVSEP_DIR, { recursive: true, mode: 0o755 });
  ensureEtcNftsg();
  writeFileSync(state.privateKeyPath, client.privateKey, { mode: 0o600 });
  writeFileSync(`${state.privateKeyPath}.pub`, `${client.publicKey} nftsg-lab-${state.id}\n`);
  const authorizedKeys = `${state.dir}/authorized_keys`;
  writeFileSync(authorizedKeys, `${client.publicKey} nftsg-lab-${state.id}\n`, { mode: 0o600 });
  const known = state.hosts.flatMap((h) => [`${h.ipv4} ${h.hostPublicKey}`, `${h.ipv6} ${h.hostPublicKey}`]);
  writeFileSync(knownHostsPath(state), known.join("\n") + "\n");
  state.hosts.forEach((h, i) => {
    const p = sshdPaths(h);
    mkdirSync(h.dir, { mode: 0o700 });
    writeFileSync(p.hostKey, (hostKeys[i] as SshKeyPair).privateKey, { mode: 0o600 });
    writeFileSync(`${p.hostKey}.pub`, `${h.hostPublicKey} ${h.name}\n`);
    writeFileSync(p.config, sshdConfig(h, authorizedKeys, { runnerLoginRc }));
    prepareEtcNetns(h.ns);
  });
}

/** One TCP connect with a deadline (used by `up` and by the CLI's `status`). */
export function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

/** sshd reachable from the runner on both families: proves bridge, veths and addresses work. */
async function waitReachable(state: LabState, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const targets = state.hosts.flatMap((h) => [h.ipv4, h.ipv6]);
  await mapLimit(targets, 32, async (addr) => {
    while (!(await tcpReachable(addr, 22, 1000))) {
      if (Date.now() > deadline) throw new Error(`lab ${state.id}: sshd at ${addr}:22 unreachable from the runner`);
      await sleep(50);
    }
  });
}

export async function labUp(opts: LabUpOptions): Promise<LabImpl> {
  preflight();
  const names = hostNames(opts);
  const persistent = opts.persistent ?? false;
  const id = reserveId();
  let state: LabState | undefined;
  let slot: number | undefined;
  try {
    slot = claimSlot(id);
    const client = generateEd25519(`nftsg-lab-${id}`);
    const hostKeys = names.map((n) => generateEd25519(`${n}@nftsg-lab-${id}`));
    state = buildState(id, slot, names, client, hostKeys, persistent);
    const s = state;
    if (!persistent) registerOwned(id, () => teardownSync(s));
    writeFiles(state, client, hostKeys, opts.runnerLoginRc ?? false);
    writeState(state);
    await createNetwork(state);
    await mapLimit(state.hosts, SETUP_CONCURRENCY, (h) => startSshd(h));
    await waitReachable(state);
    return new LabImpl(state, client.privateKey);
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
