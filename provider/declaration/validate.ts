// Validation of a fleet declaration (awsx style: find every problem, report
// them all at once, each with the path of the offending field, what is wrong,
// and how to fix it — with the numbers).
//
// Two passes over the same input, both always run:
//   1. zod: structure — types, required fields, unknown fields (strict
//      objects: a misspelt `port:` must not silently mean "all ports"),
//      enums and integer ranges;
//   2. semantics, written defensively against `unknown` so it still runs
//      where zod found problems elsewhere: CIDRs, port specs, names,
//      duplicates, unknown group references, protocol/field combinations,
//      peer groups whose members have no usable address.
// Then, if nothing was found, the declaration is normalised (sorted,
// de-duplicated, parsed) for the compiler.

import { type PrefixParse, parsePrefix as parsePrefixText } from "../addressing/cidr";
import { isObj, semanticIssues } from "./fleetChecks";
import type { NormalisedFleet, ValidationIssue } from "./fleetModel";
import { type ParsedFleet, fleetSchema, zodIssues } from "./fleetSchema";
import { normalise } from "./normalise";
export { DEFAULT_SSH_PORT } from "../vocabulary/defaults";
export { PROTOCOLS } from "../vocabulary/protocols";

export type { NormalisedFleet, ValidationIssue } from "./fleetModel";
export { didYouMean } from "./didYouMean";

// ---------------------------------------------------------------------------
// Issue ordering

function naturalCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const ta = a.match(re) ?? [];
  const tb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return ta.length - tb.length;
}

export function sortIssues(issues: readonly ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  const unique = issues.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return unique
    .map((issue, n) => ({ issue, n }))
    .sort((x, y) => naturalCompare(x.issue.path, y.issue.path) || x.n - y.n)
    .map((x) => x.issue);
}

// ---------------------------------------------------------------------------
// Errors

export class FleetValidationError extends Error {
  readonly issues: ValidationIssue[];
  constructor(issues: readonly ValidationIssue[]) {
    const sorted = sortIssues(issues);
    const n = sorted.length;
    super(
      `invalid nftsg fleet declaration (${n} problem${n === 1 ? "" : "s"}):\n` +
        sorted.map((i) => `${i.path === "" ? "(declaration)" : i.path}: ${i.message}`).join("\n"),
    );
    this.name = "FleetValidationError";
    this.issues = sorted;
  }
}

// ---------------------------------------------------------------------------

export type ValidationResult = { ok: true; fleet: NormalisedFleet } | { ok: false; issues: ValidationIssue[] };

/** Validate and normalise a fleet declaration. Never throws. */
export function validateFleet(decl: unknown): ValidationResult {
  let issues: ValidationIssue[] = [];
  let parsed: ParsedFleet | undefined;
  // CIDRs are parsed in both the checking and the normalising pass; big
  // fleets repeat the same ones, so parse each distinct text once.
  const prefixCache = new Map<string, PrefixParse>();
  const parsePrefix = (text: string): PrefixParse => {
    let p = prefixCache.get(text);
    if (p === undefined) {
      p = parsePrefixText(text);
      prefixCache.set(text, p);
    }
    return p;
  };
  try {
    if (!isObj(decl)) return { ok: false, issues: semanticIssues(decl) };
    const r = fleetSchema.safeParse(decl);
    if (r.success) parsed = r.data;
    else issues = issues.concat(zodIssues(r.error));
    issues = issues.concat(semanticIssues(decl, parsePrefix));
    issues = sortIssues(issues);
    if (issues.length > 0 || !parsed) {
      return { ok: false, issues: issues.length ? issues : [{ path: "", message: "invalid declaration" }] };
    }
    return { ok: true, fleet: normalise(parsed, parsePrefix) };
  } catch (e) {
    // A bug here must not escape as an exception from a "never throws" API.
    return {
      ok: false,
      issues: [...issues, { path: "", message: `internal error while validating: ${e instanceof Error ? e.message : String(e)}` }],
    };
  }
}

