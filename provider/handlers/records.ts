// SecurityGroup and Rule: records in state, no host I/O. Their changes reach
// hosts through the Attachments whose compiled rulesets they change.
import { isDeepStrictEqual } from "node:util";

type Props = Record<string, unknown>;

function recordId(props: Props): string {
  const parts = [props.fleet, props.group, props.direction, props.key ?? props.name].filter((p) => p !== undefined);
  return parts.join("/");
}

export function recordHandlers() {
  return {
    async check(_olds: Props, news: Props) {
      return { inputs: news };
    },
    async diff(_id: string, olds: Props, news: Props) {
      const { __provider: _a, ...o } = olds;
      const { __provider: _b, ...n } = news;
      return { changes: !isDeepStrictEqual(o, n) };
    },
    async create(inputs: Props) {
      return { id: recordId(inputs), outs: inputs };
    },
    async read(id: string, props: Props) {
      return { id, props };
    },
    async update(_id: string, _olds: Props, news: Props) {
      return { outs: news };
    },
    async delete() {},
  };
}

/**
 * StackIdentity: one per stack, a random id made once, at create, and kept
 * for the life of the stack. Every Attachment records it on its host, so two
 * stacks that share organisation, project and stack names (every
 * self-managed backend reports the organisation "organization") are two
 * owners. No inputs change it; nothing on a host depends on its deletion.
 */
export function stackIdentityHandlers() {
  return {
    ...recordHandlers(),
    async diff() {
      return { changes: false };
    },
    async create(inputs: Props) {
      const { randomBytes } = require("node:crypto") as typeof import("node:crypto");
      const stackId = randomBytes(16).toString("hex");
      return { id: stackId, outs: { ...inputs, stackId } };
    },
  };
}
