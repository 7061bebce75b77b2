// Compile benchmark (issue 3): a seeded random fleet at the reference size —
// 1,000 hosts / 200 groups / 5,000 rules / 20,000 CIDRs — and at half and
// double that. Prints the median wall time of compileFleet (validation +
// compilation) over several runs, the CPU time, and the growth ratios.
//
//   npm run bench:compile            (RUNS=7 npm run bench:compile for more runs)

import { availableParallelism, loadavg } from "node:os";
import { compileFleet } from "../provider/compiler/compile";
import { validateFleet } from "../provider/declaration/validate";
import { benchFleet } from "../test/support/fleetGen";

const RUNS = Number(process.env.RUNS ?? 5);
const SEED = Number(process.env.SEED ?? 1);

interface Result {
  factor: number;
  hosts: number;
  groups: number;
  rules: number;
  cidrs: number;
  medianMs: number;
  minMs: number;
  cpuMs: number;
  validateMs: number;
  scriptMB: number;
  lines: number;
  maxRulesPerChain: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

function measure(factor: number): Result {
  const decl = benchFleet(factor, SEED);
  const rules = decl.securityGroups.reduce((n, g) => n + (g.ingress?.length ?? 0) + (g.egress?.length ?? 0), 0);
  const cidrs = decl.securityGroups.reduce(
    (n, g) => n + [...(g.ingress ?? []), ...(g.egress ?? [])].reduce((m, r) => m + (r.cidrs?.length ?? 0), 0),
    0,
  );
  compileFleet(decl); // warm-up (JIT)
  const wall: number[] = [];
  const cpu: number[] = [];
  const validate: number[] = [];
  let last: ReturnType<typeof compileFleet> = {};
  for (let i = 0; i < RUNS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    last = compileFleet(decl);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    const t1 = performance.now();
    validateFleet(decl);
    validate.push(performance.now() - t1);
  }
  let bytes = 0;
  let lines = 0;
  let maxRules = 0;
  for (const r of Object.values(last)) {
    bytes += r.script.length;
    lines += r.lines.length;
    for (const chain of r.script.split(/\tchain \w+ \{\n/).slice(1)) {
      maxRules = Math.max(maxRules, chain.split("\n\t}")[0]!.split("\n").length - 1);
    }
  }
  return {
    factor,
    hosts: decl.hosts.length,
    groups: decl.securityGroups.length,
    rules,
    cidrs,
    medianMs: median(wall),
    minMs: Math.min(...wall),
    cpuMs: median(cpu),
    validateMs: median(validate),
    scriptMB: bytes / 1e6,
    lines,
    maxRulesPerChain: maxRules,
  };
}

function main(): void {
  console.log(`nftsg compile benchmark — node ${process.version}, seed ${SEED}, median of ${RUNS} runs after a warm-up`);
  const results = [0.5, 1, 2].map(measure);
  const header = ["size", "hosts", "groups", "rules", "cidrs", "median ms", "min ms", "cpu ms", "validate alone", "scripts MB", "lines", "max rules/chain"];
  const rows = results.map((r) => [
    `x${r.factor}`,
    r.hosts,
    r.groups,
    r.rules,
    r.cidrs,
    r.medianMs.toFixed(0),
    r.minMs.toFixed(0),
    r.cpuMs.toFixed(0),
    r.validateMs.toFixed(0),
    r.scriptMB.toFixed(1),
    r.lines,
    r.maxRulesPerChain,
  ].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  console.log(fmt(header));
  for (const row of rows) console.log(fmt(row));
  const [half, mid, dbl] = results as [Result, Result, Result];
  const growth = (pick: (r: Result) => number) =>
    `x0.5 -> x1: ${(pick(mid) / pick(half)).toFixed(2)}x, x1 -> x2: ${(pick(dbl) / pick(mid)).toFixed(2)}x`;
  console.log(`growth (median): ${growth((r) => r.medianMs)}  (linear = 2.00x)`);
  console.log(`growth (min):    ${growth((r) => r.minMs)}  (the least disturbed runs, on a shared machine)`);
  const [load1] = loadavg();
  console.log(`load average during the run: ${load1!.toFixed(2)} on ${availableParallelism()} CPUs`);
  console.log(`reference size (x1): ${mid.medianMs.toFixed(0)} ms median wall, target well under 1000 ms`);
}

main();
