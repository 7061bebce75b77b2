// Scale benchmark (issue 8): the tiered fleet with and without an all-to-all
// group at N = 50, 200, 1,000 hosts.
//
// Part 1, no hosts contacted: the compile in-process (once for the fleet, and
// the earlier per-host-slice compile for comparison where it finishes),
// the sizes of the representations an Attachment could carry, and a first
// `pulumi preview` through the real CLI with the program in its own process
// (wall time, peak RSS of the program and of the dynamic provider), plus the
// state an `up` would write, assembled from the preview's planned inputs.
//
// Part 2, real lab hosts (N = 50 and 200, `--lab` sizes): first `up`, no-op
// `up` (SSH connections counted on every host), `up` after one membership
// change of the all-to-all group, each beside the bare `ssh host 'nft -f -'`
// loop to the same hosts with the same parallelism, and `pulumi stack export`
// size.
//
//   npm run bench:scale [-- --sizes 50,200,1000 --lab 50,200 --parallel 32]
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type EngineEvent, type Stack } from "@pulumi/pulumi/automation";
import { compileFleet } from "../provider/compiler/compile";
import { encodeScript } from "../provider/handlers/scriptEncoding";
import type { FleetDeclaration } from "../provider/declaration/declaration";
import type { FleetArgs } from "../sdk/inputs";
import { fleetSlices } from "../sdk/slice";
import { engineEnv, repoRoot, type EngineEnv } from "../test/support/engine";
import { labUp, type Lab } from "../lab";
import { connectionTo } from "../test/support/labConnection";
import { installSshCounter, sshConnectionCount } from "../test/support/sshCounter";
import { ProcCpu, pulumiClassifier } from "./procCpu";
import { scaleFleet, syntheticHosts, hostName, SCALE_FLEET_PROGRAM, type ScaleHost } from "./scaleFleet";
import { opt } from "./benchArgs";

const SIZES = opt("sizes", "50,200,1000").split(",").filter(Boolean).map(Number);
const LAB_SIZES = opt("lab", "50,200").split(",").filter(Boolean).map(Number);
const PARALLEL = Number(opt("parallel", "32"));
/** The per-host-slice compile is cubic for an all-to-all group: only run it up to this size. */
const SLICE_COMPILE_MAX = Number(opt("slice-max", "200"));
const SHAPES = opt("shapes", "all-to-all,tiers").split(",");
/** Write CPU profiles of the program and provider processes here (node --cpu-prof). */
const PROFILE_DIR = opt("profile", "");
const PULUMI_TIMEOUT_MS = 20 * 60_000;

const log = (...a: unknown[]) => console.log(...a);
const sec = (ms: number) => (ms / 1000).toFixed(2);
const mb = (bytes: number) => (bytes / 1e6).toFixed(2);

/** A FleetArgs whose leaves are plain: the compiler's declaration. */
const plain = (args: FleetArgs) => args as unknown as FleetDeclaration;
/** The owners the SDK records for this benchmark's stack (the file backend's organization is "organization"). */
const ownersOf = (d: FleetDeclaration) => Object.fromEntries(d.hosts.map((h) => [h.name, `organization/nftsg-scale/bench/host=${h.name}`]));

async function timed<T>(f: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

// --------------------------------------------------------------- compile

interface CompileFigures {
  onceMs: number;
  sliceMs?: number;
  scriptBytes: number;
  compressedBytes: number;
  linesPerAddressBytes: number;
  linesGroupsBytes: number;
}

function compileFigures(decl: FleetDeclaration, n: number, allToAll: boolean): CompileFigures {
  const owners = ownersOf(decl);
  const once = (() => {
    const t0 = performance.now();
    const out = compileFleet(decl, { owners, lineStyle: "groups" });
    let gz = 0;
    for (const r of Object.values(out)) gz += encodeScript(r.script).length;
    return { ms: performance.now() - t0, out, gz };
  })();
  let scriptBytes = 0;
  let linesGroupsBytes = 0;
  for (const r of Object.values(once.out)) {
    scriptBytes += r.script.length;
    linesGroupsBytes += r.lines.join("\n").length;
  }
  // The previous representation's lines (one per rule and peer address), host by host to bound memory.
  let linesPerAddressBytes = 0;
  const perAddress = compileFleet(decl, { owners, lineStyle: "addresses" });
  for (const r of Object.values(perAddress)) linesPerAddressBytes += r.lines.join("\n").length;

  let sliceMs: number | undefined;
  if (!allToAll || n <= SLICE_COMPILE_MAX) {
    // The previous SDK path: every host compiled from its own slice.
    const t0 = performance.now();
    for (const [name, s] of fleetSlices(decl)) {
      const groupNames = new Set([...s.ownGroups, ...s.peerGroups].map((g) => g.name));
      const slice: FleetDeclaration = {
        securityGroups: [...s.ownGroups, ...s.peerGroups.map((g) => ({ name: g.name }))],
        hosts: [s.self, ...s.peerMembers.filter((h) => h !== s.self)].map((h) => ({ ...h, securityGroups: h.securityGroups.filter((g) => groupNames.has(g)) })),
      };
      compileFleet(slice, { owner: owners[name] });
    }
    sliceMs = performance.now() - t0;
  }
  return { onceMs: once.ms, sliceMs, scriptBytes, compressedBytes: once.gz, linesPerAddressBytes, linesGroupsBytes };
}

// --------------------------------------------------------------- stacks


interface ScaleStack {
  stack: Stack;
  engine: EngineEnv;
  dir: string;
  setArgs(args: FleetArgs): void;
}

/** A stack whose program runs in its own process (the language host's), so its memory can be measured apart. */
async function scaleStack(label: string): Promise<ScaleStack> {
  const engine = engineEnv(`scale-${label}`);
  // Under the repository, so the program resolves @pulumi/pulumi from its node_modules.
  const dir = fs.mkdtempSync(path.join(repoRoot, "tmp", `scale-${label}-`));
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: nftsg-scale\nruntime: nodejs\nmain: index.js\n");
  fs.writeFileSync(path.join(dir, "index.js"), SCALE_FLEET_PROGRAM);
  const argsFile = path.join(dir, "fleet.json");
  const env: Record<string, string> = { ...engine.env, NFTSG_DIST: path.join(repoRoot, "dist", "index.js"), NFTSG_SCALE_ARGS: argsFile };
  if (PROFILE_DIR) env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${PROFILE_DIR}`;
  const pulumiCommand = await PulumiCommand.get({ root: engine.pulumiRoot, skipVersionCheck: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: "bench", workDir: dir },
    { envVars: env, pulumiHome: engine.home, pulumiCommand, workDir: dir },
  );
  return { stack, engine, dir, setArgs: (a) => fs.writeFileSync(argsFile, JSON.stringify(a)) };
}

function dropStack(s: ScaleStack): void {
  fs.rmSync(s.dir, { recursive: true, force: true });
  fs.rmSync(path.dirname(s.engine.stateDir), { recursive: true, force: true });
}

interface Measured {
  ms: number;
  programMb: number;
  providerMb: number;
  events: EngineEvent[];
}

async function measure(f: (onEvent: (e: EngineEvent) => void) => Promise<unknown>): Promise<Measured> {
  const events: EngineEvent[] = [];
  const cpu = new ProcCpu(pulumiClassifier).start(100);
  const t = await timed(() => f((e) => events.push(e)));
  cpu.stop();
  const peak = cpu.peakRssMb();
  return { ms: t.ms, programMb: peak["program (node)"] ?? NaN, providerMb: peak["dynamic provider (node)"] ?? NaN, events };
}

/** Attachment operations of a run, by op, and the hosts updated. */
function attachmentOps(events: EngineEvent[]): { ops: Record<string, number>; touched: string[] } {
  const ops: Record<string, number> = {};
  const touched: string[] = [];
  for (const e of events) {
    const m = e.resOutputsEvent?.metadata ?? e.resourcePreEvent?.metadata;
    if (!m || !m.type.endsWith("nftsg:Attachment") || !e.resOutputsEvent) continue;
    ops[m.op] = (ops[m.op] ?? 0) + 1;
    if (m.op !== "same") touched.push(m.urn.split("::").pop()!.replace(/^scale-/, ""));
  }
  return { ops, touched: touched.sort() };
}

/**
 * The state an `up` would write, from a preview's planned inputs: every
 * resource's inputs, and its outputs as the handlers write them (an
 * Attachment's outputs are its inputs without the script, plus the host key
 * and a listing hash; records echo their inputs). Checked against the real
 * `pulumi stack export` of the lab runs in the same benchmark.
 */
function plannedStateBytes(events: EngineEvent[]): number {
  const resources: { type: string; inputs: Record<string, unknown>; outputs: Record<string, unknown>; [k: string]: unknown }[] = [];
  for (const e of events) {
    const m = e.resourcePreEvent?.metadata;
    if (!m || !m.new) continue;
    const inputs = m.new.inputs ?? {};
    let outputs: Record<string, unknown> = inputs;
    if (m.type.endsWith("nftsg:Attachment")) {
      const { scriptBrotli: _gz, ...rest } = inputs as Record<string, unknown>;
      outputs = { ...rest, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOz5S4fEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE00", listingHash: "0".repeat(64) };
    }
    resources.push({ urn: m.urn, custom: true, id: m.urn, type: m.type, inputs, outputs, parent: m.new.parent, provider: m.new.provider, dependencies: [] });
  }
  if (process.env.NFTSG_SCALE_BREAKDOWN) log(`    planned state by field: ${stateBreakdown(resources)}`);
  return JSON.stringify({ version: 3, deployment: { manifest: {}, resources } }, null, 4).length;
}

/** Bytes by type and field (inputs + outputs), largest first: where the state goes. */
function stateBreakdown(resources: { type: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> }[]): string {
  const bytes = new Map<string, number>();
  for (const r of resources) {
    for (const side of [r.inputs, r.outputs]) {
      for (const [k, v] of Object.entries(side)) {
        const key = `${r.type.split(":").pop()}.${k}`;
        bytes.set(key, (bytes.get(key) ?? 0) + JSON.stringify(v ?? null).length);
      }
    }
  }
  return [...bytes].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${mb(v)} MB`).join(", ");
}

async function exportedStateBytes(s: ScaleStack): Promise<number> {
  const d = await s.stack.exportStack();
  return JSON.stringify(d, null, 4).length;
}

// --------------------------------------------------------------- part 1

interface PreviewRow {
  n: number;
  allToAll: boolean;
  compile: CompileFigures;
  preview: Measured;
  plannedState: number;
}

async function previewRow(n: number, allToAll: boolean): Promise<PreviewRow> {
  const hosts = syntheticHosts(n);
  const args = scaleFleet(hosts, allToAll);
  const compile = compileFigures(plain(args), n, allToAll);
  const s = await scaleStack(`p${n}${allToAll ? "a" : "t"}`);
  try {
    s.setArgs(args);
    const preview = await measure((onEvent) => s.stack.preview({ parallel: PARALLEL, onEvent, signal: AbortSignal.timeout(PULUMI_TIMEOUT_MS) }));
    return { n, allToAll, compile, preview: { ...preview, events: [] }, plannedState: plannedStateBytes(preview.events) };
  } finally {
    dropStack(s);
  }
}

// --------------------------------------------------------------- part 2

/** Push each host's script with `ssh host 'nft -f -'`, `parallel` at a time. */
async function sshLoop(lab: Lab, scripts: [string, string][], parallel: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < scripts.length) {
      const [host, script] = scripts[next++]!;
      await new Promise<void>((resolve, reject) => {
        const p = spawn("ssh", [...lab.sshArgs(host), "nft -f -"], { stdio: ["pipe", "ignore", "pipe"] });
        let err = "";
        p.stderr.on("data", (d) => (err += d));
        const timer = setTimeout(() => p.kill(), 60_000);
        p.on("close", (code) => (clearTimeout(timer), code === 0 ? resolve() : reject(new Error(`ssh ${host}: ${code} ${err}`))));
        p.stdin.end(script);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, scripts.length) }, worker));
  return performance.now() - t0;
}

interface LabRow {
  n: number;
  firstUp: Measured;
  noopUp: Measured;
  noopPreview: Measured;
  noopSsh: number;
  changeUp: Measured;
  changeTouched: string[];
  changeExpected: string[];
  loopAll: number;
  loopChanged: number;
  stateBytes: number;
  plannedState: number;
}

async function labRow(labSize: number): Promise<LabRow> {
  // n fleet hosts plus one spare that joins the all-to-all group later: labSize lab hosts in all (a lab holds at most 200).
  const n = labSize - 1;
  const lab = await labUp({ hosts: labSize });
  const s = await scaleStack(`lab${n}`);
  try {
    const labHosts = lab.hosts.slice(0, n + 1);
    const hosts: ScaleHost[] = labHosts.map((h, i) => ({
      name: i === n ? "spare" : hostName(i, n),
      connection: connectionTo(lab, h.name, { hostKey: h.hostPublicKey }),
      // The real IPv4 address, plus a spaced IPv6 one (inside the lab's
      // range, never sent to) so the member sets do not collapse to ranges.
      addresses: [h.ipv4, `2001:db8:${lab.slot}:1::${(10 + 4 * i).toString(16)}`],
    }));
    const fleet = (spareInGossip: boolean): FleetArgs => {
      const a = scaleFleet(hosts.slice(0, n), true);
      const spare = { name: "spare", connection: hosts[n]!.connection, addresses: hosts[n]!.addresses, securityGroups: ["web", "managed", ...(spareInGossip ? ["gossip"] : [])] };
      return { ...a, hosts: [...a.hosts, spare] };
    };
    const labName = (fleetHost: string) => labHosts[hosts.findIndex((h) => h.name === fleetHost)]!.name;
    const up = (onEvent: (e: EngineEvent) => void) => s.stack.up({ parallel: PARALLEL, onEvent, signal: AbortSignal.timeout(PULUMI_TIMEOUT_MS) });

    s.setArgs(fleet(false));
    const firstUp = await measure(up);
    log(`  lab ${labSize}: first up ${sec(firstUp.ms)} s`);
    const planned = await measure((onEvent) => s.stack.preview({ parallel: PARALLEL, onEvent }));

    await Promise.all(labHosts.map((h) => installSshCounter(lab, h.name)));
    const noopPreview = await measure((onEvent) => s.stack.preview({ parallel: PARALLEL, onEvent }));
    const noopUp = await measure(up);
    const counts = await Promise.all(labHosts.map((h) => sshConnectionCount(lab, h.name)));
    const noopSsh = counts.reduce((a, b) => a + b, 0);
    log(`  lab ${labSize}: no-op preview ${sec(noopPreview.ms)} s, no-op up ${sec(noopUp.ms)} s, ${noopSsh} SSH connections`);

    s.setArgs(fleet(true));
    const changeUp = await measure(up);
    const { touched } = attachmentOps(changeUp.events);
    // Every member of the pool (the spare included), not the bastions.
    const changeExpected = hosts.map((h) => h.name).filter((h) => !h.startsWith("bastion")).sort();
    const stateBytes = await exportedStateBytes(s);
    log(`  lab ${labSize}: membership change up ${sec(changeUp.ms)} s, ${touched.length} Attachments updated; state ${mb(stateBytes)} MB`);

    // The bare loop: the same scripts, same hosts, same parallelism.
    const compiled = compileFleet(plain(fleet(true)), { owners: ownersOf(plain(fleet(true))) });
    const scripts = hosts.map((h) => [labName(h.name), compiled[h.name]!.script] as [string, string]);
    const loopAll = await sshLoop(lab, scripts, PARALLEL);
    const changedScripts = scripts.filter(([labHost]) => touched.map(labName).includes(labHost));
    const loopChanged = await sshLoop(lab, changedScripts, PARALLEL);
    log(`  lab ${labSize}: ssh loop all ${sec(loopAll)} s, changed ${sec(loopChanged)} s`);

    await s.stack.destroy({ parallel: PARALLEL, signal: AbortSignal.timeout(PULUMI_TIMEOUT_MS) });
    return {
      n, firstUp: { ...firstUp, events: [] }, noopUp: { ...noopUp, events: [] }, noopPreview: { ...noopPreview, events: [] }, noopSsh,
      changeUp: { ...changeUp, events: [] }, changeTouched: touched, changeExpected, loopAll, loopChanged,
      stateBytes, plannedState: plannedStateBytes(planned.events),
    };
  } finally {
    dropStack(s);
    await lab.down();
  }
}

// --------------------------------------------------------------- report

function exponent(t1: number, t2: number, n1: number, n2: number): string {
  return (Math.log(t2 / t1) / Math.log(n2 / n1)).toFixed(2);
}

async function main(): Promise<void> {
  fs.mkdirSync(path.join(repoRoot, "tmp"), { recursive: true });
  log(`=== scale benchmark: N = ${SIZES.join(", ")} (preview), lab N = ${LAB_SIZES.join(", ") || "none"}, --parallel ${PARALLEL}; ${new Date().toISOString()}`);
  const rows: PreviewRow[] = [];
  for (const allToAll of [true, false]) {
    if (!SHAPES.includes(allToAll ? "all-to-all" : "tiers")) continue;
    for (const n of SIZES) {
      const r = await previewRow(n, allToAll);
      rows.push(r);
      const c = r.compile;
      log(
        `${allToAll ? "all-to-all" : "tiers only"} N=${n}: compile once ${sec(c.onceMs)} s` +
          (c.sliceMs !== undefined ? ` (per-host slices ${sec(c.sliceMs)} s)` : "") +
          `; preview ${sec(r.preview.ms)} s, program peak RSS ${r.preview.programMb.toFixed(0)} MB, provider ${r.preview.providerMb.toFixed(0)} MB;` +
          ` planned state ${mb(r.plannedState)} MB; scripts ${mb(c.scriptBytes)} MB plain / ${mb(c.compressedBytes)} MB brotli+base64;` +
          ` rule lines ${mb(c.linesPerAddressBytes)} MB per address / ${mb(c.linesGroupsBytes)} MB in group terms`,
      );
    }
  }
  for (const allToAll of [true, false]) {
    const a = rows.find((r) => r.n === 200 && r.allToAll === allToAll);
    const b = rows.find((r) => r.n === 1000 && r.allToAll === allToAll);
    if (a && b) {
      log(`growth 200 -> 1000 (${allToAll ? "all-to-all" : "tiers"}): preview x${(b.preview.ms / a.preview.ms).toFixed(2)} (exponent ${exponent(a.preview.ms, b.preview.ms, 200, 1000)}),` +
        ` compile x${(b.compile.onceMs / a.compile.onceMs).toFixed(2)} (exponent ${exponent(a.compile.onceMs, b.compile.onceMs, 200, 1000)})`);
    }
  }
  for (const labSize of LAB_SIZES) {
    const r = await labRow(labSize);
    const exact = JSON.stringify(r.changeTouched) === JSON.stringify(r.changeExpected);
    log(
      `lab N=${r.n + 1} (${r.n} + 1 spare), --parallel ${PARALLEL}: first up ${sec(r.firstUp.ms)} s (ssh loop, all hosts: ${sec(r.loopAll)} s);` +
        ` no-op up ${sec(r.noopUp.ms)} s with ${r.noopSsh} SSH connections (no-op preview ${sec(r.noopPreview.ms)} s, ratio ${(r.noopUp.ms / r.noopPreview.ms).toFixed(2)});` +
        ` spare joins the all-to-all group: up ${sec(r.changeUp.ms)} s touching ${r.changeTouched.length} Attachments (${exact ? "exactly every member" : `UNEXPECTED: ${r.changeTouched.join(",")}`}),` +
        ` ssh loop to those hosts ${sec(r.loopChanged)} s (ratio ${(r.changeUp.ms / r.loopChanged).toFixed(2)});` +
        ` program peak RSS ${r.changeUp.programMb.toFixed(0)} MB, provider ${r.firstUp.providerMb.toFixed(0)} MB;` +
        ` state ${mb(r.stateBytes)} MB (pulumi stack export), planned-state estimate ${mb(r.plannedState)} MB`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
