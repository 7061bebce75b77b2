// The lab's on-disk record, /run/nftsg-lab/<id>/state.json: everything
// another process (CLI `down`/`status`, attachLab) needs to find and manage
// the lab. Written before any network object is created, so even a lab whose
// `up` crashed can be torn down from it.
import { readFileSync, readdirSync, writeFileSync, renameSync } from "node:fs";
import { ID_PATTERN, LAB_ROOT, labDir } from "./constants";
import type { DistroHostState } from "./distroMachine";

export interface HostState {
  index: number;
  name: string;
  ns: string;
  veth: string;
  ipv4: string;
  ipv6: string;
  /** Per-host directory: sshd config, host key, pid and log files, agent socket. */
  dir: string;
  hostPublicKey: string;
  hostKeyFingerprint: string;
}

export interface LabState {
  version: 1;
  id: string;
  slot: number;
  dir: string;
  bridge: string;
  runnerIpv4: string;
  runnerIpv6: string;
  privateKeyPath: string;
  publicKey: string;
  persistent: boolean;
  createdAt: string;
  hosts: HostState[];
  /** Real-distribution hosts (systemd-nspawn machines), see distroLab.ts. */
  distroHosts?: DistroHostState[];
}

export const statePath = (id: string): string => `${labDir(id)}/state.json`;

export function writeState(state: LabState): void {
  const tmp = `${statePath(state.id)}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
  renameSync(tmp, statePath(state.id));
}

export function readState(id: string): LabState {
  if (!ID_PATTERN.test(id)) throw new Error(`not a lab id: ${JSON.stringify(id)}`);
  let text: string;
  try {
    text = readFileSync(statePath(id), "utf8");
  } catch {
    throw new Error(`no lab ${id} (no ${statePath(id)})`);
  }
  const state = JSON.parse(text) as LabState;
  if (state.version !== 1 || state.id !== id) throw new Error(`unrecognised lab state in ${statePath(id)}`);
  return state;
}

/** Ids of every lab with a directory under /run/nftsg-lab (state may be missing). */
export function listLabIds(): string[] {
  try {
    return readdirSync(LAB_ROOT).filter((d) => ID_PATTERN.test(d)).sort();
  } catch {
    return [];
  }
}
