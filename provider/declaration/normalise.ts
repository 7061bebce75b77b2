// Normalisation of a valid declaration for the compiler: every list sorted
// and de-duplicated, every CIDR and port parsed and merged, defaults filled
// in. After this, declaration order is gone.

import { type Address, FAMILY_BITS, type Prefix, type PrefixParse, intervalToNftElement, mergeIntervals, parseAddress, prefixToInterval } from "../addressing/cidr";
import { specialRangeOf } from "./checks/specialAddresses";
import type { NormalisedAddressList, NormalisedFleet, NormalisedGroup, NormalisedHost, NormalisedHostObserve, NormalisedPolicyTest, NormalisedProposal, NormalisedRemoteGroup, NormalisedRule } from "./fleetModel";
import { readRemoteGroup } from "./remoteGroups";
import type { ParsedFleet, ParsedPolicyTest, ParsedRule } from "./fleetSchema";
import { mergePortRanges, parsePortSpec, type PortRange } from "../addressing/ports";
import { normaliseContainers } from "./containers";
import { type Protocol } from "../vocabulary/protocols";
import { DEFAULT_SSH_PORT, DEFAULT_TABLE } from "../vocabulary/defaults";
import { type Direction } from "../vocabulary/directions";
import { DEFAULT_LOG_PER_MINUTE, DEFAULT_MAX_FLOWS, DEFAULT_RETENTION_HOURS } from "../vocabulary/observe";


export function comparePrefixes(a: Prefix, b: Prefix): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  return a.length - b.length;
}

export function compareAddresses(a: Address, b: Address): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

function uniqueSorted<T>(items: readonly T[], cmp: (a: T, b: T) => number): T[] {
  const sorted = [...items].sort(cmp);
  return sorted.filter((x, i) => i === 0 || cmp(sorted[i - 1]!, x) !== 0);
}

function parsePrefixes(list: readonly string[], parsePrefix: (text: string) => PrefixParse): Prefix[] {
  return uniqueSorted(
    list.map((c) => {
      const p = parsePrefix(c);
      if (!p.ok) throw new Error(`internal: unvalidated CIDR ${c}`);
      return p.prefix;
    }),
    comparePrefixes,
  );
}

/** Merged CIDRs per family, as intervals and nft elements. */
export function mergeCidrs(prefixes: readonly Prefix[]): NormalisedRule["mergedCidrs"] {
  const out = {} as NormalisedRule["mergedCidrs"];
  for (const family of [4, 6] as const) {
    const intervals = mergeIntervals(prefixes.filter((p) => p.family === family).map(prefixToInterval));
    out[family] = { intervals, elements: intervals.map((iv) => intervalToNftElement(family, iv)) };
  }
  return out;
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** What a rule matches, without its description (observe names a rule's counter by it). */
export function ruleContentKey(r: Omit<NormalisedRule, "key" | "description">): string {
  const ports = r.ports ? r.ports.map((p) => `${pad(p.lo, 5)}-${pad(p.hi, 5)}`).join(",") : "*";
  const icmp = r.icmpType === undefined ? "*" : `${pad(r.icmpType, 3)}/${r.icmpCode === undefined ? "*" : pad(r.icmpCode, 3)}`;
  // Address lists by name (their content is the list's): absent from the key
  // when the rule names none, so such rules keep the keys they always had.
  const lists = r.lists ? [`list:${r.lists.join(",")}`] : [];
  return [r.protocol, ports, icmp, r.cidrElements.join(","), r.groups.join(","), ...lists].join("|");
}

function ruleKey(r: Omit<NormalisedRule, "key">): string {
  return [ruleContentKey(r), JSON.stringify(r.description ?? "")].join("|");
}

function normaliseRule(direction: Direction, r: ParsedRule, parsePrefix: (text: string) => PrefixParse): NormalisedRule {
  const protocol = r.protocol as Protocol;
  let ports: PortRange[] | undefined;
  if (r.ports !== undefined && r.ports !== null) {
    const specs = Array.isArray(r.ports) ? r.ports : [r.ports];
    ports = mergePortRanges(
      specs.map((s) => {
        const p = parsePortSpec(s);
        if (!p.ok) throw new Error(`internal: unvalidated port ${String(s)}`);
        return p.range;
      }),
    );
  }
  const description = r.description ?? undefined;
  const cidrs = parsePrefixes(r.cidrs ?? [], parsePrefix);
  const mergedCidrs = mergeCidrs(cidrs);
  const base: Omit<NormalisedRule, "key"> = {
    direction,
    protocol,
    ...(ports ? { ports } : {}),
    ...(r.icmpType !== undefined && r.icmpType !== null ? { icmpType: r.icmpType } : {}),
    ...(r.icmpCode !== undefined && r.icmpCode !== null ? { icmpCode: r.icmpCode } : {}),
    cidrs,
    cidrElements: [...mergedCidrs[4].elements, ...mergedCidrs[6].elements],
    mergedCidrs,
    groups: uniqueSorted(r.securityGroups ?? [], (a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    ...(r.addressLists && r.addressLists.length > 0 ? { lists: uniqueSorted(r.addressLists, (a, b) => (a < b ? -1 : a > b ? 1 : 0)) } : {}),
    ...(description !== undefined && description !== "" ? { description } : {}),
  };
  return { ...base, key: ruleKey(base) };
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function normaliseRules(direction: Direction, rules: readonly ParsedRule[] | null | undefined, parsePrefix: (text: string) => PrefixParse): NormalisedRule[] {
  const out = (rules ?? []).map((r) => normaliseRule(direction, r, parsePrefix));
  return uniqueSorted(out, (a, b) => byString(a.key, b.key));
}

export function normalise(p: ParsedFleet, parsePrefix: (text: string) => PrefixParse): NormalisedFleet {
  const fleet = normaliseWithoutObserve(p, parsePrefix);
  if (!p.observe && !p.hosts.some((h) => h.observe)) return fleet;
  const byName = new Map(p.hosts.map((h) => [h.name, h]));
  for (const h of fleet.hosts) {
    const observe = hostObserve(p.observe, byName.get(h.name)?.observe);
    if (observe) h.observe = observe;
  }
  const proposal = p.observe?.proposal;
  if (proposal) fleet.proposal = normaliseProposal(p, proposal, parsePrefix);
  return fleet;
}

/** A host's observe settings: the fleet's, its own mode and acknowledgements over them; none when neither declares observe. */
function hostObserve(fleet: ParsedFleet["observe"], own: ParsedFleet["hosts"][number]["observe"]): NormalisedHostObserve | undefined {
  if (!fleet && !own) return undefined;
  const log = fleet?.log;
  const logPerMinute = log === true ? DEFAULT_LOG_PER_MINUTE : log && typeof log === "object" ? (log.perMinute ?? DEFAULT_LOG_PER_MINUTE) : undefined;
  return {
    mode: own?.mode ?? fleet?.mode ?? "enforce",
    maxFlows: fleet?.maxFlows ?? DEFAULT_MAX_FLOWS,
    retentionHours: fleet?.retentionHours ?? DEFAULT_RETENTION_HOURS,
    ...(logPerMinute !== undefined ? { logPerMinute } : {}),
    acknowledge: uniqueSorted([...(fleet?.acknowledge ?? []), ...(own?.acknowledge ?? [])], byString),
  };
}

/** The staged change: its groups normalised like the fleet's, and every host's groups under it. */
function normaliseProposal(p: ParsedFleet, proposal: NonNullable<NonNullable<ParsedFleet["observe"]>["proposal"]>, parsePrefix: (text: string) => PrefixParse): NormalisedProposal {
  const listed = new Map((proposal.hosts ?? []).map((h) => [h.name, h.securityGroups]));
  const proposed = normaliseWithoutObserve(
    { ...p, securityGroups: proposal.securityGroups, hosts: p.hosts.map((h) => ({ ...h, securityGroups: listed.get(h.name) ?? h.securityGroups })), tests: undefined },
    parsePrefix,
  );
  return { groups: proposed.groups, hostGroups: Object.fromEntries(proposed.hosts.map((h) => [h.name, h.groups])) };
}

function normaliseWithoutObserve(p: ParsedFleet, parsePrefix: (text: string) => PrefixParse): NormalisedFleet {
  const groups: NormalisedGroup[] = p.securityGroups
    .map((g) => ({
      name: g.name,
      ...(g.description ? { description: g.description } : {}),
      ingress: normaliseRules("ingress", g.ingress, parsePrefix),
      egress: normaliseRules("egress", g.egress, parsePrefix),
    }))
    .sort((a, b) => byString(a.name, b.name));
  const hosts: NormalisedHost[] = p.hosts
    .map((h) => {
      let addresses: Address[];
      if (h.addresses) {
        addresses = h.addresses.map((a) => parseAddress(a)!);
      } else {
        // Not a loopback/link-local/... connection host (e.g. a port-forward
        // through 127.0.0.1): validation does not count it as an address either.
        const a = parseAddress(h.connection.host);
        addresses = a && !specialRangeOf({ ...a, length: FAMILY_BITS[a.family] }) ? [a] : [];
      }
      return {
        name: h.name,
        connectionHost: h.connection.host,
        sshPort: p.failsafe?.port ?? h.connection.port ?? DEFAULT_SSH_PORT,
        addresses: uniqueSorted(addresses, compareAddresses),
        groups: uniqueSorted(h.securityGroups, byString),
      };
    })
    .sort((a, b) => byString(a.name, b.name));
  const fs = p.failsafe ?? {};
  const addressLists: NormalisedAddressList[] = (p.addressLists ?? [])
    .map((l) => {
      const cidrs = parsePrefixes(l.cidrs, parsePrefix);
      return { name: l.name, ...(l.description ? { description: l.description } : {}), cidrs, merged: mergeCidrs(cidrs) };
    })
    .sort((a, b) => byString(a.name, b.name));
  const remoteGroups: NormalisedRemoteGroup[] = (p.remoteGroups ?? [])
    .map((r) => {
      const group = r.group ?? r.name;
      const read = readRemoteGroup(r.source, group, { allowEmpty: r.allowEmpty === true, groupField: r.group ? "group" : "name" });
      if (!read.ok) throw new Error(`internal: unvalidated remote group ${r.name}`);
      const { members, stack, fleet, emptyBecause } = read.read;
      return {
        name: r.name,
        group,
        ...(stack !== undefined ? { stack } : {}),
        ...(fleet !== undefined ? { fleet } : {}),
        members,
        ...(emptyBecause !== undefined ? { emptyBecause } : {}),
        ...(r.description ? { description: r.description } : {}),
      };
    })
    .sort((a, b) => byString(a.name, b.name));
  return {
    table: p.table ?? DEFAULT_TABLE,
    failsafe: {
      ssh: fs.ssh !== false,
      ...(fs.cidrs ? { cidrs: parsePrefixes(fs.cidrs, parsePrefix) } : {}),
    },
    revokeEstablished: p.revokeEstablished !== false,
    containers: normaliseContainers(p.containers),
    groups,
    hosts,
    ...(addressLists.length > 0 ? { addressLists } : {}),
    ...(remoteGroups.length > 0 ? { remoteGroups } : {}),
    ...(p.tests && p.tests.length > 0 ? { tests: p.tests.map(normalisePolicyTest) } : {}),
  };
}

function normalisePolicyTest(t: ParsedPolicyTest, index: number): NormalisedPolicyTest {
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  const [port, icmpType, icmpCode] = [num(t.port), num(t.icmpType), num(t.icmpCode)];
  return {
    index,
    from: t.from,
    to: t.to,
    protocol: t.protocol,
    ...(port !== undefined ? { port } : {}),
    ...(icmpType !== undefined ? { icmpType } : {}),
    ...(icmpCode !== undefined ? { icmpCode } : {}),
    expect: t.expect,
    ...(t.description ? { description: t.description } : {}),
  };
}
