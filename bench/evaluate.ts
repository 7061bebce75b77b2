// Evaluator benchmark (issue 12): the policy tests of a 1,000-host fleet —
// the scale benchmark's shape (issue 8): tiers bastion/web/app/db (db allows
// from app, app from web, every host SSH from the bastion) plus one
// all-to-all "mesh" group, dual-stack, spaced addresses — evaluated at
// preview. Target: all tests of the fleet in <= 1 s. Also the flow listing of
// every host (the Attachments' flows inputs) and the flow diff of adding a
// member to the mesh (the Markdown summary).
//
//   npm run bench:evaluate            (HOSTS=200 for a smaller fleet; RUNS=5)
import type { FleetDeclaration, PolicyTestDeclaration } from "../provider/declaration/declaration";
import { validateFleet } from "../provider/declaration/validate";
import { type PolicyTestOutcome, indexFleet, runPolicyTests } from "../provider/evaluate";
import { fleetFlowDiff, hostFlows } from "../provider/evaluate/flows";

const HOSTS = Number(process.env.HOSTS ?? 1000);
const RUNS = Number(process.env.RUNS ?? 5);

/** Tiers + mesh; host i at 198.18.(i*3 / 250).(i*3 % 250 + 1) style spacing, never adjacent. */
export function tieredFleet(n: number, extraMeshMember = false): FleetDeclaration {
  const tier = (i: number) => (i === 0 ? "bastion" : ["web", "app", "db"][i % 3]!);
  const v4 = (i: number) => `198.18.${Math.floor((i * 2) / 250)}.${((i * 2) % 250) + 2}`;
  const v6 = (i: number) => `2001:db8::${(i * 2 + 2).toString(16)}`;
  const hosts = Array.from({ length: n + (extraMeshMember ? 1 : 0) }, (_, i) => ({
    name: `${tier(i)}-${i}`,
    connection: { host: v4(i), user: "root" },
    addresses: [v4(i), v6(i)],
    securityGroups: i === n ? ["mesh"] : [tier(i), ...(i === 0 ? [] : ["managed", "mesh"])],
  }));
  const tests: PolicyTestDeclaration[] = [
    { from: "sg:web", to: "sg:app", protocol: "tcp", port: 8080, expect: "allow", description: "web reaches app" },
    { from: "sg:app", to: "sg:db", protocol: "tcp", port: 5432, expect: "allow", description: "app reaches db" },
    { from: "sg:web", to: "sg:db", protocol: "tcp", port: 5432, expect: "deny", description: "web does not reach db" },
    { from: "0.0.0.0/0", to: "sg:db", protocol: "tcp", port: 5432, expect: "deny", description: "db not public" },
    { from: "::/0", to: "sg:app", protocol: "tcp", port: 8080, expect: "deny", description: "app not public (v6)" },
    { from: "0.0.0.0/0", to: "sg:web", protocol: "tcp", port: 443, expect: "allow", description: "web is public" },
    { from: "sg:bastion", to: "sg:managed", protocol: "tcp", port: 22, expect: "allow", description: "bastion ssh everywhere" },
    { from: "sg:mesh", to: "sg:mesh", protocol: "tcp", port: 7946, expect: "allow", description: "gossip all-to-all" },
    { from: "sg:mesh", to: "sg:mesh", protocol: "udp", port: 7946, expect: "allow", description: "gossip all-to-all (udp)" },
    { from: "0.0.0.0/0", to: "sg:mesh", protocol: "tcp", port: 7946, expect: "deny", description: "gossip not public" },
  ];
  const ssh = { protocol: "tcp" as const, ports: 22, securityGroups: ["bastion"], description: "ssh from bastion" };
  return {
    failsafe: { cidrs: ["198.51.100.0/24"] },
    securityGroups: [
      { name: "bastion", ingress: [{ protocol: "tcp", ports: 22, cidrs: ["198.51.100.0/24"], description: "ssh from office" }] },
      { name: "managed", ingress: [ssh] },
      { name: "web", ingress: [{ protocol: "tcp", ports: [80, 443], cidrs: ["0.0.0.0/0", "::/0"], description: "http(s)" }] },
      { name: "app", ingress: [{ protocol: "tcp", ports: 8080, securityGroups: ["web"], description: "app from web" }] },
      { name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["app"], description: "db from app" }] },
      {
        name: "mesh",
        ingress: [
          { protocol: "tcp", ports: [7946, 8300, "8301-8302"], securityGroups: ["mesh"], description: "gossip tcp" },
          { protocol: "udp", ports: [7946, "8301-8302"], securityGroups: ["mesh"], description: "gossip udp" },
        ],
      },
    ],
    hosts,
    tests,
  };
}

const total = (o: PolicyTestOutcome) => (o.evaluation ? o.evaluation.counts.allow + o.evaluation.counts.deny + o.evaluation.counts.partial : 0);
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main(): void {
  const decl = tieredFleet(HOSTS);
  const r = validateFleet(decl);
  if (!r.ok) throw new Error(JSON.stringify(r.issues.slice(0, 5)));
  const fleet = r.fleet;
  const times: number[] = [];
  let flows = 0;
  let failed = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const outcomes = runPolicyTests(indexFleet(fleet));
    times.push(ms(t0));
    flows = outcomes.reduce((n, o) => n + total(o), 0);
    failed = outcomes.filter((o) => !o.passed).length;
  }
  console.log(`fleet: ${HOSTS} hosts (tiers bastion/web/app/db + all-to-all mesh, dual stack), ${fleet.tests!.length} policy tests, ${flows} flows`);
  console.log(`policy tests (index + evaluation): median ${median(times).toFixed(0)} ms, min ${Math.min(...times).toFixed(0)} ms over ${RUNS} runs; ${failed} failed (target: <= 1000 ms)`);
  for (const o of runPolicyTests(indexFleet(fleet))) {
    const t0 = process.hrtime.bigint();
    runPolicyTests({ ...indexFleet({ ...fleet, tests: [o.test] }) });
    console.log(`  ${ms(t0).toFixed(0).padStart(5)} ms  ${total(o)} flows  ${o.test.description}`);
  }
  const index = indexFleet(fleet);
  let t0 = process.hrtime.bigint();
  let lines = 0;
  let bytes = 0;
  for (const h of fleet.hosts) {
    const l = hostFlows(index, h.name);
    lines += l.length;
    bytes += l.join("\n").length;
  }
  console.log(`flows inputs of all ${HOSTS} hosts: ${ms(t0).toFixed(0)} ms, ${lines} lines, ${(bytes / 1024).toFixed(0)} KiB in total (max per host ${Math.max(...fleet.hosts.map((h) => hostFlows(index, h.name).length))} lines)`);
  const after = validateFleet(tieredFleet(HOSTS, true));
  if (!after.ok) throw new Error("invalid");
  t0 = process.hrtime.bigint();
  const diff = fleetFlowDiff(index, indexFleet(after.fleet));
  console.log(`flow diff of one new mesh member: ${ms(t0).toFixed(0)} ms, ${diff.length} hosts with flow changes, ${diff.reduce((n, d) => n + d.added.length + d.removed.length, 0)} lines`);
}

main();
