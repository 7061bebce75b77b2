// One rule in words, as reviewers read it: "tcp/5432 from sg web",
// "tcp/80,443 from 0.0.0.0/0, ::/0", "icmp type 8 to sg db".
import type { NormalisedRule } from "../declaration/fleetModel";
import { formatPortRange } from "../addressing/ports";

export function trafficText(rule: Pick<NormalisedRule, "protocol" | "ports" | "icmpType" | "icmpCode">): string {
  if (rule.ports) return `${rule.protocol}/${rule.ports.map(formatPortRange).join(",")}`;
  if (rule.icmpType !== undefined) return `${rule.protocol} type ${rule.icmpType}${rule.icmpCode === undefined ? "" : ` code ${rule.icmpCode}`}`;
  return rule.protocol;
}

export function peersText(rule: Pick<NormalisedRule, "cidrElements" | "groups" | "lists">): string {
  return [...rule.cidrElements, ...rule.groups.map((g) => `sg ${g}`), ...(rule.lists ?? []).map((l) => `list ${l}`)].join(", ");
}

const texts = new WeakMap<NormalisedRule, string>();

export function ruleText(rule: NormalisedRule): string {
  let t = texts.get(rule);
  if (t === undefined) texts.set(rule, (t = `${trafficText(rule)} ${rule.direction === "ingress" ? "from" : "to"} ${peersText(rule)}`));
  return t;
}
