// The ends a query names, as the flows they stand for: a host name (each of
// its addresses), `sg:<group>` (every member; a remote group's members are
// addresses outside this fleet), `list:<address list>` (its CIDRs), or an
// address/CIDR outside the fleet (an address a fleet host declares stands
// for that host).
import { type Family, formatAddress, parseAddress, parsePrefix, prefixToInterval } from "../addressing/cidr";
import { didYouMean } from "../declaration/didYouMean";
import type { NormalisedHost } from "../declaration/fleetModel";
import type { FleetIndex } from "./fleetIndex";
import type { FlowEnd } from "./flow";
import { subtract } from "../addressing/intervals";

export type Endpoint =
  | { kind: "host"; host: NormalisedHost; family?: Family; value?: bigint }
  | { kind: "group"; name: string; members: NormalisedHost[] }
  | { kind: "outside"; text: string; family: Family; ends: FlowEnd[] }
  /** Outside the fleet, but named: an address list, or a remote group's members (docs/multistack.md). */
  | { kind: "named"; text: string; ends: FlowEnd[]; notes: string[] };

export const GROUP_PREFIX = "sg:";
export const LIST_PREFIX = "list:";

export type EndpointParse = { ok: true; endpoint: Endpoint } | { ok: false; message: string };

export function resolveEndpoint(index: FleetIndex, text: string): EndpointParse {
  if (text.startsWith(GROUP_PREFIX)) {
    const name = text.slice(GROUP_PREFIX.length);
    const remote = index.remoteGroup(name);
    if (remote) {
      const ends = remote.members.flatMap((m) =>
        m.addresses.map((a) => ({ family: a.family, range: [{ lo: a.value, hi: a.value }], label: `${m.name} (${formatAddress(a.family, a.value)})` })),
      );
      const notes = [
        remote.members.length === 0
          ? `sg:${name} has no members (remote group${remote.emptyBecause ? `: ${remote.emptyBecause}` : ""})`
          : `sg:${name} is a remote group: its members are hosts of ${remote.stack ?? "another stack"}, whose own rules are not evaluated here`,
      ];
      return { ok: true, endpoint: { kind: "named", text, ends, notes } };
    }
    if (!index.group(name)) {
      const hint = didYouMean(name, [...index.fleet.groups.map((g) => g.name), ...(index.fleet.remoteGroups ?? []).map((r) => r.name)]);
      return { ok: false, message: `unknown security group ${JSON.stringify(name)}${hint ? `; did you mean "sg:${hint}"?` : ""}` };
    }
    return { ok: true, endpoint: { kind: "group", name, members: index.members(name) } };
  }
  if (text.startsWith(LIST_PREFIX)) {
    const name = text.slice(LIST_PREFIX.length);
    const list = index.addressList(name);
    if (!list) {
      const hint = didYouMean(name, (index.fleet.addressLists ?? []).map((l) => l.name));
      return { ok: false, message: `unknown address list ${JSON.stringify(name)}${hint ? `; did you mean "list:${hint}"?` : ""}` };
    }
    // As for a CIDR: the addresses of fleet hosts in it are those hosts, named by name.
    const ends = ([4, 6] as const).flatMap((f) => {
      const range = subtract(list.merged[f].intervals, index.fleetAddresses(f));
      return range.length === 0 ? [] : [{ family: f, range, label: `list ${name}` }];
    });
    const notes = ends.length === 0 ? [`list ${name} holds only addresses of fleet hosts; name the hosts instead`] : [];
    return { ok: true, endpoint: { kind: "named", text, ends, notes } };
  }
  const host = index.host(text);
  if (host) return { ok: true, endpoint: { kind: "host", host } };
  const address = parseAddress(text);
  if (address) {
    const owner = index.hostByAddress(address.family, address.value);
    if (owner) return { ok: true, endpoint: { kind: "host", host: owner, family: address.family, value: address.value } };
  }
  const prefix = parsePrefix(text);
  if (prefix.ok) {
    const range = subtract([prefixToInterval(prefix.prefix)], index.fleetAddresses(prefix.prefix.family));
    const ends = range.length === 0 ? [] : [{ family: prefix.prefix.family, range, label: text }];
    return { ok: true, endpoint: { kind: "outside", text, family: prefix.prefix.family, ends } };
  }
  const hint = didYouMean(text, index.fleet.hosts.map((h) => h.name));
  return {
    ok: false,
    message: `${JSON.stringify(text)} is neither a host of the fleet, nor "sg:<group>", nor "list:<address list>", nor an address or CIDR${hint ? `; did you mean ${JSON.stringify(hint)}?` : ""}`,
  };
}

function hostEnds(host: NormalisedHost, only?: { family?: Family; value?: bigint }): FlowEnd[] {
  return host.addresses
    .filter((a) => only?.value === undefined || (a.family === only.family && a.value === only.value))
    .map((a) => ({ host, family: a.family, range: [{ lo: a.value, hi: a.value }], label: `${host.name} (${formatAddress(a.family, a.value)})` }));
}

export function endsOf(e: Endpoint): FlowEnd[] {
  switch (e.kind) {
    case "host":
      return hostEnds(e.host, e);
    case "group":
      return e.members.flatMap((h) => hostEnds(h));
    case "outside":
    case "named":
      return e.ends;
  }
}

export function endpointHosts(e: Endpoint): NormalisedHost[] {
  return e.kind === "host" ? [e.host] : e.kind === "group" ? e.members : [];
}
