// The fleet a staged change (observe.proposal) describes: the proposal's
// groups and memberships, everything else the fleet's. The compiler evaluates
// it beside the enforced rules (docs/observe.md), the evaluator answers for it,
// and the report compares the two.
import type { NormalisedFleet } from "./fleetModel";

/** The proposed fleet (without observe settings: what enforcing the proposal would be), or undefined without a proposal. */
export function proposedFleet(fleet: NormalisedFleet): NormalisedFleet | undefined {
  const proposal = fleet.proposal;
  if (!proposal) return undefined;
  const { proposal: _p, tests: _t, ...rest } = fleet;
  return {
    ...rest,
    groups: proposal.groups,
    hosts: fleet.hosts.map(({ observe: _o, ...h }) => ({ ...h, groups: proposal.hostGroups[h.name] ?? h.groups })),
  };
}

/** The fleet without any observe settings: its plain policy. */
export function withoutObserve(fleet: NormalisedFleet): NormalisedFleet {
  const { proposal: _p, ...rest } = fleet;
  return { ...rest, hosts: fleet.hosts.map(({ observe: _o, ...h }) => h) };
}
