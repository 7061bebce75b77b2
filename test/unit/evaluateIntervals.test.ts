// Properties of the evaluator's interval arithmetic (provider/addressing/intervals.ts)
// against plain sets of small numbers, and table-driven cases of lint's rule
// implication.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Interval, mergeIntervals } from "../../provider/addressing/cidr";
import { covers, intersect, subtract, union, unionMerged } from "../../provider/addressing/intervals";
import { ruleImplies } from "../../provider/evaluate/lint";
import { validateFleet } from "../../provider/declaration/validate";
import type { RuleDeclaration } from "../../provider/declaration/declaration";

const SPACE = 64;
const intervals = fc
  .array(fc.tuple(fc.integer({ min: 0, max: SPACE - 1 }), fc.integer({ min: 0, max: 8 })), { maxLength: 6 })
  .map((xs) => mergeIntervals(xs.map(([lo, len]) => ({ lo: BigInt(lo), hi: BigInt(Math.min(SPACE - 1, lo + len)) }))));
const members = (l: readonly Interval[]): number[] => {
  const out: number[] = [];
  for (let v = 0; v < SPACE; v++) if (l.some((iv) => iv.lo <= BigInt(v) && BigInt(v) <= iv.hi)) out.push(v);
  return out;
};
const canonical = (l: Interval[]) => expect(mergeIntervals(l)).toEqual(l);

describe("interval arithmetic", () => {
  it("intersect, subtract, unions and covers are the set operations, and stay merged", () => {
    fc.assert(
      fc.property(intervals, intervals, intervals, (a, b, c) => {
        const [A, B] = [new Set(members(a)), new Set(members(b))];
        expect(members(intersect(a, b))).toEqual([...A].filter((v) => B.has(v)));
        expect(members(subtract(a, b))).toEqual([...A].filter((v) => !B.has(v)));
        expect(members(unionMerged([a, b, c]))).toEqual(members(union([a, b, c])));
        expect(covers(a, b)).toBe([...B].every((v) => A.has(v)));
        for (const r of [intersect(a, b), subtract(a, b), unionMerged([a, b, c])]) canonical(r);
      }),
    );
  });
});

function rule(r: RuleDeclaration) {
  const v = validateFleet({ securityGroups: [{ name: "g", ingress: [r] }, { name: "h" }, { name: "k" }], hosts: [] });
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.fleet.groups[0]!.ingress[0]!;
}

describe("lint: does one rule imply another?", () => {
  it.each<[string, RuleDeclaration, RuleDeclaration, boolean]>([
    ["wider ports, wider CIDR", { protocol: "tcp", ports: [80, 443], cidrs: ["0.0.0.0/0"] }, { protocol: "tcp", ports: 443, cidrs: ["10.0.0.0/8"] }, true],
    ["all ports", { protocol: "tcp", cidrs: ["10.0.0.0/8"] }, { protocol: "tcp", ports: "1-100", cidrs: ["10.1.0.0/16"] }, true],
    ["a port range only partly covered", { protocol: "tcp", ports: "1-50", cidrs: ["10.0.0.0/8"] }, { protocol: "tcp", ports: "40-60", cidrs: ["10.0.0.0/8"] }, false],
    ["other protocol", { protocol: "udp", cidrs: ["0.0.0.0/0"] }, { protocol: "tcp", ports: 1, cidrs: ["10.0.0.0/8"] }, false],
    ["protocol all", { protocol: "all", cidrs: ["0.0.0.0/0"] }, { protocol: "icmp", icmpType: 8, cidrs: ["10.0.0.0/8"] }, true],
    ["more peer groups", { protocol: "tcp", ports: 1, securityGroups: ["h", "k"] }, { protocol: "tcp", ports: 1, securityGroups: ["h"] }, true],
    ["a peer group is not a CIDR", { protocol: "tcp", ports: 1, cidrs: ["0.0.0.0/0"] }, { protocol: "tcp", ports: 1, securityGroups: ["h"] }, false],
    ["other family", { protocol: "tcp", ports: 1, cidrs: ["0.0.0.0/0"] }, { protocol: "tcp", ports: 1, cidrs: ["::/0"] }, false],
    ["icmp type vs any type", { protocol: "icmp", icmpType: 8, cidrs: ["0.0.0.0/0"] }, { protocol: "icmp", cidrs: ["0.0.0.0/0"] }, false],
  ])("%s", (_what, a, b, implied) => {
    expect(ruleImplies(rule(a), rule(b))).toBe(implied);
  });
});
