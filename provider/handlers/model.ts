// The fleet model: its check validates the whole declaration before any host
// is contacted, returning every problem with the path of its field.
import { containsUnknown } from "./unknown";
import { recordHandlers } from "./records";

type Props = Record<string, unknown>;

export function parseDeclaration(text: string): unknown {
  try {
    // The SDK puts a comment line first (see sdk/fleet.ts formatDeclaration).
    const d = JSON.parse(text.replace(/^@.*\n/, "")) as Record<string, unknown>;
    // null stands for "not given" in the SDK's format.
    for (const k of Object.keys(d)) if (d[k] === null) delete d[k];
    return d;
  } catch {
    return text; // validation reports it as malformed
  }
}

function policyIssues(fleet: import("../declaration/fleetModel").NormalisedFleet) {
  if (!fleet.tests) return [];
  const { policyTestIssues } = require("../evaluate/policyTests") as typeof import("../evaluate/policyTests");
  return policyTestIssues(fleet);
}

export function modelHandlers() {
  const base = recordHandlers();
  return {
    ...base,
    async check(_olds: Props, news: Props) {
      // Values not known yet (preview) are checked again when they are.
      if (containsUnknown(news.declaration)) return { inputs: news };
      const { validateFleet } = require("../declaration/validate") as typeof import("../declaration/validate");
      // The SDK sends the declaration as line-per-item JSON (readable diffs).
      const declaration = typeof news.declaration === "string" ? parseDeclaration(news.declaration) : news.declaration;
      const result = validateFleet(declaration);
      // A valid fleet must also pass its policy tests (`tests`). At preview
      // with unknown values the tests wait for `up`, where this check runs
      // again before any Attachment (which all depend on the model) is touched.
      const issues = result.ok ? policyIssues(result.fleet) : result.issues;
      if (issues.length === 0) return { inputs: news };
      return {
        inputs: news,
        failures: issues.map((i: { path: string; message: string }) => ({ property: i.path || "declaration", reason: i.message })),
      };
    },
    async create(inputs: Props) {
      return { id: String(inputs.fleet), outs: inputs };
    },
  };
}
