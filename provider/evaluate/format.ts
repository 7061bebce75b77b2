// An evaluation in words, for the CLI and for policy-test messages.
import type { Evaluation, Query } from "./evaluate";
import type { FlowResult, RuleRef, SideResult } from "./flow";

export function queryText(q: Query): string {
  const traffic =
    q.port !== undefined
      ? `${q.protocol}/${q.port}`
      : q.icmpType !== undefined
        ? `${q.protocol} type ${q.icmpType}${q.icmpCode === undefined ? "" : ` code ${q.icmpCode}`}`
        : q.protocol;
  return `${traffic} from ${q.from} to ${q.to}${q.family ? ` (IPv${q.family})` : ""}`;
}

export function ruleRefText(r: RuleRef): string {
  return `${r.group}${r.description ? ` "${r.description}"` : ""} (${r.text})`;
}

export function sideText(s: SideResult): string {
  const who = `${s.direction} ${s.host}`;
  const part = s.accepted ? ` (accepts only ${s.accepted.join(", ")}${s.accepted.length >= 4 ? ", ..." : ""})` : "";
  switch (s.reason) {
    case "no-table":
      return `${who}: open (attached to no group, so nftsg filters nothing)`;
    case "loopback":
      return `${who}: loopback`;
    case "egress-open":
      return `${who}: open (none of its groups has an egress rule)`;
    case "failsafe":
      return `${who}: ${s.coverage === "allow" ? "" : `${s.coverage}, `}failsafe ssh${part}`;
    case "essential-icmpv6":
      return `${who}: essential icmpv6 (always accepted)`;
    case "no-rule":
      return `${who}: dropped (no ${s.direction} rule of its groups matches${s.direction === "egress" ? "; its egress is restricted" : ""})`;
    case "rules":
      return `${who}: ${s.coverage === "partial" ? "partly, " : ""}${s.rules.map(ruleRefText).join("; ")}${s.failsafe ? "; failsafe ssh" : ""}${part}`;
  }
}

export function flowText(f: FlowResult): string[] {
  return [`${f.from} -> ${f.to}: ${f.coverage}`, ...[f.egress, f.ingress].filter((s): s is SideResult => s !== undefined).map((s) => `  ${sideText(s)}`)];
}

/** The verdict, then each flow with the rules on each side. */
export function formatEvaluation(q: Query, e: Evaluation, maxFlows = Infinity): string {
  const lines = [`${e.verdict}: ${queryText(q)}`];
  for (const n of e.notes) lines.push(`  note: ${n}`);
  for (const f of e.flows.slice(0, maxFlows)) lines.push(...flowText(f).map((l) => `  ${l}`));
  if (e.flows.length > maxFlows) lines.push(`  ... and ${e.flows.length - maxFlows} more flows`);
  return lines.join("\n");
}
