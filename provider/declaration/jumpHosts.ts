// Which hosts of a fleet are the jump hosts of others: a host whose
// connection.proxy names another fleet host (by its connection.host, or by one
// of its addresses) is managed through it, so that host's ruleset must keep
// the path from it open (evaluate/jumpPaths.ts checks the declaration; its
// Attachment proves the path at apply, host/apply.ts). Written against
// `unknown`: the validation and the SDK (resolved inputs) both use it.
import { parseAddress } from "../addressing/cidr";
import { DEFAULT_SSH_PORT } from "../vocabulary/defaults";
import { isObj } from "./checks/context";

/** A host managed through another host of the fleet. */
export interface JumpEdge {
  /** Index of the host whose connection.proxy names the jump host. */
  target: number;
  /** Index of the jump host. */
  jump: number;
}

/** Two connection host texts name the same host: the same IP address, or the same DNS name (case and a final dot aside). */
export function sameConnectionHost(a: string, b: string): boolean {
  const pa = parseAddress(a);
  const pb = parseAddress(b);
  if (pa || pb) return pa !== undefined && pb !== undefined && pa.family === pb.family && pa.value === pb.value;
  const name = (s: string) => s.toLowerCase().replace(/\.$/, "");
  return a !== "" && name(a) === name(b);
}

const portOf = (conn: Record<string, unknown>): number => (typeof conn["port"] === "number" ? conn["port"] : DEFAULT_SSH_PORT);

/**
 * Every (target, jump host) pair of a list of host declarations, by index.
 * A proxy matches the hosts whose connection.host is its host (those on its
 * port, when several share the host: a NAT address with one port per host),
 * else the hosts that declare its host among their addresses. A proxy that
 * matches several hosts yields a pair with each: the path from each is
 * checked (fail closed).
 */
export function jumpEdges(hosts: readonly unknown[]): JumpEdge[] {
  const conns = hosts.map((h) => (isObj(h) && isObj(h["connection"]) ? h["connection"] : undefined));
  const out: JumpEdge[] = [];
  conns.forEach((conn, target) => {
    const proxy = conn && isObj(conn["proxy"]) ? conn["proxy"] : undefined;
    if (!proxy || typeof proxy["host"] !== "string" || proxy["host"] === "") return;
    const via = proxy["host"];
    const others = conns.map((c, j) => ({ c, j })).filter(({ c, j }) => c !== undefined && j !== target);
    let found = others.filter(({ c }) => typeof c!["host"] === "string" && sameConnectionHost(c!["host"], via));
    const onPort = found.filter(({ c }) => portOf(c!) === portOf(proxy));
    if (onPort.length > 0) found = onPort;
    if (found.length === 0) {
      found = others.filter(({ j }) => {
        const addresses = (hosts[j] as Record<string, unknown>)["addresses"];
        return Array.isArray(addresses) && addresses.some((a) => typeof a === "string" && parseAddress(a) !== undefined && sameConnectionHost(a, via));
      });
    }
    for (const { j } of found) out.push({ target, jump: j });
  });
  return out;
}
