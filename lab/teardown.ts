// Removing labs: processes first (so namespaces can die), then links and
// namespaces, then files. Synchronous so it can run from exit handlers.
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { ETC_NETNS, LAB_LINK_PATTERN, LAB_NS_PATTERN, LAB_ROOT } from "./constants";
import { removeEtcNetns } from "./etc";
import { destroyMachineSync, sweepMachinesSync } from "./distroMachine";
import { destroyNetworkSync } from "./network";
import { findPids, killSync, netnsInode } from "./processes";
import { runSync } from "./sh";
import { listSlotFiles, releaseSlot } from "./slots";
import { listLabIds, readState, type LabState } from "./state";

/** Pids of this process and its ancestors: never killed, whatever their command line says. */
function selfAndAncestors(): Set<number> {
  const pids = new Set<number>();
  let pid = process.pid;
  for (let i = 0; i < 64 && pid > 1 && !pids.has(pid); i++) {
    pids.add(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      pid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      break;
    }
  }
  return pids;
}

function killLabProcesses(namespaces: readonly string[], cmdlineNeedles: readonly string[]): void {
  const inodes = new Set(namespaces.map(netnsInode).filter((i): i is number => i !== undefined));
  const keep = selfAndAncestors();
  killSync(findPids({ nsInodes: inodes, cmdlineNeedles }).filter((p) => !keep.has(p)));
}

/**
 * The apply path keeps its lock and rollback files in /run/nftsg/net<inode>
 * (per network namespace, since hosts share /run); remove this lab's.
 */
function removeNftsgRunDirs(namespaces: readonly string[]): void {
  for (const ns of namespaces) {
    const inode = netnsInode(ns);
    if (inode !== undefined) rmSync(`/run/nftsg/net${inode}`, { recursive: true, force: true });
  }
}

export function teardownSync(state: LabState): void {
  const namespaces = state.hosts.map((h) => h.ns);
  // Machines first: a clean poweroff, before their wrappers are killed by name below.
  for (const d of state.distroHosts ?? []) destroyMachineSync(d);
  killLabProcesses(namespaces, [`${state.dir}/`]);
  removeNftsgRunDirs(namespaces);
  destroyNetworkSync([...state.hosts.map((h) => h.veth), state.bridge], namespaces);
  for (const ns of namespaces) removeEtcNetns(ns);
  rmSync(state.dir, { recursive: true, force: true });
  releaseSlot(state.slot, state.id);
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function rootLinks(): string[] {
  const out = runSync("ip", ["-o", "link", "show"]).stdout;
  return out
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

/**
 * Removes every lab on this machine, including leftovers of crashed runs:
 * namespaces nftsg-<id>-h<i>, links nftsg<id>br / nftsg<id>v<i>, their
 * /etc/netns entries, processes in them, and everything under /run/nftsg-lab.
 * Other objects that merely start with "nftsg" are left alone.
 */
export function downAllSync(): void {
  for (const id of listLabIds()) {
    try {
      teardownSync(readState(id));
    } catch {
      // no usable state: the sweep below still finds its objects
    }
  }
  const namespaces = listDir("/run/netns").filter((n) => LAB_NS_PATTERN.test(n));
  killLabProcesses(namespaces, [`${LAB_ROOT}/`]);
  sweepMachinesSync(LAB_ROOT);
  destroyNetworkSync(rootLinks().filter((l) => LAB_LINK_PATTERN.test(l)), namespaces);
  for (const ns of listDir(ETC_NETNS).filter((n) => LAB_NS_PATTERN.test(n))) removeEtcNetns(ns);
  for (const id of listLabIds()) rmSync(`${LAB_ROOT}/${id}`, { recursive: true, force: true });
  for (const f of listSlotFiles()) rmSync(f, { force: true });
}
