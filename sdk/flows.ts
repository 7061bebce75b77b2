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
  // Loaded lazily, like the compiler.
  const { validateFleet } = require("../provider/declaration/validate") as typeof import("../provider/declaration/validate");
  const { indexFleet } = require("../provider/evaluate/fleetIndex") as typeof import("../provider/evaluate/fleetIndex");
  const { hostFlows } = require("../provider/evaluate/flows") as typeof import("../provider/evaluate/flows");
  const r = validateFleet(slice);
  return { ...ruleset, flows: r.ok ? hostFlows(indexFleet(r.fleet), hostName).join("\n") : "(invalid declaration)" };
}
