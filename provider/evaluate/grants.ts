// One host's policy as grants: "this traffic, from/to these addresses, because
// of this rule", per direction — the rules of its groups with their peers
// resolved (CIDRs and current peer-group members, minus the host itself:
// that is loopback), the failsafe, and the defaults (no table: everything;
// no egress rule: all egress). The flow listing and the flow diff work on these.
import type { Family, Interval } from "../addressing/cidr";
import type { NormalisedHost, NormalisedRule } from "../declaration/fleetModel";
import type { PortRange } from "../addressing/ports";
import type { FleetIndex } from "./fleetIndex";
import { subtract, union, unionMerged } from "../addressing/intervals";
import { type Direction } from "../vocabulary/directions";
import { FAILSAFE_LABEL } from "../vocabulary/names";

export interface Grant {
  direction: Direction;
  protocol: NormalisedRule["protocol"];
  ports?: PortRange[];
  icmpType?: number;
  icmpCode?: number;
  peers: Record<Family, Interval[]>;
  /** The part of `peers` named by CIDRs, address lists' included (the rest are peer-group members). */
  cidrs: Record<Family, Interval[]>;
  /** Peer groups, for naming member hosts ("spare (sg web)"). */
  groups: string[];
  /** Address lists, for naming their CIDRs ("list office"). */
  lists?: string[];
  /** Why: "db: postgres from web", "failsafe ssh", "no egress rule". */
  origin: string;
}

export interface HostGrants {
  host: string;
  ingress: Grant[];
  egress: Grant[];
}

export const FULL: Record<Family, Interval[]> = { 4: [{ lo: 0n, hi: (1n << 32n) - 1n }], 6: [{ lo: 0n, hi: (1n << 128n) - 1n }] };

export const everything = (direction: Direction, origin: string): Grant => ({ direction, protocol: "all", peers: FULL, cidrs: FULL, groups: [], origin });

export function ruleOrigin(group: string, r: NormalisedRule): string {
  return `${group}: ${r.description ?? `${r.direction} rule`}`;
}

export function hostGrants(index: FleetIndex, host: NormalisedHost): HostGrants {
  if (host.groups.length === 0) {
    return { host: host.name, ingress: [everything("ingress", "no nftsg table")], egress: [everything("egress", "no nftsg table")] };
  }
  const own = (f: Family): Interval[] => union([host.addresses.filter((a) => a.family === f).map((a) => ({ lo: a.value, hi: a.value }))]);
  // The host itself is no peer of its own group (that traffic is loopback).
  const members = (rule: NormalisedRule, f: Family) => subtract(unionMerged(rule.groups.map((g) => index.memberAddresses(g, f))), own(f));
  const fromRules = (direction: Direction): Grant[] =>
    index.rulesOf(host, direction).map(({ group, rule }) => {
      const own = { 4: rule.mergedCidrs[4].intervals, 6: rule.mergedCidrs[6].intervals };
      const lists = rule.lists ?? [];
      const withLists = (f: Family) => unionMerged([own[f], ...lists.map((l) => index.addressList(l)!.merged[f].intervals)]);
      const cidrs = lists.length === 0 ? own : { 4: withLists(4), 6: withLists(6) };
      return {
        direction,
        protocol: rule.protocol,
        ...(rule.ports ? { ports: rule.ports } : {}),
        ...(rule.icmpType !== undefined ? { icmpType: rule.icmpType } : {}),
        ...(rule.icmpCode !== undefined ? { icmpCode: rule.icmpCode } : {}),
        peers: rule.groups.length === 0 ? cidrs : { 4: unionMerged([cidrs[4], members(rule, 4)]), 6: unionMerged([cidrs[6], members(rule, 6)]) },
        cidrs,
        groups: rule.groups,
        ...(lists.length > 0 ? { lists } : {}),
        origin: ruleOrigin(group, rule),
      };
    });
  const ingress = fromRules("ingress");
  const sources = { 4: index.failsafeSources(4), 6: index.failsafeSources(6) };
  if (sources[4] && sources[6]) {
    const peers = { 4: sources[4], 6: sources[6] };
    ingress.push({ direction: "ingress", protocol: "tcp", ports: [{ lo: host.sshPort, hi: host.sshPort }], peers, cidrs: peers, groups: [], origin: FAILSAFE_LABEL });
  }
  const egress = fromRules("egress");
  return { host: host.name, ingress, egress: egress.length > 0 ? egress : [everything("egress", "no egress rule")] };
}
