// Lab addressing. Lab k owns 198.18.k.0/24 and 2001:db8:k::/64 (k written in
// decimal digits inside the hex group, so 198.18.12.x <-> 2001:db8:12::x).
// The runner (bridge) is .1 / ::1, host i is .(10+i) / ::(10+i).
// Only 198.18.0.0/15, 2001:db8::/32 and loopback may ever be targeted.
import { BlockList, isIP } from "node:net";

const allowed = new BlockList();
allowed.addSubnet("198.18.0.0", 15, "ipv4");
allowed.addSubnet("127.0.0.0", 8, "ipv4");
allowed.addSubnet("2001:db8::", 32, "ipv6");
allowed.addAddress("::1", "ipv6");

export const ipv4Subnet = (k: number): string => `198.18.${k}.0/24`;
export const ipv6Subnet = (k: number): string => `2001:db8:${k}::/64`;
export const runnerIpv4 = (k: number): string => `198.18.${k}.1`;
export const runnerIpv6 = (k: number): string => `2001:db8:${k}::1`;
export const hostIpv4 = (k: number, index: number): string => `198.18.${k}.${10 + index}`;
export const hostIpv6 = (k: number, index: number): string => `2001:db8:${k}::${10 + index}`;

/** True iff addr is an IP literal inside the lab ranges or loopback. */
export function isLabAddress(addr: string): boolean {
  const family = isIP(addr);
  if (family === 0) return false;
  return allowed.check(addr, family === 4 ? "ipv4" : "ipv6");
}

export function assertLabAddress(addr: string): void {
  if (!isLabAddress(addr)) {
    throw new Error(`refusing to probe ${JSON.stringify(addr)}: only 198.18.0.0/15, 2001:db8::/32 and loopback are allowed`);
  }
}
