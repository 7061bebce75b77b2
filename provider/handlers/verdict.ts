// The verdict on a whole fleet declaration: valid (and every policy test
// passing), or the problems, each with the path of its field. Computed once in
// the program (sdk/fleet.ts) and carried by the FleetModel and by every
// Attachment, whose own `check` refuses an invalid one: `pulumi up --target`
// of a single Attachment skips the FleetModel's check, never the target's.
import type { ValidationIssue } from "../declaration/fleetModel";
import { OWNER_PATTERN } from "../vocabulary/names";

/** The verdict of a declaration that validated and passed its policy tests. */
export const VALID = "valid";

/**
 * The problems of a declaration (validation, then what the evaluator finds:
 * policy tests, management paths through jump hosts of the fleet), and of
 * the owners it would record on its hosts.
 */
export function fleetProblems(declaration: unknown, owners: Readonly<Record<string, string>> = {}): ValidationIssue[] {
  const { validateFleet } = require("../declaration/validate") as typeof import("../declaration/validate");
  const result = validateFleet(declaration);
  const issues: ValidationIssue[] = result.ok ? evaluatedIssues(declaration, result.fleet) : [...result.issues];
  return [...issues, ...ownerIssues(declaration, owners)];
}

function evaluatedIssues(declaration: unknown, fleet: import("../declaration/fleetModel").NormalisedFleet): ValidationIssue[] {
  const { jumpPathIssues } = require("../evaluate/jumpPaths") as typeof import("../evaluate/jumpPaths");
  const { indexFleet } = require("../evaluate/fleetIndex") as typeof import("../evaluate/fleetIndex");
  const index = indexFleet(fleet); // one index for both
  const out = jumpPathIssues(declaration, index);
  if (fleet.tests) {
    const { policyTestIssues } = require("../evaluate/policyTests") as typeof import("../evaluate/policyTests");
    out.push(...policyTestIssues(index));
  }
  return out;
}

/**
 * The owner nftsg records on each host ("<stack>/host=<name>") must fit the
 * table comment and the host's owner file: a long project, stack and host
 * name together can exceed it. Reported on the host's name, with the fix.
 */
function ownerIssues(declaration: unknown, owners: Readonly<Record<string, string>>): ValidationIssue[] {
  const hosts = (declaration as { hosts?: unknown })?.hosts;
  if (!Array.isArray(hosts)) return [];
  const out: ValidationIssue[] = [];
  hosts.forEach((h, i) => {
    const name = (h as { name?: unknown })?.name;
    const owner = typeof name === "string" ? owners[name] : undefined;
    if (owner === undefined || OWNER_PATTERN.test(owner)) return;
    out.push({
      path: `hosts[${i}].name`,
      message:
        `the owner nftsg records on this host, ${JSON.stringify(owner)} (${owner.length} characters), is not a valid owner: ` +
        "at most 128 characters of letters, digits and . _ / @ : = + -; shorten the host name (or the project or stack name)",
    });
  });
  return out;
}

/** The verdict text: VALID, or "invalid" and the problems as JSON lines ({path, message}). */
export function verdictText(problems: readonly ValidationIssue[]): string {
  if (problems.length === 0) return VALID;
  const { sortIssues } = require("../declaration/validate") as typeof import("../declaration/validate");
  return ["invalid", ...sortIssues(problems).map((p) => JSON.stringify({ path: p.path, message: p.message }))].join("\n");
}

/** The verdict with one more problem. */
export function withProblem(verdict: string, problem: ValidationIssue): string {
  const line = JSON.stringify({ path: problem.path, message: problem.message });
  return verdict === VALID ? ["invalid", line].join("\n") : `${verdict}\n${line}`;
}

/** The problems a verdict names, as check failures (none for VALID; a text that is not a verdict is one). */
export function verdictProblems(verdict: unknown): { property: string; reason: string }[] {
  if (verdict === VALID) return [];
  const lines = typeof verdict === "string" ? verdict.split("\n") : [];
  if (lines[0] !== "invalid") return [{ property: "verdict", reason: `not a verdict nftsg wrote: ${JSON.stringify(verdict)}` }];
  return lines.slice(1).map((line) => {
    try {
      const p = JSON.parse(line) as { path?: string; message?: string };
      return { property: p.path || "declaration", reason: String(p.message) };
    } catch {
      return { property: "declaration", reason: line };
    }
  });
}
