// Which part of a fleet declaration one host's ruleset depends on. Each
// host's Output depends only on its own slice, which is what lets `pulumi
// preview` show an exact diff for every host whose inputs are known, while
// only the hosts that depend on a not-yet-known value (say the address of a
// VM created in the same program) show as unknown. Works on the plain
// structure (names and group lists); leaves may be anything, including
// pulumi.Input.

interface SliceRule { securityGroups?: string[]; addressLists?: string[] }
interface SliceGroup { name: string; ingress?: SliceRule[]; egress?: SliceRule[] }
interface SliceHost { name: string; securityGroups: string[] }
interface Named { name: string }
interface SliceFleet<G extends SliceGroup, H extends SliceHost, R extends Named, L extends Named> {
  securityGroups: G[];
  hosts: H[];
  /** Groups published by other stacks (docs/multistack.md): peers without local members. */
  remoteGroups?: R[];
  addressLists?: L[];
}

export interface HostSlice<G, H, R = Named, L = Named> {
  /** The host's own groups, with their rules. */
  ownGroups: G[];
  /** Groups named as peers by those rules (their rules do not matter). */
  peerGroups: G[];
  /** The host itself. */
  self: H;
  /**
   * Hosts attached to a peer group (the host itself included when it is one):
   * only their addresses matter. Hosts whose rules name the same peer groups
   * share one array, so an all-to-all group costs one list, not one per member.
   */
  peerMembers: H[];
  /** Identifies `peerMembers`: the sorted peer group names. */
  peerKey: string;
  /** Remote groups its rules name as peers (their published members matter). */
  remoteGroups: R[];
  /** Address lists its rules name (their CIDRs matter). */
  addressLists: L[];
  /** Identifies `remoteGroups` and `addressLists`: hosts with the same key share the arrays. */
  namedKey: string;
}

/** The slice of every host, keyed by host name. Linear in the fleet plus one member list per distinct set of peer groups. */
export function fleetSlices<G extends SliceGroup, H extends SliceHost, R extends Named = Named, L extends Named = Named>(
  fleet: SliceFleet<G, H, R, L>,
): Map<string, HostSlice<G, H, R, L>> {
  const groupsByName = new Map(fleet.securityGroups.map((g) => [g.name, g]));
  const remoteByName = new Map((fleet.remoteGroups ?? []).map((r) => [r.name, r]));
  const listByName = new Map((fleet.addressLists ?? []).map((l) => [l.name, l]));
  const membersOf = new Map<string, H[]>();
  for (const h of fleet.hosts) {
    for (const s of new Set(h.securityGroups)) {
      const list = membersOf.get(s) ?? [];
      list.push(h);
      membersOf.set(s, list);
    }
  }
  const peerNamesOfGroup = new Map<string, string[]>();
  const listNamesOfGroup = new Map<string, string[]>();
  for (const g of fleet.securityGroups) {
    const names = new Set<string>();
    const lists = new Set<string>();
    for (const r of [...(g.ingress ?? []), ...(g.egress ?? [])]) {
      for (const s of r.securityGroups ?? []) names.add(s);
      for (const l of r.addressLists ?? []) lists.add(l);
    }
    peerNamesOfGroup.set(g.name, [...names]);
    listNamesOfGroup.set(g.name, [...lists]);
  }
  const memberLists = new Map<string, H[]>();
  const named = new Map<string, { remoteGroups: R[]; addressLists: L[] }>();
  const slices = new Map<string, HostSlice<G, H, R, L>>();
  for (const self of fleet.hosts) {
    const own = new Set(self.securityGroups);
    const ownGroups = fleet.securityGroups.filter((g) => own.has(g.name));
    const peerNames = [...new Set(ownGroups.flatMap((g) => peerNamesOfGroup.get(g.name)!))].sort();
    const peerKey = peerNames.join(",");
    let peerMembers = memberLists.get(peerKey);
    if (!peerMembers) {
      const seen = new Set<H>();
      for (const s of peerNames) for (const h of membersOf.get(s) ?? []) seen.add(h);
      // Declaration order, as the hosts were given.
      peerMembers = fleet.hosts.filter((h) => seen.has(h));
      memberLists.set(peerKey, peerMembers);
    }
    const peerGroups = peerNames.filter((n) => !own.has(n)).map((n) => groupsByName.get(n)).filter((g): g is G => g !== undefined);
    // Unknown names are left out here; validation names them.
    const remoteNames = peerNames.filter((n) => remoteByName.has(n));
    const listNames = [...new Set(ownGroups.flatMap((g) => listNamesOfGroup.get(g.name)!))].filter((n) => listByName.has(n)).sort();
    const namedKey = `${remoteNames.join(",")}|${listNames.join(",")}`;
    let shared = named.get(namedKey);
    if (!shared) {
      shared = { remoteGroups: remoteNames.map((n) => remoteByName.get(n)!), addressLists: listNames.map((n) => listByName.get(n)!) };
      named.set(namedKey, shared);
    }
    slices.set(self.name, { ownGroups, peerGroups, self, peerMembers, peerKey, ...shared, namedKey });
  }
  return slices;
}
