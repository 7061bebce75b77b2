// What changed in the peers a fleet shares between many rules and hosts —
// address lists and remote groups (docs/multistack.md) — said once, with how
// many hosts the change reaches: "list office: + 203.0.113.7/32, affects 14
// hosts". The flow diff then shows each host's exact effect.
import { formatAddress, formatPrefix } from "../addressing/cidr";
import type { NormalisedFleet, NormalisedRemoteMember } from "../declaration/fleetModel";

/** Hosts whose groups have a rule naming the peer. */
function affected(fleet: NormalisedFleet, names: (r: { groups: string[]; lists?: string[] }) => boolean): number {
  const using = new Set(fleet.groups.filter((g) => [...g.ingress, ...g.egress].some(names)).map((g) => g.name));
  return fleet.hosts.filter((h) => h.groups.some((g) => using.has(g))).length;
}

const hostsText = (n: number) => (n === 0 ? "affects no host" : `affects ${n} host${n === 1 ? "" : "s"}`);

function memberText(m: NormalisedRemoteMember): string {
  return `${m.name} (${m.addresses.map((a) => formatAddress(a.family, a.value)).join(", ")})`;
}

/** One line per address list or remote group whose content differs between the two versions, sorted. */
export function sharedPeerChanges(before: NormalisedFleet, after: NormalisedFleet): string[] {
  const out: string[] = [];
  const lists = (f: NormalisedFleet) => new Map((f.addressLists ?? []).map((l) => [l.name, l.cidrs.map(formatPrefix)]));
  const [oldLists, newLists] = [lists(before), lists(after)];
  for (const name of [...new Set([...oldLists.keys(), ...newLists.keys()])].sort()) {
    const was = oldLists.get(name) ?? [];
    const is = newLists.get(name) ?? [];
    const changes = [...is.filter((c) => !was.includes(c)).map((c) => `+ ${c}`), ...was.filter((c) => !is.includes(c)).map((c) => `- ${c}`)];
    if (changes.length === 0) continue;
    const fleet = newLists.has(name) ? after : before;
    out.push(`list ${name}: ${changes.join(", ")}, ${hostsText(affected(fleet, (r) => (r.lists ?? []).includes(name)))}`);
  }
  const remotes = (f: NormalisedFleet) => new Map((f.remoteGroups ?? []).map((r) => [r.name, new Map(r.members.map((m) => [m.name, memberText(m)]))]));
  const [oldRemote, newRemote] = [remotes(before), remotes(after)];
  for (const name of [...new Set([...oldRemote.keys(), ...newRemote.keys()])].sort()) {
    const was = oldRemote.get(name) ?? new Map<string, string>();
    const is = newRemote.get(name) ?? new Map<string, string>();
    const changes: string[] = [];
    for (const [m, text] of is) if (!was.has(m)) changes.push(`+ ${text}`);
    for (const [m, text] of is) if (was.has(m) && was.get(m) !== text) changes.push(`~ ${text}`);
    for (const [m, text] of was) if (!is.has(m)) changes.push(`- ${text}`);
    if (changes.length === 0) continue;
    const fleet = newRemote.has(name) ? after : before;
    out.push(`remote sg ${name}: ${changes.join(", ")}, ${hostsText(affected(fleet, (r) => r.groups.includes(name)))}`);
  }
  return out;
}
