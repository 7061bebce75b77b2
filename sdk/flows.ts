// The Attachment's `flows` input (issue 12): what the host allows, one line
// per (traffic, peer) in terms of groups, hosts and CIDRs, so that
// `pulumi preview --diff` shows the flows a change adds (+) and removes (-)
// on each host. Computed from the same slice of the declaration the host's
// ruleset is compiled from; groups of more than MEMBER_LIST_BOUND members
// are one line (see provider/evaluate/flowLines.ts), so the input stays
// proportional to the host's own ruleset.
import type { FleetDeclaration, HostRuleset } from "../provider/declaration/declaration";

export type HostRulesetWithFlows = HostRuleset & { flows: string };

export function withFlows(ruleset: HostRuleset, slice: FleetDeclaration, hostName: string): HostRulesetWithFlows {
  // The compiler has just validated this slice (an invalid one gets the
  // placeholder ruleset): normalise it without validating it a second time.
  if (ruleset.hash === "invalid") return { ...ruleset, flows: "(invalid declaration)" };
  // Loaded lazily, like the compiler.
  const { normalise } = require("../provider/declaration/normalise") as typeof import("../provider/declaration/normalise");
  const { parsePrefix } = require("../provider/declaration/cidr") as typeof import("../provider/declaration/cidr");
  const { indexFleet } = require("../provider/evaluate/fleetIndex") as typeof import("../provider/evaluate/fleetIndex");
  const { hostFlows } = require("../provider/evaluate/flows") as typeof import("../provider/evaluate/flows");
  const fleet = normalise(slice as unknown as Parameters<typeof normalise>[0], parsePrefix);
  return { ...ruleset, flows: hostFlows(indexFleet(fleet), hostName).join("\n") };
}
