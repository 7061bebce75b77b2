// Fleet-wide options: the table name and the failsafe.
import { NFT_RESERVED_WORDS } from "../../nft/names";
import { type Family, parseAddress } from "../../addressing/cidr";
import { type CheckContext, type Obj, isObj } from "./context";
import { DEFAULT_TABLE } from "../../vocabulary/defaults";
import { TABLE_NAME_PATTERN } from "../../vocabulary/names";

/**
 * Table names other tools create in the inet family (or that people know as
 * theirs): nftsg keeps its own table and never touches another tool's, so a
 * fleet may not name one of these as its table.
 */
export const OTHER_TOOLS_TABLES: ReadonlyMap<string, string> = new Map([
  ["filter", "the distributions' default nftables.conf (Debian, Ubuntu, Arch) and iptables-nft"],
  ["nat", "iptables-nft and hand-written NAT rulesets"],
  ["mangle", "iptables-nft"],
  ["raw", "iptables-nft"],
  ["security", "iptables-nft"],
  ["firewalld", "firewalld"],
  ["netavark", "Podman (netavark)"],
  ["libvirt_network", "libvirt"],
  ["incus", "Incus"],
  ["lxd", "LXD"],
  ["crowdsec", "the CrowdSec firewall bouncer"],
  ["crowdsec6", "the CrowdSec firewall bouncer"],
  ["sshguard", "sshguard"],
]);

export function checkTable(ctx: CheckContext, decl: Obj): void {
  const table = decl["table"];
  if (typeof table !== "string") return;
  if (!TABLE_NAME_PATTERN.test(table)) {
    ctx.add(
      "table",
      `table name ${JSON.stringify(table)} is not a safe nft identifier; use 1-32 characters: lower-case letters, digits and "_", starting with a letter (e.g. "${DEFAULT_TABLE}")`,
    );
  } else if (NFT_RESERVED_WORDS.has(table)) {
    ctx.add("table", `table name ${JSON.stringify(table)} is an nft keyword; choose another, e.g. "${DEFAULT_TABLE}_${table}"`);
  } else if (OTHER_TOOLS_TABLES.has(table)) {
    ctx.add(
      "table",
      `table name ${JSON.stringify(table)} is the table of ${OTHER_TOOLS_TABLES.get(table)}; nftsg keeps a table of its own and never ` +
        `replaces another tool's: choose another name, e.g. "${DEFAULT_TABLE}" or "${DEFAULT_TABLE}_${table}"`,
    );
  }
}

export function checkFailsafe(ctx: CheckContext, decl: Obj): void {
  const failsafe = decl["failsafe"];
  if (!isObj(failsafe)) return;
  if (failsafe["ssh"] === false && failsafe["port"] !== undefined && failsafe["port"] !== null) {
    ctx.add("failsafe.port", "has no effect when failsafe.ssh is false; remove port or enable the failsafe");
  }
  const cidrs = failsafe["cidrs"];
  if (!Array.isArray(cidrs)) return;
  if (failsafe["ssh"] === false) {
    ctx.add("failsafe.cidrs", "has no effect when failsafe.ssh is false; remove cidrs or enable the failsafe");
  }
  if (cidrs.length === 0) {
    ctx.add("failsafe.cidrs", "is empty; omit it to allow SSH from anywhere, or set failsafe.ssh: false to disable the failsafe");
  }
  const families = new Set<Family>();
  cidrs.forEach((c, k) => {
    if (typeof c !== "string") return;
    const p = ctx.parsePrefix(c);
    if (!p.ok) ctx.add(`failsafe.cidrs[${k}]`, p.message);
    else families.add(p.prefix.family);
  });
  if (failsafe["ssh"] !== false && families.size > 0) checkFailsafeFamilies(ctx, decl, families);
}

/**
 * A host managed over IPv6 (connection.host, or its jump host's, is an IPv6
 * literal) gets no failsafe from IPv4-only failsafe.cidrs, and the other way
 * round: the failsafe would silently not cover the management connection.
 */
function checkFailsafeFamilies(ctx: CheckContext, decl: Obj, families: Set<Family>): void {
  const hosts = Array.isArray(decl["hosts"]) ? decl["hosts"] : [];
  hosts.forEach((h, i) => {
    if (!isObj(h) || !isObj(h["connection"])) return;
    const conn = h["connection"];
    // Through a jump host, the management connection arrives from the jump host.
    const via = isObj(conn["proxy"]) ? conn["proxy"] : undefined;
    const target = typeof conn["host"] === "string" ? parseAddress(conn["host"]) : undefined;
    if (!target || families.has(target.family)) return;
    const name = typeof h["name"] === "string" ? JSON.stringify(h["name"]) : `hosts[${i}]`;
    ctx.add(
      `hosts[${i}].connection.host`,
      `host ${name} is managed over IPv${target.family} (${conn["host"]}${via ? ", through its jump host" : ""}), but failsafe.cidrs ` +
        `has only IPv${target.family === 4 ? 6 : 4} prefixes, so its failsafe would not cover this connection; ` +
        `add the IPv${target.family} management prefix to failsafe.cidrs`,
    );
  });
}
