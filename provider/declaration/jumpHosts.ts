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

/** A connection host text as a key: the same IP address, or the same DNS name (case and a final dot aside), gives the same key. */
export function connectionHostKey(text: string): string | undefined {
  if (text === "") return undefined;
  const a = parseAddress(text);
  return a ? `ip${a.family}/${a.value}` : `name/${text.toLowerCase().replace(/\.$/, "")}`;
}

const portOf = (conn: Record<string, unknown>): number => (typeof conn["port"] === "number" ? conn["port"] : DEFAULT_SSH_PORT);

/**
 * Every (target, jump host) pair of a list of host declarations, by index.
 * A proxy matches the hosts whose connection.host is its host (those on its
 * port, when several share the host: a NAT address with one port per host),
 * else the hosts that declare its host among their addresses. A proxy that
 * matches several hosts yields a pair with each: the path from each is
 * checked (fail closed). Linear in the number of hosts.
 */
export function jumpEdges(hosts: readonly unknown[]): JumpEdge[] {
  const conns = hosts.map((h) => (isObj(h) && isObj(h["connection"]) ? h["connection"] : undefined));
  const byConnection = new Map<string, number[]>();
  const byAddress = new Map<string, number[]>();
  const add = (map: Map<string, number[]>, key: string | undefined, i: number) => {
    if (key === undefined) return;
    const list = map.get(key) ?? [];
    if (!list.includes(i)) list.push(i);
    map.set(key, list);
  };
  conns.forEach((c, i) => {
    if (c && typeof c["host"] === "string") add(byConnection, connectionHostKey(c["host"]), i);
    const addresses = isObj(hosts[i]) ? (hosts[i] as Record<string, unknown>)["addresses"] : undefined;
    if (Array.isArray(addresses)) {
      for (const a of addresses) if (typeof a === "string" && parseAddress(a)) add(byAddress, connectionHostKey(a), i);
    }
  });
  const out: JumpEdge[] = [];
  conns.forEach((conn, target) => {
    const proxy = conn && isObj(conn["proxy"]) ? conn["proxy"] : undefined;
    if (!proxy || typeof proxy["host"] !== "string") return;
    const key = connectionHostKey(proxy["host"]);
    if (key === undefined) return;
    // The host itself counts while choosing by port (a proxy naming its own
    // host and port is no jump host), never as a result.
    let found = byConnection.get(key) ?? [];
    const onPort = found.filter((j) => portOf(conns[j]!) === portOf(proxy));
    if (onPort.length > 0) found = onPort;
    else if (found.length === 0) found = byAddress.get(key) ?? [];
    found = found.filter((j) => j !== target);
    for (const jump of found) out.push({ target, jump });
  });
  return out;
}
