// Finding and stopping lab processes by pid. A process belongs to a lab if it
// lives in one of the lab's network namespaces (compared by nsfs inode, which
// also catches SSH sessions and anything started through exec()), or if its
// command line names the lab directory (the runner's agent in the root
// namespace). Nothing is ever matched by process name alone.
import { readFileSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { sleep, sleepSync } from "./sh";

/** Inode of a named network namespace, or undefined if it does not exist. */
export function netnsInode(ns: string): number | undefined {
  try {
    return statSync(`/run/netns/${ns}`).ino;
  } catch {
    return undefined;
  }
}

export interface ProcessMatch {
  nsInodes?: ReadonlySet<number>;
  /** Substrings of the NUL-joined command line, e.g. "/run/nftsg-lab/4k2x/". */
  cmdlineNeedles?: readonly string[];
}

export function findPids(match: ProcessMatch): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return pids;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === 1 || pid === process.pid) continue;
    try {
      if (match.nsInodes && match.nsInodes.size > 0) {
        const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`));
        if (m && match.nsInodes.has(Number(m[1]))) {
          pids.push(pid);
          continue;
        }
      }
      if (match.cmdlineNeedles && match.cmdlineNeedles.length > 0) {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
        if (match.cmdlineNeedles.some((n) => cmd.includes(n))) pids.push(pid);
      }
    } catch {
      // process exited while we looked
    }
  }
  return pids;
}

/** Alive = exists and is not a zombie (zombies hold no sockets or namespaces). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM, wait up to graceMs, then SIGKILL whatever is left and wait again. */
export function killSync(pids: readonly number[], graceMs = 2000): void {
  if (pids.length === 0) return;
  signal(pids, "SIGTERM");
  for (const [sig, wait] of [["SIGKILL", graceMs], [undefined, 2000]] as const) {
    const deadline = Date.now() + wait;
    while (pids.some(isAlive) && Date.now() < deadline) sleepSync(20);
    const left = pids.filter(isAlive);
    if (left.length === 0 || !sig) return;
    signal(left, sig);
  }
}

export async function kill(pids: readonly number[], graceMs = 2000): Promise<void> {
  if (pids.length === 0) return;
  signal(pids, "SIGTERM");
  for (const [sig, wait] of [["SIGKILL", graceMs], [undefined, 2000]] as const) {
    const deadline = Date.now() + wait;
    while (pids.some(isAlive) && Date.now() < deadline) await sleep(20);
    const left = pids.filter(isAlive);
    if (left.length === 0 || !sig) return;
    signal(left, sig);
  }
}
