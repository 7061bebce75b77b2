// Which part of a fleet declaration one host's ruleset depends on. Each
// host's Output depends only on its own slice, which is what lets `pulumi
// preview` show an exact diff for every host whose inputs are known, while
// only the hosts that depend on a not-yet-known value (say the address of a
// VM created in the same program) show as unknown. Works on the plain
// structure (names and group lists); leaves may be anything, including
// pulumi.Input.

interface SliceRule { securityGroups?: string[] }
interface SliceGroup { name: string; ingress?: SliceRule[]; egress?: SliceRule[] }
interface SliceHost { name: string; securityGroups: string[] }
interface SliceFleet<G extends SliceGroup, H extends SliceHost> {
  securityGroups: G[];
  hosts: H[];
}

export interface HostSlice<G, H> {
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
}

/** The slice of every host, keyed by host name. Linear in the fleet plus one member list per distinct set of peer groups. */
export function fleetSlices<G extends SliceGroup, H extends SliceHost>(fleet: SliceFleet<G, H>): Map<string, HostSlice<G, H>> {
  const groupsByName = new Map(fleet.securityGroups.map((g) => [g.name, g]));
  const membersOf = new Map<string, H[]>();
  for (const h of fleet.hosts) {
    for (const s of new Set(h.securityGroups)) {
      const list = membersOf.get(s) ?? [];
      list.push(h);
      membersOf.set(s, list);
    }
  }
  const peerNamesOfGroup = new Map<string, string[]>();
  for (const g of fleet.securityGroups) {
    const names = new Set<string>();
    for (const r of [...(g.ingress ?? []), ...(g.egress ?? [])]) for (const s of r.securityGroups ?? []) names.add(s);
    peerNamesOfGroup.set(g.name, [...names]);
  }
  const memberLists = new Map<string, H[]>();
  const slices = new Map<string, HostSlice<G, H>>();
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
    slices.set(self.name, { ownGroups, peerGroups, self, peerMembers, peerKey });
  }
  return slices;
}
