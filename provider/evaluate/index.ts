export { QUERY_PROTOCOLS, type Traffic } from "../vocabulary/traffic";
// The evaluator: what a fleet declaration allows, before any host is touched.
export { evaluate, fleetIndexOf, EvaluationError, type Evaluation, type Query, type Fleetish } from "./evaluate";
export { evaluateFlow, type Coverage, type FlowEnd, type FlowResult, type RuleRef, type SideResult } from "./flow";
export { indexFleet, type FleetIndex } from "./fleetIndex";
export { formatEvaluation, queryText } from "./format";
export { runPolicyTests, policyTestIssues, type PolicyTestOutcome } from "./policyTests";
export { lintFleet, formatLint, type LintWarning } from "./lint";
