// Running a fleet's policy tests (FleetDeclaration.tests) on its normalised
// model: each test is one evaluation, compared with what it expects. The
// FleetModel's check turns failures into preview errors at `tests[i]`.
import type { NormalisedFleet, NormalisedPolicyTest, ValidationIssue } from "../declaration/fleetModel";
import { type Evaluation, EvaluationError, evaluate } from "./evaluate";
import { type FleetIndex, indexFleet } from "./fleetIndex";
import type { Coverage } from "./flow";
import { flowText, queryText } from "./format";

export interface PolicyTestOutcome {
  test: NormalisedPolicyTest;
  passed: boolean;
  /** Absent when the test could not be evaluated (see message). */
  evaluation?: Evaluation;
  /** One line, then the flows that decide the outcome (those that break the expectation when it fails). */
  message: string;
}

/** Flows shown in a failure message; the rest are counted. */
const MAX_FLOWS_SHOWN = 4;

export const testName = (t: NormalisedPolicyTest): string => `tests[${t.index}]${t.description ? ` "${t.description}"` : ""}`;

function runOne(index: FleetIndex, test: NormalisedPolicyTest): PolicyTestOutcome {
  const q = { ...test };
  let evaluation: Evaluation;
  try {
    // Only the flows that contradict the expectation are explained (a few).
    const contrary = (c: Coverage) => (test.expect === "allow" ? c !== "allow" : c !== "deny");
    evaluation = evaluate(index, q, { explain: contrary, maxFlows: MAX_FLOWS_SHOWN });
  } catch (e) {
    if (!(e instanceof EvaluationError)) throw e;
    return { test, passed: false, message: `policy test ${testName(test)} cannot be evaluated: ${e.message}` };
  }
  const passed = evaluation.verdict === test.expect;
  const head = `policy test ${testName(test)} ${passed ? "passed" : "failed"}: ${queryText(q)}: expected ${test.expect}, evaluated ${evaluation.verdict}`;
  // On failure, show the flows that contradict the expectation, with their rules.
  const c = evaluation.counts;
  const contraryCount = test.expect === "allow" ? c.deny + c.partial : c.allow + c.partial;
  const shown = passed ? [] : evaluation.flows;
  const lines = [
    head,
    ...evaluation.notes.map((n) => `  note: ${n}`),
    ...shown.flatMap((f) => flowText(f).map((l) => `  ${l}`)),
    ...(contraryCount > shown.length && !passed ? [`  ... and ${contraryCount - shown.length} more flows`] : []),
  ];
  return { test, passed, evaluation, message: lines.join("\n") };
}

export function runPolicyTests(fleet: NormalisedFleet | FleetIndex): PolicyTestOutcome[] {
  const index = "rulesOf" in fleet ? fleet : indexFleet(fleet);
  return (index.fleet.tests ?? []).map((t) => runOne(index, t));
}

/** Failing tests as validation issues, each at its `tests[i]` path. */
export function policyTestIssues(fleet: NormalisedFleet | FleetIndex): ValidationIssue[] {
  return runPolicyTests(fleet)
    .filter((o) => !o.passed)
    .map((o) => ({ path: `tests[${o.test.index}]`, message: o.message }));
}
