// The ends a query names, as the flows they stand for: a host name (each of
// its addresses), `sg:<group>` (every member), or an address/CIDR outside the
// fleet (an address a fleet host declares stands for that host).
import { type Family, formatAddress, parseAddress, parsePrefix, prefixToInterval } from "../addressing/cidr";
import { didYouMean } from "../declaration/didYouMean";
import type { NormalisedHost } from "../declaration/fleetModel";
import type { FleetIndex } from "./fleetIndex";
import type { FlowEnd } from "./flow";
import { subtract } from "../addressing/intervals";

export type Endpoint =
  | { kind: "host"; host: NormalisedHost; family?: Family; value?: bigint }
  | { kind: "group"; name: string; members: NormalisedHost[] }
  | { kind: "outside"; text: string; family: Family; ends: FlowEnd[] };

export const GROUP_PREFIX = "sg:";

export type EndpointParse = { ok: true; endpoint: Endpoint } | { ok: false; message: string };

export function resolveEndpoint(index: FleetIndex, text: string): EndpointParse {
  if (text.startsWith(GROUP_PREFIX)) {
    const name = text.slice(GROUP_PREFIX.length);
    if (!index.group(name)) {
      const hint = didYouMean(name, index.fleet.groups.map((g) => g.name));
      return { ok: false, message: `unknown security group ${JSON.stringify(name)}${hint ? `; did you mean "sg:${hint}"?` : ""}` };
    }
    return { ok: true, endpoint: { kind: "group", name, members: index.members(name) } };
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
    message: `${JSON.stringify(text)} is neither a host of the fleet, nor "sg:<group>", nor an address or CIDR${hint ? `; did you mean ${JSON.stringify(hint)}?` : ""}`,
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
      return e.ends;
  }
}

export function endpointHosts(e: Endpoint): NormalisedHost[] {
  return e.kind === "host" ? [e.host] : e.kind === "group" ? e.members : [];
}
