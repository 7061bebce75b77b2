// Resource names for rules that do not depend on a rule's position in its
// list: inserting a rule at the top must not show changes to the others.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** JSON of the plain parts of a value; Outputs (not known at construction) become "?". */
function plainJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (pulumi.Output.isInstance(v) ? "?" : v));
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
}

/**
 * The identity of a rule inside its group and direction: its description when
 * it has one (so editing the rule's content is an update of the same
 * resource), else a hash of its content. Identical rules get -2, -3 …, which is
 * order-independent because they are indistinguishable.
 */
export function ruleKeys(rules: { description?: string }[]): string[] {
  const seen = new Map<string, number>();
  return rules.map((rule) => {
    const base = rule.description && slug(rule.description)
      ? slug(rule.description)
      : createHash("sha256").update(plainJson(rule)).digest("hex").slice(0, 10);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}-${n}`;
  });
}
