// What each `nftsg` command prints for a loaded declaration, and its exit
// status. Pure: the caller reads files and writes the output.
import { validateFleet } from "../provider/declaration/validate";
import type { NormalisedFleet } from "../provider/declaration/fleetModel";
import { EvaluationError, evaluate, formatEvaluation, formatLint, indexFleet, lintFleet, runPolicyTests, type Query } from "../provider/evaluate";

export interface Outcome {
  out: string;
  /** 0 done; 1 policy tests failed; 2 bad input (declaration or query). */
  code: number;
}

function validated(decl: unknown): NormalisedFleet | Outcome {
  const r = validateFleet(decl);
  if (r.ok) return r.fleet;
  return { out: `invalid fleet declaration:\n${r.issues.map((i) => `  ${i.path || "(declaration)"}: ${i.message}`).join("\n")}`, code: 2 };
}

export function explainCommand(decl: unknown, query: Query): Outcome {
  const fleet = validated(decl);
  if ("code" in fleet) return fleet;
  try {
    return { out: formatEvaluation(query, evaluate(fleet, query)), code: 0 };
  } catch (e) {
    if (e instanceof EvaluationError) return { out: `cannot evaluate: ${e.message}`, code: 2 };
    throw e;
  }
}

export function lintCommand(decl: unknown): Outcome {
  const fleet = validated(decl);
  if ("code" in fleet) return fleet;
  return { out: formatLint(lintFleet(fleet)), code: 0 };
}

export function testCommand(decl: unknown): Outcome {
  const fleet = validated(decl);
  if ("code" in fleet) return fleet;
  const outcomes = runPolicyTests(indexFleet(fleet));
  const failed = outcomes.filter((o) => !o.passed).length;
  const lines = [...outcomes.map((o) => o.message), `${outcomes.length - failed} passed, ${failed} failed`];
  return { out: lines.join("\n"), code: failed > 0 ? 1 : 0 };
}
