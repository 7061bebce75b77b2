// Hosts: names and duplicates, the SSH connection host, explicit addresses,
// attached groups; then the addresses of members of peer groups.
import { type Address, FAMILY_BITS, formatAddress, parseAddress } from "../../addressing/cidr";
import { specialRangeOf } from "./specialAddresses";
import { type CheckContext, type Obj, isObj, present, unknownGroupMessage } from "./context";
import { HOST_NAME_PATTERN } from "../../vocabulary/names";

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
        if (typeof s !== "string" || ctx.groupIndex.has(s)) return;
        const remote = ctx.remoteIndex.get(s);
        ctx.add(
          `hosts[${i}].securityGroups[${k}]`,
          remote !== undefined
            ? `${JSON.stringify(s)} is a remote group (remoteGroups[${remote}]): its members are the hosts another stack publishes, and a host of this fleet can only be attached to this fleet's security groups`
            : unknownGroupMessage(ctx, s),
        );
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
    const parsed = parseAddress(a);
    if (parsed) {
      const special = specialOf(parsed);
      if (special) ctx.add(`hosts[${i}].addresses[${k}]`, `${JSON.stringify(a)} is ${special.kind} (${special.range}): ${special.why}; list the addresses other hosts reach this one by`);
      return;
    }
    const asPrefix = ctx.parsePrefix(a);
    ctx.add(
      `hosts[${i}].addresses[${k}]`,
      a.includes("/") && asPrefix.ok
        ? `${JSON.stringify(a)} is a prefix; addresses are single IPs (e.g. ${formatAddress(asPrefix.prefix.family, asPrefix.prefix.value)})`
        : `${JSON.stringify(a)} is not a valid IPv4 or IPv6 address`,
    );
  });
}

function specialOf(a: Address) {
  return specialRangeOf({ family: a.family, value: a.value, length: FAMILY_BITS[a.family] });
}

/**
 * Usable addresses of a host: explicit `addresses`, else connection.host if
 * it is an IP literal that can be a peer (not loopback, link-local, ...: an
 * SSH port-forward through 127.0.0.1 is a fine connection, not an address).
 */
export function usableAddresses(host: Obj): Address[] {
  if (Array.isArray(host["addresses"])) {
    return host["addresses"].flatMap((a) => {
      const p = typeof a === "string" ? parseAddress(a) : undefined;
      return p && !specialOf(p) ? [p] : [];
    });
  }
  const conn = host["connection"];
  if (isObj(conn) && typeof conn["host"] === "string") {
    const a = parseAddress(conn["host"]);
    if (a && !specialOf(a)) return [a];
  }
  return [];
}

/**
 * One address, one host: a peer rule "from group G" matches by address, so an
 * address shared by two hosts would let one stand for the other. Explicit
 * addresses always count; a default taken from connection.host only for
 * hosts whose addresses are used (members of a peer group), so hosts behind
 * one NAT address on different SSH ports need `addresses` only when it matters.
 */
export function checkDuplicateAddresses(ctx: CheckContext, hosts: unknown[]): void {
  const owner = new Map<string, { index: number; name: string }>();
  hosts.forEach((h, i) => {
    if (!isObj(h)) return;
    const explicit = Array.isArray(h["addresses"]);
    const member = Array.isArray(h["securityGroups"]) && (h["securityGroups"] as unknown[]).some((g) => typeof g === "string" && (ctx.peerGroupUse.has(g) || ctx.publishedGroupUse.has(g)));
    if (!explicit && !member) return;
    const name = typeof h["name"] === "string" ? h["name"] : `hosts[${i}]`;
    const seenHere = new Set<string>();
    usableAddresses(h).forEach((a) => {
      const key = `${a.family}/${a.value}`;
      if (seenHere.has(key)) return;
      seenHere.add(key);
      const first = owner.get(key);
      if (first === undefined) return void owner.set(key, { index: i, name });
      const text = formatAddress(a.family, a.value);
      ctx.add(
        explicit ? `hosts[${i}].addresses` : `hosts[${i}].connection.host`,
        `address ${text} is also host ${JSON.stringify(first.name)}'s (hosts[${first.index}]); each address may belong to one host only, ` +
          "or rules that name a group would match the wrong host: set addresses to the addresses other hosts see each one by",
      );
    });
  });
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
    const groups = (h["securityGroups"] as unknown[]).filter((s): s is string => typeof s === "string");
    const used = groups.find((s) => ctx.peerGroupUse.has(s));
    const published = groups.find((s) => ctx.publishedGroupUse.has(s));
    if (used === undefined && published === undefined) return;
    const name = typeof h["name"] === "string" ? JSON.stringify(h["name"]) : `hosts[${i}]`;
    const why = used !== undefined
      ? `which ${ctx.peerGroupUse.get(used)} uses as a peer`
      : `which ${ctx.publishedGroupUse.get(published!)} publishes to other stacks`;
    ctx.add(
      `hosts[${i}].addresses`,
      `host ${name} has no usable address, but it is a member of group ${JSON.stringify(used ?? published)}, ${why}; connection.host ${JSON.stringify(conn["host"])} is not an IP address other hosts can see it by, so set addresses (e.g. ["198.51.100.7"])`,
    );
  });
}
