// The fleet model: its check reports every problem of the whole declaration
// with the path of its field, before any host is contacted. The program
// computes the verdict (verdict.ts) and hands it to the model and to every
// Attachment; state written before verdicts existed is validated here.
import { containsUnknown, UNKNOWN } from "./unknown";
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

export function modelHandlers() {
  const base = recordHandlers();
  return {
    ...base,
    async check(_olds: Props, news: Props) {
      const { fleetProblems, verdictProblems } = require("./verdict") as typeof import("./verdict");
      if (news.verdict !== undefined) {
        // Not known yet (preview): checked again when it is, at `up`.
        if (news.verdict === UNKNOWN) return { inputs: news };
        const failures = verdictProblems(news.verdict);
        return failures.length ? { inputs: news, failures } : { inputs: news };
      }
      if (containsUnknown(news.declaration)) return { inputs: news };
      // The SDK sends the declaration as line-per-item JSON (readable diffs).
      const declaration = typeof news.declaration === "string" ? parseDeclaration(news.declaration) : news.declaration;
      const issues = fleetProblems(declaration);
      if (issues.length === 0) return { inputs: news };
      return { inputs: news, failures: issues.map((i) => ({ property: i.path || "declaration", reason: i.message })) };
    },
    async create(inputs: Props) {
      return { id: String(inputs.fleet), outs: inputs };
    },
  };
}
