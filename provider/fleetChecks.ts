// Pass 2 of validation: what a schema cannot say — CIDRs and port specs,
// names, duplicates, references to undeclared groups, protocol/field
// combinations, address families, members of peer groups without a usable
// address. Written against `unknown`, so it still runs (and reports) where
// pass 1 found problems elsewhere in the declaration.

import { type Address, type Family, type PrefixParse, formatAddress, parseAddress, parsePrefix as parsePrefixText } from "./cidr";
import { didYouMean } from "./didYouMean";
import type { ValidationIssue } from "./fleetModel";
import { DIRECTIONS, ICMP_PROTOCOLS, PORT_PROTOCOLS, PROTOCOLS } from "./fleetSchema";
import { DEFAULT_TABLE, GROUP_NAME_PATTERN, HOST_NAME_PATTERN, NFT_RESERVED_WORDS, TABLE_NAME_PATTERN } from "./nftNames";
import { parsePortSpec } from "./ports";

type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const present = (v: unknown) => v !== undefined && v !== null;

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;

function checkConnectionHost(host: string, path: string, add: (p: string, m: string) => void): void {
  if (host === "") return add(path, "is empty; set the SSH host name or IP address");
  if (/^\[.*\]$/.test(host)) {
    return add(path, `${JSON.stringify(host)}: write IPv6 addresses without brackets (${host.slice(1, -1)})`);
  }
  if (host.includes(":")) {
    if (!parseAddress(host)) add(path, `${JSON.stringify(host)} is not a valid IPv6 address`);
    return;
  }
  if (/^[0-9.]+$/.test(host)) {
    if (!parseAddress(host)) add(path, `${JSON.stringify(host)} is not a valid IPv4 address`);
    return;
  }
  if (!HOSTNAME.test(host)) {
    add(path, `${JSON.stringify(host)} is neither an IP address nor a valid DNS host name`);
  }
}

function checkDescription(v: unknown, path: string, add: (p: string, m: string) => void): void {
  if (typeof v === "string" && CONTROL_CHARS.test(v)) {
    add(path, "contains control characters (newline, tab, ...); use a single line of text");
  }
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

export function semanticIssues(decl: unknown, parsePrefix: (text: string) => PrefixParse = parsePrefixText): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  if (!isObj(decl)) {
    add("", "the fleet declaration must be an object with securityGroups and hosts");
    return issues;
  }

  // table
  const table = decl["table"];
  if (typeof table === "string") {
    if (!TABLE_NAME_PATTERN.test(table)) {
      add(
        "table",
        `table name ${JSON.stringify(table)} is not a safe nft identifier; use 1-32 characters: lower-case letters, digits and "_", starting with a letter (e.g. "${DEFAULT_TABLE}")`,
      );
    } else if (NFT_RESERVED_WORDS.has(table)) {
      add("table", `table name ${JSON.stringify(table)} is an nft keyword; choose another, e.g. "${DEFAULT_TABLE}_${table}"`);
    }
  }

  // failsafe
  const failsafe = decl["failsafe"];
  if (isObj(failsafe)) {
    const cidrs = failsafe["cidrs"];
    if (Array.isArray(cidrs)) {
      if (failsafe["ssh"] === false) {
        add("failsafe.cidrs", "has no effect when failsafe.ssh is false; remove cidrs or enable the failsafe");
      }
      if (cidrs.length === 0) {
        add("failsafe.cidrs", "is empty; omit it to allow SSH from anywhere, or set failsafe.ssh: false to disable the failsafe");
      }
      cidrs.forEach((c, k) => {
        if (typeof c !== "string") return;
        const p = parsePrefix(c);
        if (!p.ok) add(`failsafe.cidrs[${k}]`, p.message);
      });
    }
  }

  // groups: names and duplicates first, so rules can resolve references.
  const groups = Array.isArray(decl["securityGroups"]) ? decl["securityGroups"] : [];
  const groupIndex = new Map<string, number>();
  groups.forEach((g, i) => {
    if (!isObj(g) || typeof g["name"] !== "string") return;
    const name = g["name"];
    if (!GROUP_NAME_PATTERN.test(name)) {
      add(
        `securityGroups[${i}].name`,
        `group name ${JSON.stringify(name)} is invalid; use 1-41 characters: lower-case letters, digits and "-", starting with a letter`,
      );
    }
    const first = groupIndex.get(name);
    if (first !== undefined) {
      add(`securityGroups[${i}].name`, `duplicate security group name ${JSON.stringify(name)} (already declared at securityGroups[${first}])`);
    } else {
      groupIndex.set(name, i);
    }
  });
  const groupNames = [...groupIndex.keys()].sort();
  const unknownGroup = (name: string): string => {
    const hint = didYouMean(name, groupNames);
    return `unknown security group ${JSON.stringify(name)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ""}${
      groupNames.length === 0
        ? " (no groups are declared)"
        : groupNames.length <= 12
          ? ` (declared: ${groupNames.join(", ")})`
          : ` (${groupNames.length} groups are declared)`
    }`;
  };

  /** Peer group name -> path of the first rule using it. */
  const peerGroupUse = new Map<string, string>();

  groups.forEach((g, i) => {
    if (!isObj(g)) return;
    checkDescription(g["description"], `securityGroups[${i}].description`, add);
    for (const dir of DIRECTIONS) {
      const rules = g[dir];
      if (!Array.isArray(rules)) continue;
      rules.forEach((r, j) => {
        if (!isObj(r)) return;
        checkRule(r, `securityGroups[${i}].${dir}[${j}]`);
      });
    }
  });

  function checkRule(r: Obj, path: string): void {
    const protocol = typeof r["protocol"] === "string" && (PROTOCOLS as readonly string[]).includes(r["protocol"]) ? r["protocol"] : undefined;
    checkDescription(r["description"], `${path}.description`, add);

    // ports
    const ports = r["ports"];
    if (present(ports)) {
      if (protocol !== undefined && !PORT_PROTOCOLS.has(protocol)) {
        add(`${path}.ports`, `ports apply only to tcp, udp and sctp; remove ports from this ${protocol} rule`);
      }
      if (Array.isArray(ports)) {
        if (ports.length === 0) add(`${path}.ports`, "is an empty list; omit ports to allow all ports");
        ports.forEach((p, k) => {
          const parsed = parsePortSpec(p);
          if (!parsed.ok) add(`${path}.ports[${k}]`, parsed.message);
        });
      } else if (typeof ports === "number" || typeof ports === "string") {
        const parsed = parsePortSpec(ports);
        if (!parsed.ok) add(`${path}.ports`, parsed.message);
      } else {
        add(`${path}.ports`, `expected a port (22), a port range ("8000-8100") or a list of them, got ${typeof ports}`);
      }
    }

    // icmp type / code
    const hasType = present(r["icmpType"]);
    const hasCode = present(r["icmpCode"]);
    if (protocol !== undefined && !ICMP_PROTOCOLS.has(protocol)) {
      if (hasType) add(`${path}.icmpType`, `icmpType applies only to icmp and icmpv6; remove it from this ${protocol} rule`);
      if (hasCode) add(`${path}.icmpCode`, `icmpCode applies only to icmp and icmpv6; remove it from this ${protocol} rule`);
    } else if (hasCode && !hasType) {
      add(`${path}.icmpCode`, "icmpCode needs icmpType (a code is only meaningful within a type)");
    }

    // peers
    const cidrs = Array.isArray(r["cidrs"]) ? r["cidrs"] : [];
    const peerGroups = Array.isArray(r["securityGroups"]) ? r["securityGroups"] : [];
    const families = new Set<Family>();
    let allCidrsValid = true;
    cidrs.forEach((c, k) => {
      if (typeof c !== "string") {
        allCidrsValid = false;
        return;
      }
      const p = parsePrefix(c);
      if (!p.ok) {
        allCidrsValid = false;
        add(`${path}.cidrs[${k}]`, p.message);
      } else {
        families.add(p.prefix.family);
      }
    });
    peerGroups.forEach((s, k) => {
      if (typeof s !== "string") return;
      if (!groupIndex.has(s)) add(`${path}.securityGroups[${k}]`, unknownGroup(s));
      else if (!peerGroupUse.has(s)) peerGroupUse.set(s, path);
    });
    const cidrsField = r["cidrs"];
    const groupsField = r["securityGroups"];
    const cidrsTypedOk = !present(cidrsField) || Array.isArray(cidrsField);
    const groupsTypedOk = !present(groupsField) || Array.isArray(groupsField);
    if (cidrs.length === 0 && peerGroups.length === 0 && cidrsTypedOk && groupsTypedOk) {
      add(path, `rule has no peers; set cidrs (["0.0.0.0/0", "::/0"] for anywhere) and/or securityGroups`);
    }
    if (peerGroups.length === 0 && cidrs.length > 0 && allCidrsValid) {
      if (protocol === "icmp" && !families.has(4)) {
        add(
          `${path}.cidrs`,
          `protocol icmp (ICMPv4) only matches IPv4 peers, but every CIDR here is IPv6 (${cidrs.join(", ")}); use protocol icmpv6, or add IPv4 CIDRs`,
        );
      }
      if (protocol === "icmpv6" && !families.has(6)) {
        add(
          `${path}.cidrs`,
          `protocol icmpv6 only matches IPv6 peers, but every CIDR here is IPv4 (${cidrs.join(", ")}); use protocol icmp, or add IPv6 CIDRs`,
        );
      }
    }
  }

  // hosts
  const hosts = Array.isArray(decl["hosts"]) ? decl["hosts"] : [];
  const hostIndex = new Map<string, number>();
  hosts.forEach((h, i) => {
    if (!isObj(h)) return;
    const name = h["name"];
    if (typeof name === "string") {
      if (!HOST_NAME_PATTERN.test(name)) {
        add(
          `hosts[${i}].name`,
          `host name ${JSON.stringify(name)} is invalid; use 1-64 characters: letters, digits, ".", "_" and "-", starting with a letter or digit`,
        );
      }
      const first = hostIndex.get(name);
      if (first !== undefined) add(`hosts[${i}].name`, `duplicate host name ${JSON.stringify(name)} (already declared at hosts[${first}])`);
      else hostIndex.set(name, i);
    }
    const conn = h["connection"];
    if (isObj(conn)) {
      if (typeof conn["host"] === "string") checkConnectionHost(conn["host"], `hosts[${i}].connection.host`, add);
      const proxy = conn["proxy"];
      if (isObj(proxy) && typeof proxy["host"] === "string") {
        checkConnectionHost(proxy["host"], `hosts[${i}].connection.proxy.host`, add);
      }
    }
    const addresses = h["addresses"];
    if (Array.isArray(addresses)) {
      if (addresses.length === 0) {
        add(`hosts[${i}].addresses`, "is empty; omit it to default to connection.host, or list at least one address");
      }
      addresses.forEach((a, k) => {
        if (typeof a !== "string") return;
        if (parseAddress(a)) return;
        const asPrefix = parsePrefix(a);
        add(
          `hosts[${i}].addresses[${k}]`,
          a.includes("/") && asPrefix.ok
            ? `${JSON.stringify(a)} is a prefix; addresses are single IPs (e.g. ${formatAddress(asPrefix.prefix.family, asPrefix.prefix.value)})`
            : `${JSON.stringify(a)} is not a valid IPv4 or IPv6 address`,
        );
      });
    }
    const attached = h["securityGroups"];
    if (Array.isArray(attached)) {
      attached.forEach((s, k) => {
        if (typeof s === "string" && !groupIndex.has(s)) add(`hosts[${i}].securityGroups[${k}]`, unknownGroup(s));
      });
    }
  });

  // Members of peer groups need an address, or "from <group>" would silently
  // not include them.
  hosts.forEach((h, i) => {
    if (!isObj(h) || !Array.isArray(h["securityGroups"])) return;
    if (present(h["addresses"])) return; // explicit addresses: checked above
    const conn = h["connection"];
    if (!isObj(conn) || typeof conn["host"] !== "string" || conn["host"] === "") return;
    if (usableAddresses(h).length > 0) return;
    const used = (h["securityGroups"] as unknown[]).find((s): s is string => typeof s === "string" && peerGroupUse.has(s));
    if (used === undefined) return;
    const name = typeof h["name"] === "string" ? JSON.stringify(h["name"]) : `hosts[${i}]`;
    add(
      `hosts[${i}].addresses`,
      `host ${name} has no usable address, but it is a member of group ${JSON.stringify(used)}, which ${peerGroupUse.get(
        used,
      )} uses as a peer; connection.host ${JSON.stringify(conn["host"])} is not an IP literal, so set addresses (e.g. ["198.51.100.7"])`,
    );
  });

  return issues;
}
