// What the evaluator looks up per query, computed once per fleet: hosts by
// name and by address, each group's member addresses as merged intervals, and
// each rule's peer addresses (its CIDRs and its peer groups' members).
import { type Family, type Interval, addressToInterval, mergeIntervals, prefixToInterval } from "../addressing/cidr";
import type { NormalisedAddressList, NormalisedFleet, NormalisedGroup, NormalisedHost, NormalisedRemoteGroup, NormalisedRemoteMember, NormalisedRule } from "../declaration/fleetModel";
import { union } from "../addressing/intervals";
import { type Direction } from "../vocabulary/directions";

export interface FleetIndex {
  readonly fleet: NormalisedFleet;
  host(name: string): NormalisedHost | undefined;
  group(name: string): NormalisedGroup | undefined;
  /** The host that declares this address, if any. */
  hostByAddress(family: Family, value: bigint): NormalisedHost | undefined;
  /** Hosts attached to the group, by name (none for a remote group: its members are not hosts of this fleet). */
  members(group: string): NormalisedHost[];
  /** The addresses of a group's members (a remote group's too), per family (merged). */
  memberAddresses(group: string, family: Family): Interval[];
  /** A remote group (docs/multistack.md), if `name` is one. */
  remoteGroup(name: string): NormalisedRemoteGroup | undefined;
  /** The remote member that publishes this address, with its remote group (the first by name). */
  remoteMemberByAddress(family: Family, value: bigint): { member: NormalisedRemoteMember; group: string } | undefined;
  /** An address list, if declared. */
  addressList(name: string): NormalisedAddressList | undefined;
  /** Every address a fleet host declares, per family (merged). */
  fleetAddresses(family: Family): Interval[];
  /** Where the SSH failsafe accepts from (merged), or undefined when it is off. */
  failsafeSources(family: Family): Interval[] | undefined;
  /** The rules of every group the host is attached to, with their group. */
  rulesOf(host: NormalisedHost, direction: Direction): readonly { group: string; rule: NormalisedRule }[];
  /** The addresses a rule matches as peer (CIDRs and current peer-group members). */
  peerRange(rule: NormalisedRule, family: Family): Interval[];
}

const key = (family: Family, value: bigint) => `${family}/${value}`;

export function indexFleet(fleet: NormalisedFleet): FleetIndex {
  const hosts = new Map(fleet.hosts.map((h) => [h.name, h]));
  const groups = new Map(fleet.groups.map((g) => [g.name, g]));
  const byAddress = new Map<string, NormalisedHost>();
  const members = new Map<string, NormalisedHost[]>();
  for (const h of fleet.hosts) {
    for (const a of h.addresses) if (!byAddress.has(key(a.family, a.value))) byAddress.set(key(a.family, a.value), h);
    for (const g of h.groups) members.set(g, [...(members.get(g) ?? []), h]);
  }
  const addressesOf = (list: readonly Pick<NormalisedHost, "addresses">[], family: Family): Interval[] =>
    mergeIntervals(list.flatMap((h) => h.addresses.filter((a) => a.family === family).map(addressToInterval)));
  const cached = <T>(compute: (family: Family, k: string) => T) => {
    const memo = new Map<string, T>();
    return (family: Family, k: string): T => {
      const id = `${family}\u0000${k}`;
      let v = memo.get(id);
      if (v === undefined) {
        v = compute(family, k);
        memo.set(id, v);
      }
      return v;
    };
  };
  const remotes = new Map((fleet.remoteGroups ?? []).map((r) => [r.name, r]));
  const lists = new Map((fleet.addressLists ?? []).map((l) => [l.name, l]));
  const remoteByAddress = new Map<string, { member: NormalisedRemoteMember; group: string }>();
  for (const r of fleet.remoteGroups ?? []) {
    for (const m of r.members) for (const a of m.addresses) if (!remoteByAddress.has(key(a.family, a.value))) remoteByAddress.set(key(a.family, a.value), { member: m, group: r.name });
  }
  const groupAddresses = cached((family, name) => addressesOf(remotes.get(name)?.members ?? members.get(name) ?? [], family));
  const allAddresses = cached((family) => addressesOf(fleet.hosts, family));
  const everywhere = { 4: [{ lo: 0n, hi: (1n << 32n) - 1n }], 6: [{ lo: 0n, hi: (1n << 128n) - 1n }] };
  const failsafe = cached((family) =>
    fleet.failsafe.cidrs === undefined ? everywhere[family] : mergeIntervals(fleet.failsafe.cidrs.filter((p) => p.family === family).map(prefixToInterval)),
  );
  const rulePeers = new Map<NormalisedRule, Partial<Record<Family, Interval[]>>>();
  const rulesByHost = new Map<string, { group: string; rule: NormalisedRule }[]>();
  return {
    fleet,
    host: (name) => hosts.get(name),
    group: (name) => groups.get(name),
    hostByAddress: (family, value) => byAddress.get(key(family, value)),
    members: (group) => members.get(group) ?? [],
    memberAddresses: (group, family) => groupAddresses(family, group),
    remoteGroup: (name) => remotes.get(name),
    remoteMemberByAddress: (family, value) => remoteByAddress.get(key(family, value)),
    addressList: (name) => lists.get(name),
    fleetAddresses: (family) => allAddresses(family, ""),
    failsafeSources: (family) => (fleet.failsafe.ssh ? failsafe(family, "") : undefined),
    rulesOf(host, direction) {
      const id = `${direction}\u0000${host.name}`;
      let rules = rulesByHost.get(id);
      if (rules === undefined) {
        rules = host.groups.flatMap((g) => (groups.get(g)?.[direction] ?? []).map((rule) => ({ group: g, rule })));
        rulesByHost.set(id, rules);
      }
      return rules;
    },
    peerRange(rule, family) {
      let perFamily = rulePeers.get(rule);
      if (perFamily === undefined) rulePeers.set(rule, (perFamily = {}));
      return (perFamily[family] ??= union([
        rule.mergedCidrs[family].intervals,
        ...rule.groups.map((g) => groupAddresses(family, g)),
        ...(rule.lists ?? []).map((l) => lists.get(l)!.merged[family].intervals),
      ]));
    },
  };
}
