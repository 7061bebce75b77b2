// The Automation API follows every `up` with `pulumi stack output` (twice:
// masked and with secrets) and `pulumi stack history`, and every refresh and
// destroy with `stack history`: three more CLI runs per `up`, each paying
// the CLI's start-up (about 0.3 CPU-s of Go package initialisation here) and
// a read of the whole state. The same facts are in the operation's own
// engine events, which the API has read to the end before it asks: the
// summary event's resource changes, and the stack's outputs. So the stacks
// the tests make answer from the events, and ask the CLI as before whenever
// the events cannot answer (an output is secret, or no outputs event came).
import type { EngineEvent, OutputMap, Stack, UpdateKind, UpdateSummary } from "@pulumi/pulumi/automation";

const STACK_TYPE = "pulumi:pulumi:Stack";
/** How the engine's events print a secret value when secrets are not shown. */
const SECRET_MARK = "[secret]";

interface Operation {
  kind: UpdateKind;
  startTime: Date;
  resourceChanges?: Record<string, number>;
  outputs?: Record<string, unknown>;
}

/** What an operation's events say that `stack history` and `stack output` would be asked for. */
function record(op: Operation, e: EngineEvent): void {
  if (e.summaryEvent) op.resourceChanges = { ...e.summaryEvent.resourceChanges } as Record<string, number>;
  const m = e.resOutputsEvent?.metadata;
  if (m && m.type === STACK_TYPE && m.new?.outputs) op.outputs = m.new.outputs;
}

function hasSecret(value: unknown): boolean {
  if (value === SECRET_MARK) return true;
  if (Array.isArray(value)) return value.some(hasSecret);
  if (value && typeof value === "object") return Object.values(value).some(hasSecret);
  return false;
}

/** The summary `stack history` would give for the operation just finished (it succeeded, or the API would have thrown). */
function summaryOf(op: Operation & { resourceChanges: Record<string, number> }): UpdateSummary {
  const summary = {
    kind: op.kind,
    startTime: op.startTime,
    endTime: new Date(),
    message: "",
    environment: {},
    config: {},
    result: "succeeded",
    resourceChanges: op.resourceChanges,
  };
  // Not in the events: a test that reads it fails loudly rather than reading a made-up number.
  Object.defineProperty(summary, "version", {
    enumerable: false,
    get() { throw new Error("summary.version is not recorded here (test/support/eventAnswers.ts): call stack.history()"); },
  });
  return summary as UpdateSummary;
}

/** Makes `stack` answer up/refresh/destroy's own follow-up questions from the operation's events. */
export function answerFromEvents(stack: Stack): Stack {
  const realOutputs = stack.outputs.bind(stack);
  const realInfo = stack.info.bind(stack);
  let current: Operation | undefined;
  const wrap = <F extends (opts?: { onEvent?: (e: EngineEvent) => void }) => Promise<unknown>>(real: F, kind: UpdateKind): F =>
    (async (opts: Parameters<F>[0] = {}) => {
      const op: Operation = { kind, startTime: new Date() };
      current = op;
      try {
        return await real({ ...opts, onEvent: (e: EngineEvent) => { record(op, e); opts?.onEvent?.(e); } });
      } finally {
        if (current === op) current = undefined;
      }
    }) as F;
  stack.up = wrap(stack.up.bind(stack), "update");
  stack.refresh = wrap(stack.refresh.bind(stack), "refresh");
  stack.destroy = wrap(stack.destroy.bind(stack), "destroy");
  stack.info = async (showSecrets?: boolean) => {
    const op = current;
    if (op?.resourceChanges) return summaryOf({ ...op, resourceChanges: op.resourceChanges });
    return realInfo(showSecrets);
  };
  stack.outputs = async (): Promise<OutputMap> => {
    const outputs = current?.outputs;
    if (!outputs || hasSecret(outputs)) return realOutputs();
    return Object.fromEntries(Object.entries(outputs).map(([k, value]) => [k, { value, secret: false }]));
  };
  return stack;
}
