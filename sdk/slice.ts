// Which part of a fleet declaration one host's ruleset depends on. Compiling
// each host from its own slice is what lets `pulumi preview` show an exact
// diff for every host whose inputs are known, while only the hosts that depend
// on a not-yet-known value (say the address of a VM created in the same
// program) show as unknown. Works on the plain structure (names and group
// lists); leaves may be anything, including pulumi.Input.

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
  /** Other hosts attached to a peer group: only their addresses matter. */
  peerMembers: H[];
}

export function hostSlice<G extends SliceGroup, H extends SliceHost>(
  fleet: SliceFleet<G, H>,
  hostName: string,
): HostSlice<G, H> {
  const self = fleet.hosts.find((h) => h.name === hostName);
  if (!self) throw new Error(`no host named ${hostName}`);
  const own = new Set(self.securityGroups);
  const ownGroups = fleet.securityGroups.filter((g) => own.has(g.name));
  const peerNames = new Set<string>();
  for (const g of ownGroups) {
    for (const r of [...(g.ingress ?? []), ...(g.egress ?? [])]) {
      for (const s of r.securityGroups ?? []) peerNames.add(s);
    }
  }
  const peerGroups = fleet.securityGroups.filter((g) => peerNames.has(g.name) && !own.has(g.name));
  const peerMembers = fleet.hosts.filter(
    (h) => h.name !== hostName && h.securityGroups.some((s) => peerNames.has(s)),
  );
  return { ownGroups, peerGroups, self, peerMembers };
}
