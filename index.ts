export { type Traffic } from "./provider/vocabulary/traffic";
// pulumi-nftsg: cloud-style security groups for any Linux fleet over SSH.
export { Fleet } from "./sdk/fleet";
export { AddressList, Attachment, FleetModel, RemoteGroup, Rule, SecurityGroup } from "./sdk/resources";
export type { FleetArgs, HostArgs, RuleArgs, SecurityGroupArgs, ConnectionArgs, ObserveArgs, AddressListArgs, RemoteGroupArgs } from "./sdk/inputs";
// Groups shared across stacks (docs/multistack.md): the published value's shape and version.
export { REMOTE_GROUPS_FORMAT, REMOTE_GROUPS_KEY } from "./provider/declaration/remoteGroups";
export type { PublishedGroups, PublishedMember } from "./provider/declaration/remoteGroups";
export type * from "./provider/declaration/declaration";
export { compileFleet } from "./provider/compiler/compile";
export { validateFleet, FleetValidationError } from "./provider/declaration/validate";
export { evaluate, EvaluationError, fleetIndexOf, formatEvaluation, lintFleet, runPolicyTests } from "./provider/evaluate";
export type { Evaluation, Query, Coverage, FlowResult, RuleRef, SideResult, LintWarning, PolicyTestOutcome } from "./provider/evaluate";
