// npm run bench:apply — what does `pulumi up` cost on top of pushing the
// rulesets by hand? (issues 4 and 5; figures in docs/benchmarks.md)
//
// One lab of 20 hosts, one run, the same compiled scripts for every method,
// all 20 hosts in parallel for every method (pulumi runs with --parallel 20,
// Ansible with forks=20). Two variants A/B of the fleet differ on every host;
// each measured apply flips the hosts to the other variant, so every host
// really changes. Rounds are interleaved (methods rotate inside a round) and
// medians reported, because the machine is shared and noisy.
//
//   (a) ssh loop     `ssh <lab args> 'nft -f -'` per host, script on stdin: the physical floor
//   (b) up           `pulumi up` (real CLI, Automation API, local backend) changing every host
//   (c) up no-op     `pulumi up` with nothing to change: engine + program overhead
//   (d) ansible      ansible-playbook: copy + command `nft -f <file>`, forks=20, pipelining
//   (e) preview      `pulumi preview` of the same change as (b)
// and in-process, to see the provider apart from the engine:
//   ssh2 bare        the provider's transport (ssh2), exec `nft -f -`: the floor in Node
//   applyAtomically  the provider's apply path as the Attachment handler calls it
//   apply w/o probe  the same remote program, CONFIRM sent without the fresh-connection probe
//   host-only nft -f / host-only program: the host's side alone (ip netns exec, no SSH)
//
// SSH connections per host are counted on the hosts themselves: new TCP SYNs
// to port 22, in a counter table of the bench's own (inet nftsglabcount),
// never nftsg's table.
//
//   BENCH_ROUNDS=5 (default)   BENCH_PARALLEL=20 (default: all hosts)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { compileFleet } from "../provider/compile";
import type { CompiledFleet } from "../provider/declaration";
import { transportStats } from "../provider/ssh";
import type { FleetArgs } from "../sdk/inputs";
import { labUp, type Lab } from "../test/lab/index";
import { fleetStack, type FleetStack } from "../test/support/stack";
import { installSshCounter, removeSshCounter, sshConnectionCount } from "../test/support/sshCounter";
import { BENCH_HOSTS, benchFleet, other, type Variant } from "./applyFleet";
import {
  ansibleApply,
  ansibleSetup,
  applyWithoutProbe,
  bareSsh2,
  bareSshLoop,
  hostOnlyBare,
  hostOnlyProgram,
  providerApply,
  TABLE,
  type AnsibleSetup,
  type HostTiming,
} from "./applyMethods";

const ROUNDS = Math.max(1, Math.min(20, Number(process.env.BENCH_ROUNDS ?? 5)));
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? BENCH_HOSTS.length);
const PROJECT = "nftsg-bench";
const STACK = "bench";
/** What sdk/fleet.ts records as owner on a local backend: organization/project/stack. */
const OWNER = `organization/${PROJECT}/${STACK}`;
const PULUMI_TIMEOUT_MS = 600_000;
const HOSTS = BENCH_HOSTS;

type HostMethod = "ssh loop (a)" | "ansible (d)" | "ssh2 bare" | "applyAtomically" | "apply w/o probe" | "host-only nft -f" | "host-only program";
type Method = HostMethod | "up (b)" | "up no-op (c)" | "preview (e)";
const HOST_METHODS: HostMethod[] = ["ssh loop (a)", "ansible (d)", "ssh2 bare", "applyAtomically", "apply w/o probe", "host-only nft -f", "host-only program"];
const ALL_METHODS: Method[] = ["ssh loop (a)", "up (b)", "up no-op (c)", "ansible (d)", "preview (e)", ...HOST_METHODS.slice(2)];

interface Sample {
  round: number;
  ms: number;
  /** New SSH (TCP/22) connections per host, counted on the hosts. */
  conns?: number[];
  perHost?: HostTiming[];
  exec?: number;
}

const samples = new Map<Method, Sample[]>(ALL_METHODS.map((m) => [m, []]));

const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sec = (ms: number) => (ms / 1000).toFixed(2);
const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms))),
  ]);
}

async function resetCounters(lab: Lab): Promise<void> {
  await Promise.all(
    HOSTS.map(async (h) => {
      const r = await lab.exec(h, "nft reset counter inet nftsglabcount ssh_new >/dev/null");
      if (r.code !== 0) throw new Error(`resetting the SSH counter on ${h}: ${r.stderr}`);
    }),
  );
}

const readCounters = (lab: Lab): Promise<number[]> => Promise.all(HOSTS.map((h) => sshConnectionCount(lab, h)));

/** Every host runs `v` (B has port 9101 in the metrics rule, A does not). */
async function verifyHosts(lab: Lab, v: Variant, after: string): Promise<void> {
  const bad: string[] = [];
  await Promise.all(
    HOSTS.map(async (h) => {
      const r = await lab.exec(h, `nft list table inet ${TABLE}`);
      const isB = /9101/.test(r.stdout);
      if (r.code !== 0 || isB !== (v === "B")) bad.push(`${h}${r.code !== 0 ? ` (no table: ${r.stderr.trim()})` : ""}`);
    }),
  );
  if (bad.length) throw new Error(`after ${after}: hosts not on variant ${v}: ${bad.join(", ")}`);
}

function attachmentOps(events: EngineEvent[]): Record<string, number> {
  const ops: Record<string, number> = {};
  for (const e of events) {
    const m = e.resourcePreEvent?.metadata;
    if (m && m.type.endsWith("nftsg:Attachment")) ops[m.op] = (ops[m.op] ?? 0) + 1;
  }
  return ops;
}

async function main(): Promise<void> {
  const t00 = performance.now();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "nftsg-bench-apply-"));
  log(`load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(" ")} (${os.cpus().length} CPUs)`);
  log(`bringing up a lab of ${HOSTS.length} hosts`);
  const lab = await labUp({ hosts: HOSTS.length, hostNames: HOSTS });
  let fstack: FleetStack | undefined;
  let ansible: AnsibleSetup | undefined;
  let failed = false;
  try {
    const decl = { A: benchFleet(lab, "A"), B: benchFleet(lab, "B") };
    const compiled: Record<Variant, CompiledFleet> = { A: compileFleet(decl.A, { owner: OWNER }), B: compileFleet(decl.B, { owner: OWNER }) };
    const scripts: Record<Variant, Record<string, string>> = { A: {}, B: {} };
    for (const v of ["A", "B"] as const) for (const h of HOSTS) scripts[v][h] = compiled[v][h]!.script;
    for (const h of HOSTS) {
      if (!scripts.A[h] || !scripts.B[h] || scripts.A[h] === scripts.B[h]) throw new Error(`variants A/B must both be non-empty and differ on ${h}`);
    }
    const sizes = HOSTS.map((h) => scripts.A[h]!.length);
    const lines = HOSTS.map((h) => compiled.A[h]!.lines.length);
    log(`scripts: ${Math.min(...sizes)}-${Math.max(...sizes)} bytes, ${Math.min(...lines)}-${Math.max(...lines)} lines per host`);

    await Promise.all(HOSTS.map((h) => installSshCounter(lab, h)));
    ansible = ansibleSetup(lab, HOSTS, scripts, workDir);

    fstack = await fleetStack(decl.A as unknown as FleetArgs, { project: PROJECT, stackName: STACK });
    const stack = fstack.stack;
    const upOpts = () => ({ parallel: PARALLEL, signal: AbortSignal.timeout(PULUMI_TIMEOUT_MS) });

    log("initial pulumi up (create, untimed)");
    const up0 = await stack.up(upOpts());
    if (up0.summary.result !== "succeeded") throw new Error(`initial up: ${up0.summary.result}`);
    const hashes = up0.outputs.hashes?.value as Record<string, string> | undefined;
    const wrong = HOSTS.filter((h) => hashes?.[h] !== compiled.A[h]!.hash);
    if (wrong.length) throw new Error(`pulumi applied other scripts than the bench compiled (owner should be ${OWNER}?) on: ${wrong.join(", ")}`);
    await verifyHosts(lab, "A", "initial up");
    log("pulumi's scripts are byte-identical to the bench's (same sha256 on all 20 hosts)");

    // P: the variant in pulumi's state; H: the variant on the hosts.
    let P: Variant = "A";
    let H: Variant = "A";

    const runHost = async (m: HostMethod, to: Variant, opts: { verbose?: boolean; profile?: boolean } = {}): Promise<{ perHost?: HostTiming[]; stdout?: string }> => {
      const s = scripts[to];
      switch (m) {
        case "ssh loop (a)": return { perHost: await bareSshLoop(lab, HOSTS, s) };
        case "ansible (d)": return { stdout: (await ansibleApply(ansible!, to, opts)).stdout };
        case "ssh2 bare": return { perHost: await bareSsh2(lab, HOSTS, s) };
        case "applyAtomically": return { perHost: await providerApply(lab, HOSTS, s, OWNER) };
        case "apply w/o probe": return { perHost: await applyWithoutProbe(lab, HOSTS, s, OWNER) };
        case "host-only nft -f": return { perHost: await hostOnlyBare(lab, HOSTS, s) };
        case "host-only program": return { perHost: await hostOnlyProgram(lab, HOSTS, s, OWNER) };
      }
    };

    // Warm-up: every host method once (JIT, page cache, Python bytecode), untimed.
    log("warm-up: each method once, untimed");
    for (const m of HOST_METHODS) {
      const to = other(H);
      await withTimeout(runHost(m, to), 600_000, m);
      H = to;
      await verifyHosts(lab, H, `warm-up ${m}`);
    }

    for (let round = 0; round < ROUNDS; round++) {
      if (H !== P) {
        await bareSshLoop(lab, HOSTS, scripts[P]); // untimed resync: pulumi's next change must change every host
        H = P;
      }
      const T = other(P);
      fstack.setArgs(decl[T] as unknown as FleetArgs);

      // (e) preview of the change
      const pevents: EngineEvent[] = [];
      let t0 = performance.now();
      const pv = await stack.preview({ parallel: PARALLEL, signal: AbortSignal.timeout(PULUMI_TIMEOUT_MS), onEvent: (e) => pevents.push(e) });
      samples.get("preview (e)")!.push({ round, ms: performance.now() - t0 });
      const pops = attachmentOps(pevents);
      if (pops.update !== HOSTS.length) throw new Error(`preview: expected ${HOSTS.length} Attachment updates, got ${JSON.stringify(pops)} ${JSON.stringify(pv.changeSummary)}`);

      // (b) up that changes every host
      await resetCounters(lab);
      t0 = performance.now();
      const up = await stack.up(upOpts());
      const upMs = performance.now() - t0;
      if (up.summary.result !== "succeeded") throw new Error(`up: ${up.summary.result}`);
      samples.get("up (b)")!.push({ round, ms: upMs, conns: await readCounters(lab) });
      P = T;
      H = T;
      await verifyHosts(lab, H, "up (b)");
      const upd = up.summary.resourceChanges?.update ?? 0;
      if (upd < HOSTS.length) throw new Error(`up: expected at least ${HOSTS.length} updates, got ${JSON.stringify(up.summary.resourceChanges)}`);

      // (c) up with nothing to change
      await resetCounters(lab);
      t0 = performance.now();
      const noop = await stack.up(upOpts());
      const noopMs = performance.now() - t0;
      const changes = Object.entries(noop.summary.resourceChanges ?? {}).filter(([k]) => k !== "same");
      if (noop.summary.result !== "succeeded" || changes.length) throw new Error(`no-op up changed something: ${JSON.stringify(noop.summary.resourceChanges)}`);
      samples.get("up no-op (c)")!.push({ round, ms: noopMs, conns: await readCounters(lab) });

      // The host methods, rotated so none always runs right after pulumi.
      const order = HOST_METHODS.map((_, i) => HOST_METHODS[(i + round) % HOST_METHODS.length]!);
      for (const m of order) {
        const to = other(H);
        await resetCounters(lab);
        const s0 = { ...transportStats };
        t0 = performance.now();
        const r = await withTimeout(runHost(m, to), 600_000, m);
        const ms = performance.now() - t0;
        const conns = m.startsWith("host-only") ? undefined : await readCounters(lab);
        samples.get(m)!.push({ round, ms, conns, perHost: r.perHost, exec: transportStats.execChannels - s0.execChannels });
        H = to;
        await verifyHosts(lab, H, m);
      }
      const a = samples.get("ssh loop (a)")!.at(-1)!.ms;
      log(
        `round ${round + 1}/${ROUNDS}: preview ${sec(samples.get("preview (e)")!.at(-1)!.ms)} s, up ${sec(upMs)} s, no-op ${sec(noopMs)} s, ` +
          `ssh loop ${sec(a)} s, ansible ${sec(samples.get("ansible (d)")!.at(-1)!.ms)} s, applyAtomically ${sec(samples.get("applyAtomically")!.at(-1)!.ms)} s ` +
          `-> (b-c)/a = ${((upMs - noopMs) / a).toFixed(2)}`,
      );
    }

    // ---- Diagnostics (untimed for the table): where the time goes.
    if (H !== P) {
      await bareSshLoop(lab, HOSTS, scripts[P]);
      H = P;
    }
    log("diagnostics: one up and one no-op up with an event timeline");
    const timeline = async (label: string) => {
      const ev: { t: number; e: EngineEvent }[] = [];
      const t0 = performance.now();
      const r = await stack.up({ ...upOpts(), onEvent: (e) => ev.push({ t: performance.now() - t0, e }) });
      const total = performance.now() - t0;
      const first = ev[0]?.t ?? NaN;
      const pre = new Map<string, number>();
      const durs: number[] = [];
      let firstAtt = NaN;
      let lastAtt = NaN;
      let firstRes = NaN;
      for (const { t, e } of ev) {
        const m = e.resourcePreEvent?.metadata;
        if (m && Number.isNaN(firstRes)) firstRes = t;
        if (m?.type.endsWith("nftsg:Attachment") && m.op !== "same") {
          pre.set(m.urn, t);
          if (Number.isNaN(firstAtt)) firstAtt = t;
        }
        const o = e.resOutputsEvent?.metadata;
        if (o?.type.endsWith("nftsg:Attachment") && pre.has(o.urn)) {
          durs.push(t - pre.get(o.urn)!);
          lastAtt = t;
        }
      }
      const summaryAt = ev.find((x) => x.e.summaryEvent)?.t ?? NaN;
      console.log(
        `  ${label}: total ${sec(total)} s; first engine event at ${sec(first)} s; first resource step at ${sec(firstRes)} s` +
          (durs.length
            ? `; first Attachment update at ${sec(firstAtt)} s, last done at ${sec(lastAtt)} s; per-Attachment update ` +
              `median ${sec(median(durs))} s, max ${sec(Math.max(...durs))} s`
            : "") +
          `; summary event at ${sec(summaryAt)} s; returned at ${sec(total)} s (${JSON.stringify(r.summary.resourceChanges)})`,
      );
      return total;
    };
    fstack.setArgs(decl[other(P)] as unknown as FleetArgs);
    await timeline("up (change)");
    P = other(P);
    H = P;
    await verifyHosts(lab, H, "diagnostic up");
    await timeline("up (no-op)");

    log("diagnostics: ansible -vvv with profile_tasks (remote commands per host)");
    const av = await ansibleApply(ansible, other(H), { verbose: true, profile: true });
    H = other(H);
    const execs = new Map<string, number>();
    for (const m of av.stdout.matchAll(/<(\d+\.\d+\.\d+\.\d+)> SSH: EXEC (?:ssh|sftp|scp) /g)) execs.set(m[1]!, (execs.get(m[1]!) ?? 0) + 1);
    const perHostExec = HOSTS.map((h) => execs.get(lab.host(h).ipv4) ?? 0);
    const profile = av.stdout.split("\n").filter((l) => /-{5,}\s+\d+\.\d+s$/.test(l) || /^\w.*\d+\.\d+s$/.test(l.trim()));
    console.log(`  ansible: ssh invocations per host (connection + multiplexed sessions): ${median(perHostExec)} (min ${Math.min(...perHostExec)}, max ${Math.max(...perHostExec)})`);
    for (const l of profile.slice(0, 6)) console.log(`    ${l.trim()}`);

    report(lab, perHostExec);
    log(`total bench time ${sec(performance.now() - t00)} s; load average at end: ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    log(failed ? "cleaning up after a failure" : "cleaning up");
    if (fstack) {
      try {
        const d = await fstack.stack.destroy({ signal: AbortSignal.timeout(PULUMI_TIMEOUT_MS) });
        log(`pulumi destroy: ${d.summary.result}`);
      } catch (e) {
        console.error(`pulumi destroy failed (the lab is removed anyway): ${(e as Error).message.slice(0, 500)}`);
      }
      fs.rmSync(path.dirname(fstack.engine.stateDir), { recursive: true, force: true });
    }
    await Promise.all(HOSTS.map((h) => removeSshCounter(lab, h).catch(() => undefined)));
    if (ansible) fs.rmSync(ansible.remoteDir, { recursive: true, force: true });
    await lab.down();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

function report(lab: Lab, ansibleExecs: number[]): void {
  void lab;
  const med = (m: Method) => median(samples.get(m)!.map((s) => s.ms));
  const perRound = (f: (r: number) => number) => median(Array.from({ length: ROUNDS }, (_, r) => f(r)));
  const at = (m: Method, r: number) => samples.get(m)!.find((s) => s.round === r)?.ms ?? NaN;
  const connsPerHost = (m: Method): string => {
    const all = samples.get(m)!.flatMap((s) => s.conns ?? []);
    if (!all.length) return "-";
    const lo = Math.min(...all);
    const hi = Math.max(...all);
    return lo === hi ? String(lo) : `${median(all)} (${lo}-${hi})`;
  };
  const roundTrips = (m: Method): string => {
    switch (m) {
      case "ssh loop (a)": return "1";
      case "ssh2 bare": return String(median(samples.get(m)!.map((s) => (s.exec ?? NaN) / HOSTS.length)));
      case "applyAtomically": return String(median(samples.get(m)!.flatMap((s) => (s.perHost ?? []).map((p) => p.result?.roundTrips ?? NaN))));
      case "apply w/o probe": return "2";
      case "up (b)": return "2 (applyAtomically)";
      case "up no-op (c)": case "preview (e)": return "0";
      case "ansible (d)": return `${median(ansibleExecs)} ssh invocations`;
      default: return "-";
    }
  };
  const a = med("ssh loop (a)");
  console.log(`\n=== apply benchmark: ${HOSTS.length} lab hosts, all in parallel (pulumi --parallel ${PARALLEL}, ansible forks=${HOSTS.length}), ${ROUNDS} rounds, medians ===`);
  console.log(`${"method".padEnd(20)} ${"median s".padStart(9)} ${"min s".padStart(7)} ${"max s".padStart(7)} ${"x (a)".padStart(6)}  ${"host ms".padStart(8)}  ${"SSH conns/host".padEnd(15)} round trips/host`);
  for (const m of ALL_METHODS) {
    const xs = samples.get(m)!.map((s) => s.ms);
    const hostMs = median(samples.get(m)!.flatMap((s) => (s.perHost ?? []).map((p) => p.ms)));
    console.log(
      `${m.padEnd(20)} ${sec(med(m)).padStart(9)} ${sec(Math.min(...xs)).padStart(7)} ${sec(Math.max(...xs)).padStart(7)} ${(med(m) / a).toFixed(2).padStart(6)}  ` +
        `${(Number.isFinite(hostMs) ? hostMs.toFixed(0) : "-").padStart(8)}  ${connsPerHost(m).padEnd(15)} ${roundTrips(m)}`,
    );
  }
  const marginal = perRound((r) => at("up (b)", r) - at("up no-op (c)", r));
  const ratioB = perRound((r) => (at("up (b)", r) - at("up no-op (c)", r)) / at("ssh loop (a)", r));
  console.log("\nratios (median of per-round ratios; each round's methods ran back to back):");
  console.log(`  marginal apply cost (b - c) = ${sec(marginal)} s; (b - c) / (a) = ${ratioB.toFixed(2)}  (issue 4 target <= 1.5; issue 5, protection on: <= 2.0)`);
  console.log(`  (b) / (d) pulumi up vs ansible = ${perRound((r) => at("up (b)", r) / at("ansible (d)", r)).toFixed(2)}; (b - c) / (d) = ${perRound((r) => (at("up (b)", r) - at("up no-op (c)", r)) / at("ansible (d)", r)).toFixed(2)}`);
  console.log(`  (c) / (a) engine + program overhead vs floor = ${perRound((r) => at("up no-op (c)", r) / at("ssh loop (a)", r)).toFixed(2)}; (e) preview = ${sec(med("preview (e)"))} s`);
  console.log(`  in-process: applyAtomically / ssh loop = ${perRound((r) => at("applyAtomically", r) / at("ssh loop (a)", r)).toFixed(2)}, applyAtomically / ssh2 bare = ${perRound((r) => at("applyAtomically", r) / at("ssh2 bare", r)).toFixed(2)}`);
  console.log(`  lockout protection: apply w/o probe / ssh loop = ${perRound((r) => at("apply w/o probe", r) / at("ssh loop (a)", r)).toFixed(2)}; fresh-connection probe adds ${sec(perRound((r) => at("applyAtomically", r) - at("apply w/o probe", r)))} s (applyAtomically - apply w/o probe)`);
  console.log(`  host side only (no SSH): nftsg program / nft -f = ${perRound((r) => at("host-only program", r) / at("host-only nft -f", r)).toFixed(2)} (${sec(med("host-only program"))} s vs ${sec(med("host-only nft -f"))} s for 20 hosts)`);
  const phase = (m: Method, k: string) => median(samples.get(m)!.flatMap((s) => (s.perHost ?? []).map((p) => p.phases?.[k] ?? NaN)));
  console.log("\nper-host phases (median ms over hosts and rounds, 20 in parallel):");
  console.log(`  ssh2 bare:        connect ${phase("ssh2 bare", "connect").toFixed(0)}, exec nft -f ${phase("ssh2 bare", "exec").toFixed(0)}`);
  console.log(`  apply w/o probe:  connect ${phase("apply w/o probe", "connect").toFixed(0)}, program until "applied" ${phase("apply w/o probe", "toApplied").toFixed(0)}, CONFIRM until exit ${phase("apply w/o probe", "confirm").toFixed(0)}`);
  console.log(`  host-only program: until "applied" ${phase("host-only program", "toApplied").toFixed(0)}, CONFIRM until exit ${phase("host-only program", "confirm").toFixed(0)}`);
  console.log("\nper-round wall times (s):");
  for (const m of ALL_METHODS) console.log(`  ${m.padEnd(20)} ${samples.get(m)!.map((s) => sec(s.ms)).join("  ")}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
