// The Attachment's `flows` input (docs/evaluate.md): what the host allows, one line
// per (traffic, peer) in terms of groups, hosts and CIDRs, so that
// `pulumi preview --diff` shows the flows a change adds (+) and removes (-)
// on each host. Computed from the same declaration as the shared compile
// (sdk/sharedCompile.ts), once per batch of hosts; groups of more than
// MEMBER_LIST_BOUND members are one line (see provider/evaluate/flowLines.ts),
// so the input stays proportional to the host's own ruleset.
import type { NormalisedFleet } from "../provider/declaration/fleetModel";

/** Each of `hosts`' flow lines, joined, from the validated declaration the batch compiled. */
export function hostFlowTexts(fleet: NormalisedFleet, hosts: readonly string[]): Record<string, string> {
  // Loaded lazily, like the compiler.
  const { indexFleet } = require("../provider/evaluate/fleetIndex") as typeof import("../provider/evaluate/fleetIndex");
  const { hostFlows } = require("../provider/evaluate/flows") as typeof import("../provider/evaluate/flows");
  const index = indexFleet(fleet);
  return Object.fromEntries(hosts.map((h) => [h, hostFlows(index, h).join("\n")]));
}
