// Namespaces, veth pairs and the bridge. Root-namespace work goes through a
// single `ip -batch` (one process for any number of hosts); each namespace
// then needs one `ip -n NS -batch` for its addresses, run in bounded parallel.
import { readFileSync, writeFileSync } from "node:fs";
import { HOST_IFACE, SETUP_CONCURRENCY } from "./constants";
import { mapLimit } from "./pool";
import { runOk, runSync } from "./sh";
import type { HostState, LabState } from "./state";

/**
 * The kernel's ARP and NDP caches are global across network namespaces and
 * sized by the root namespace's gc_thresh values (default hard limit 1024):
 * a 50-host all-pairs probe needs ~2550 entries per family and would hit
 * "neighbour table overflow". Raise the limits (never lower them).
 */
const NEIGH_LIMITS: Record<string, number> = { gc_thresh2: 8192, gc_thresh3: 16384 };

export function raiseNeighbourLimits(): void {
  for (const family of ["ipv4", "ipv6"]) {
    for (const [key, min] of Object.entries(NEIGH_LIMITS)) {
      const path = `/proc/sys/net/${family}/neigh/default/${key}`;
      try {
        if (Number(readFileSync(path, "utf8").trim()) < min) writeFileSync(path, String(min));
      } catch {
        // not fatal: small labs work with the defaults
      }
    }
  }
}

export async function createNetwork(state: LabState): Promise<void> {
  raiseNeighbourLimits();
  const br = state.bridge;
  const root = [
    // No STP and no forwarding delay: ports forward as soon as they are up.
    `link add ${br} type bridge stp_state 0 forward_delay 0 mcast_snooping 0`,
    `addr add ${state.runnerIpv4}/24 dev ${br}`,
    // nodad: addresses are usable at once instead of after duplicate detection.
    `addr add ${state.runnerIpv6}/64 dev ${br} nodad`,
    `link set ${br} up`,
  ];
  for (const h of state.hosts) {
    root.push(
      `netns add ${h.ns}`,
      `link add ${h.veth} type veth peer name ${HOST_IFACE} netns ${h.ns}`,
      `link set ${h.veth} master ${br} up`,
    );
  }
  await runOk("ip", ["-batch", "-"], { input: root.join("\n") + "\n" });
  await mapLimit(state.hosts, SETUP_CONCURRENCY, (h) => configureHost(h));
}

function configureHost(h: HostState): Promise<string> {
  const cmds = [
    "link set lo up",
    `addr add ${h.ipv4}/24 dev ${HOST_IFACE}`,
    `addr add ${h.ipv6}/64 dev ${HOST_IFACE} nodad`,
    `link set ${HOST_IFACE} up`,
  ];
  return runOk("ip", ["-n", h.ns, "-batch", "-"], { input: cmds.join("\n") + "\n" });
}

/**
 * Deletes links and namespaces by name. Deleting the root side of a veth
 * removes the pair at once (a namespace's devices otherwise linger until the
 * kernel's asynchronous netns cleanup). Errors for missing objects are ignored.
 */
export function destroyNetworkSync(links: readonly string[], namespaces: readonly string[]): void {
  const cmds = [...links.map((l) => `link del ${l}`), ...namespaces.map((n) => `netns del ${n}`)];
  if (cmds.length === 0) return;
  runSync("ip", ["-force", "-batch", "-"], { input: cmds.join("\n") + "\n" });
}
