// The fleet model: its check validates the whole declaration before any host
// is contacted, returning every problem with the path of its field.
import { containsUnknown } from "./unknown";
import { recordHandlers } from "./records";

type Props = Record<string, unknown>;

export function modelHandlers() {
  const base = recordHandlers();
  return {
    ...base,
    async check(_olds: Props, news: Props) {
      // Values not known yet (preview) are checked again when they are.
      if (containsUnknown(news.declaration)) return { inputs: news };
      const { validateFleet } = require("../validate") as typeof import("../validate");
      const result = validateFleet(news.declaration);
      if (result.ok) return { inputs: news };
      return {
        inputs: news,
        failures: result.issues.map((i: { path: string; message: string }) => ({ property: i.path || "declaration", reason: i.message })),
      };
    },
    async create(inputs: Props) {
      return { id: String(inputs.fleet), outs: inputs };
    },
  };
}
