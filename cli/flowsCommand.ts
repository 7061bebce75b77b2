// `nftsg flows`: the flow-level summary of a change, as Markdown for a pull
// request. From `pulumi preview --json` (its steps carry each FleetModel's
// old and new declaration) or from two declaration files.
import { validateFleet } from "../provider/declaration/validate";
import { EMPTY_FLEET, type FleetVersion, flowDiffMarkdown } from "../provider/evaluate/flowSummary";
import { parseDeclaration } from "../provider/handlers/model";
import { containsUnknown } from "../provider/handlers/unknown";
import type { Outcome } from "./commands";

class InvalidDeclaration extends Error {}

function version(decl: unknown, which: string): FleetVersion {
  if (containsUnknown(decl)) return "unknown";
  const parsed = typeof decl === "string" ? parseDeclaration(decl) : decl;
  const r = validateFleet(parsed);
  if (!r.ok) throw new InvalidDeclaration(`the ${which} declaration is invalid:\n${r.issues.map((i) => `  ${i.path || "(declaration)"}: ${i.message}`).join("\n")}`);
  return r.fleet;
}

function outcome(run: () => string): Outcome {
  try {
    return { out: run(), code: 0 };
  } catch (e) {
    if (e instanceof InvalidDeclaration) return { out: e.message, code: 2 };
    throw e;
  }
}

export function flowsFromDeclarations(before: unknown, after: unknown): Outcome {
  return outcome(() => flowDiffMarkdown("fleet", version(before, "old"), version(after, "new")));
}

interface PreviewStep {
  op?: string;
  urn?: string;
  oldState?: { type?: string; inputs?: Record<string, unknown> };
  newState?: { type?: string; inputs?: Record<string, unknown> };
}

export const NO_CHANGE = "### nftsg flow changes\n\nNo flow changes: no nftsg fleet declaration changes in this preview.\n";

const isModel = (s?: { type?: string }) => typeof s?.type === "string" && s.type.endsWith("nftsg:FleetModel");

/** The Markdown for every FleetModel in a `pulumi preview --json` document. */
export function flowsFromPreview(preview: unknown): Outcome {
  const steps = ((preview as { steps?: PreviewStep[] } | null)?.steps ?? []).filter((s) => isModel(s.oldState) || isModel(s.newState));
  // `preview --json` lists only steps that change something.
  if (steps.length === 0) return { out: NO_CHANGE, code: 0 };
  return outcome(() =>
    steps
      .map((s) => {
        const name = (s.urn ?? "fleet").split("::").pop()!;
        const before = s.oldState?.inputs ? version(s.oldState.inputs.declaration, "old") : EMPTY_FLEET;
        const after = s.op === "delete" || !s.newState?.inputs ? EMPTY_FLEET : version(s.newState.inputs.declaration, "new");
        return flowDiffMarkdown(name, before, after);
      })
      .join("\n"),
  );
}
