// The dynamic-provider processes of a Pulumi run started by this test process
// (pulumi → pulumi-resource-pulumi-nodejs → node …/cmd/dynamic-provider), found
// by ancestry so that other runs on the same machine are never touched. Used
// to kill the provider from outside mid-apply, as a crash or an OOM kill would.
import { readFileSync, readdirSync } from "node:fs";

const PROVIDER = /pulumi-resource-pulumi-nodejs|@pulumi\/pulumi\/cmd\/dynamic-provider/;

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

function descendantsOf(ancestor: number): number[] {
  const parents = new Map<number, number>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const ppid = parentOf(Number(e));
    if (ppid !== undefined) parents.set(Number(e), ppid);
  }
  return [...parents.keys()].filter((pid) => {
    for (let p = parents.get(pid), i = 0; p !== undefined && i < 64; p = parents.get(p), i++) {
      if (p === ancestor) return true;
    }
    return false;
  });
}

/** Pids of the dynamic provider (wrapper script and its node) below `ancestor`. */
export function dynamicProviderPids(ancestor: number = process.pid): number[] {
  return descendantsOf(ancestor).filter((pid) => {
    try {
      return PROVIDER.test(readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " "));
    } catch {
      return false;
    }
  });
}

/** SIGKILLs the dynamic provider of this process's Pulumi run; returns the pids killed. */
export function killDynamicProvider(ancestor: number = process.pid): number[] {
  const pids = dynamicProviderPids(ancestor);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch { /* already gone */ }
  }
  return pids;
}
