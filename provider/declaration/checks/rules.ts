// Each rule of each group: ports, ICMP type/code, peers (CIDRs and group
// references) and protocol/family combinations. Records which rule first uses
// each group as a peer, for the host address check.
import type { Family } from "../../addressing/cidr";
import { specialRangeOf } from "./specialAddresses";
import { parsePortSpec } from "../../addressing/ports";
import { type CheckContext, type Obj, checkDescription, isObj, isPeerGroupName, present, unknownGroupMessage, unknownListMessage } from "./context";
import { DIRECTIONS } from "../../vocabulary/directions";
import { hasPorts, isIcmp, PROTOCOLS } from "../../vocabulary/protocols";

export function checkRules(ctx: CheckContext, groups: unknown[]): void {
  groups.forEach((g, i) => {
    if (!isObj(g)) return;
    checkDescription(ctx, g["description"], `securityGroups[${i}].description`);
    for (const dir of DIRECTIONS) {
      const rules = g[dir];
      if (!Array.isArray(rules)) continue;
      rules.forEach((r, j) => {
        if (isObj(r)) checkRule(ctx, r, `securityGroups[${i}].${dir}[${j}]`, dir);
      });
    }
  });
}

function checkRule(ctx: CheckContext, r: Obj, path: string, direction: string): void {
  const protocol = typeof r["protocol"] === "string" && (PROTOCOLS as readonly string[]).includes(r["protocol"]) ? r["protocol"] : undefined;
  checkDescription(ctx, r["description"], `${path}.description`);
  checkPorts(ctx, r, path, protocol);
  checkIcmp(ctx, r, path, protocol);
  checkPeers(ctx, r, path, protocol, direction);
}

function checkPorts(ctx: CheckContext, r: Obj, path: string, protocol: string | undefined): void {
  const ports = r["ports"];
  if (!present(ports)) return;
  if (protocol !== undefined && !hasPorts(protocol)) {
    ctx.add(`${path}.ports`, `ports apply only to tcp, udp and sctp; remove ports from this ${protocol} rule`);
  }
  if (Array.isArray(ports)) {
    if (ports.length === 0) ctx.add(`${path}.ports`, "is an empty list; omit ports to allow all ports");
    ports.forEach((p, k) => {
      const parsed = parsePortSpec(p);
      if (!parsed.ok) ctx.add(`${path}.ports[${k}]`, parsed.message);
    });
  } else if (typeof ports === "number" || typeof ports === "string") {
    const parsed = parsePortSpec(ports);
    if (!parsed.ok) ctx.add(`${path}.ports`, parsed.message);
  } else {
    ctx.add(`${path}.ports`, `expected a port (22), a port range ("8000-8100") or a list of them, got ${typeof ports}`);
  }
}

function checkIcmp(ctx: CheckContext, r: Obj, path: string, protocol: string | undefined): void {
  const hasType = present(r["icmpType"]);
  const hasCode = present(r["icmpCode"]);
  if (protocol !== undefined && !isIcmp(protocol)) {
    if (hasType) ctx.add(`${path}.icmpType`, `icmpType applies only to icmp and icmpv6; remove it from this ${protocol} rule`);
    if (hasCode) ctx.add(`${path}.icmpCode`, `icmpCode applies only to icmp and icmpv6; remove it from this ${protocol} rule`);
  } else if (hasCode && !hasType) {
    ctx.add(`${path}.icmpCode`, "icmpCode needs icmpType (a code is only meaningful within a type)");
  }
}

function checkPeers(ctx: CheckContext, r: Obj, path: string, protocol: string | undefined, direction: string): void {
  const cidrs = Array.isArray(r["cidrs"]) ? r["cidrs"] : [];
  const peerGroups = Array.isArray(r["securityGroups"]) ? r["securityGroups"] : [];
  const families = new Set<Family>();
  let allCidrsValid = true;
  cidrs.forEach((c, k) => {
    if (typeof c !== "string") {
      allCidrsValid = false;
      return;
    }
    const p = ctx.parsePrefix(c);
    if (!p.ok) {
      allCidrsValid = false;
      ctx.add(`${path}.cidrs[${k}]`, p.message);
    } else {
      families.add(p.prefix.family);
      const special = specialRangeOf(p.prefix);
      // Multicast is a valid destination (egress), never a source (ingress).
      if (special && !(special.kind === "multicast" && direction === "egress")) {
        ctx.add(`${path}.cidrs[${k}]`, `CIDR ${c} is ${special.kind} (${special.range}): ${special.why}; remove it`);
      }
    }
  });
  peerGroups.forEach((s, k) => {
    if (typeof s !== "string") return;
    if (!isPeerGroupName(ctx, s)) ctx.add(`${path}.securityGroups[${k}]`, unknownGroupMessage(ctx, s));
    else if (!ctx.peerGroupUse.has(s)) ctx.peerGroupUse.set(s, path);
  });
  const lists = Array.isArray(r["addressLists"]) ? r["addressLists"] : [];
  checkListReferences(ctx, lists, path, protocol, direction);
  const cidrsTypedOk = !present(r["cidrs"]) || Array.isArray(r["cidrs"]);
  const groupsTypedOk = !present(r["securityGroups"]) || Array.isArray(r["securityGroups"]);
  const listsTypedOk = !present(r["addressLists"]) || Array.isArray(r["addressLists"]);
  if (cidrs.length === 0 && peerGroups.length === 0 && lists.length === 0 && cidrsTypedOk && groupsTypedOk && listsTypedOk) {
    ctx.add(path, `rule has no peers; set cidrs (["0.0.0.0/0", "::/0"] for anywhere) and/or securityGroups (or addressLists)`);
  }
  const icmp = protocol === "icmp" || protocol === "icmpv6";
  // Beside address lists, an inline CIDR of the other family would match nothing, as in a mixed list.
  if (icmp && (families.size === 2 || (lists.length > 0 && peerGroups.length === 0))) checkIcmpFamilies(ctx, cidrs, path, protocol);
  if (peerGroups.length === 0 && lists.length === 0 && cidrs.length > 0 && allCidrsValid) {
    if (protocol === "icmp" && !families.has(4)) {
      ctx.add(
        `${path}.cidrs`,
        `protocol icmp (ICMPv4) only matches IPv4 peers, but every CIDR here is IPv6 (${cidrs.join(", ")}); use protocol icmpv6, or add IPv4 CIDRs`,
      );
    }
    if (protocol === "icmpv6" && !families.has(6)) {
      ctx.add(
        `${path}.cidrs`,
        `protocol icmpv6 only matches IPv6 peers, but every CIDR here is IPv4 (${cidrs.join(", ")}); use protocol icmp, or add IPv6 CIDRs`,
      );
    }
  }
}

/**
 * Each named address list must be declared; in an ingress rule it must hold
 * no multicast (never a source); in an icmp/icmpv6 rule it must hold a prefix
 * of that family, or it would match nothing (as a list is shared by rules of
 * both families, its other family's prefixes are simply not used there).
 */
function checkListReferences(ctx: CheckContext, lists: unknown[], path: string, protocol: string | undefined, direction: string): void {
  lists.forEach((l, k) => {
    if (typeof l !== "string") return;
    const at = `${path}.addressLists[${k}]`;
    if (!ctx.listIndex.has(l)) return ctx.add(at, unknownListMessage(ctx, l));
    const info = ctx.listInfo.get(l);
    if (!info) return;
    if (direction === "ingress" && info.multicast) {
      ctx.add(at, `address list ${JSON.stringify(l)} holds multicast ${info.multicast}, which is never the source of a packet; use that list in egress rules only, or remove the entry`);
    }
    if ((protocol === "icmp" || protocol === "icmpv6") && info.families.size > 0) {
      const family = protocol === "icmp" ? 4 : 6;
      if (!info.families.has(family)) {
        ctx.add(
          at,
          `address list ${JSON.stringify(l)} holds only IPv${family === 4 ? 6 : 4} prefixes, but protocol ${protocol} matches only IPv${family} peers: it would match nothing; ` +
            `name it in a rule with protocol ${protocol === "icmp" ? "icmpv6" : "icmp"} instead`,
        );
      }
    }
  });
}

/**
 * icmp (ICMPv4) matches only IPv4 peers and icmpv6 only IPv6 ones: a CIDR of
 * the other family in the same rule would be dropped from the ruleset
 * silently (half of what the user wrote, e.g. "::/0" beside "0.0.0.0/0").
 */
function checkIcmpFamilies(ctx: CheckContext, cidrs: unknown[], path: string, protocol: "icmp" | "icmpv6"): void {
  const wrong: Family = protocol === "icmp" ? 6 : 4;
  const other = protocol === "icmp" ? "icmpv6" : "icmp";
  cidrs.forEach((c, k) => {
    if (typeof c !== "string") return;
    const p = ctx.parsePrefix(c);
    if (!p.ok || p.prefix.family !== wrong) return;
    ctx.add(
      `${path}.cidrs[${k}]`,
      `${c} is an IPv${wrong} prefix, but protocol ${protocol} matches only IPv${wrong === 6 ? 4 : 6} peers; ` +
        `it would match nothing: move it to a separate rule with protocol ${other}`,
    );
  });
}
