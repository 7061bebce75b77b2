// Hosts: names and duplicates, the SSH connection host, explicit addresses,
// attached groups; then the addresses of members of peer groups.
import { type Address, formatAddress, parseAddress } from "../cidr";
import { HOST_NAME_PATTERN } from "../../compiler/nftNames";
import { type CheckContext, type Obj, isObj, present, unknownGroupMessage } from "./context";

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;

export function checkHosts(ctx: CheckContext, hosts: unknown[]): void {
  const hostIndex = new Map<string, number>();
  hosts.forEach((h, i) => {
    if (!isObj(h)) return;
    const name = h["name"];
    if (typeof name === "string") {
      if (!HOST_NAME_PATTERN.test(name)) {
        ctx.add(
          `hosts[${i}].name`,
          `host name ${JSON.stringify(name)} is invalid; use 1-64 characters: letters, digits, ".", "_" and "-", starting with a letter or digit`,
        );
      }
      const first = hostIndex.get(name);
      if (first !== undefined) ctx.add(`hosts[${i}].name`, `duplicate host name ${JSON.stringify(name)} (already declared at hosts[${first}])`);
      else hostIndex.set(name, i);
    }
    const conn = h["connection"];
    if (isObj(conn)) {
      if (typeof conn["host"] === "string") checkConnectionHost(ctx, conn["host"], `hosts[${i}].connection.host`);
      const proxy = conn["proxy"];
      if (isObj(proxy) && typeof proxy["host"] === "string") {
        checkConnectionHost(ctx, proxy["host"], `hosts[${i}].connection.proxy.host`);
      }
    }
    checkAddressList(ctx, h, i);
    const attached = h["securityGroups"];
    if (Array.isArray(attached)) {
      attached.forEach((s, k) => {
        if (typeof s === "string" && !ctx.groupIndex.has(s)) ctx.add(`hosts[${i}].securityGroups[${k}]`, unknownGroupMessage(ctx, s));
      });
    }
  });
}

function checkConnectionHost(ctx: CheckContext, host: string, path: string): void {
  if (host === "") return ctx.add(path, "is empty; set the SSH host name or IP address");
  if (/^\[.*\]$/.test(host)) {
    return ctx.add(path, `${JSON.stringify(host)}: write IPv6 addresses without brackets (${host.slice(1, -1)})`);
  }
  if (host.includes(":")) {
    if (!parseAddress(host)) ctx.add(path, `${JSON.stringify(host)} is not a valid IPv6 address`);
    return;
  }
  if (/^[0-9.]+$/.test(host)) {
    if (!parseAddress(host)) ctx.add(path, `${JSON.stringify(host)} is not a valid IPv4 address`);
    return;
  }
  if (!HOSTNAME.test(host)) {
    ctx.add(path, `${JSON.stringify(host)} is neither an IP address nor a valid DNS host name`);
  }
}

function checkAddressList(ctx: CheckContext, h: Obj, i: number): void {
  const addresses = h["addresses"];
  if (!Array.isArray(addresses)) return;
  if (addresses.length === 0) {
    ctx.add(`hosts[${i}].addresses`, "is empty; omit it to default to connection.host, or list at least one address");
  }
  addresses.forEach((a, k) => {
    if (typeof a !== "string") return;
    if (parseAddress(a)) return;
    const asPrefix = ctx.parsePrefix(a);
    ctx.add(
      `hosts[${i}].addresses[${k}]`,
      a.includes("/") && asPrefix.ok
        ? `${JSON.stringify(a)} is a prefix; addresses are single IPs (e.g. ${formatAddress(asPrefix.prefix.family, asPrefix.prefix.value)})`
        : `${JSON.stringify(a)} is not a valid IPv4 or IPv6 address`,
    );
  });
}

/** Usable addresses of a host: explicit `addresses`, else connection.host if it is an IP literal. */
function usableAddresses(host: Obj): Address[] {
  if (Array.isArray(host["addresses"])) {
    return host["addresses"].flatMap((a) => {
      const p = typeof a === "string" ? parseAddress(a) : undefined;
      return p ? [p] : [];
    });
  }
  const conn = host["connection"];
  if (isObj(conn) && typeof conn["host"] === "string") {
    const a = parseAddress(conn["host"]);
    if (a) return [a];
  }
  return [];
}

/**
 * Members of peer groups need an address, or "from <group>" would silently
 * not include them. Runs after the rule check has recorded peer group use.
 */
export function checkPeerMemberAddresses(ctx: CheckContext, hosts: unknown[]): void {
  hosts.forEach((h, i) => {
    if (!isObj(h) || !Array.isArray(h["securityGroups"])) return;
    if (present(h["addresses"])) return; // explicit addresses: checked above
    const conn = h["connection"];
    if (!isObj(conn) || typeof conn["host"] !== "string" || conn["host"] === "") return;
    if (usableAddresses(h).length > 0) return;
    const used = (h["securityGroups"] as unknown[]).find((s): s is string => typeof s === "string" && ctx.peerGroupUse.has(s));
    if (used === undefined) return;
    const name = typeof h["name"] === "string" ? JSON.stringify(h["name"]) : `hosts[${i}]`;
    ctx.add(
      `hosts[${i}].addresses`,
      `host ${name} has no usable address, but it is a member of group ${JSON.stringify(used)}, which ${ctx.peerGroupUse.get(
        used,
      )} uses as a peer; connection.host ${JSON.stringify(conn["host"])} is not an IP literal, so set addresses (e.g. ["198.51.100.7"])`,
    );
  });
}
