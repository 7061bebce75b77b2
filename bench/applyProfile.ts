// npm run bench:apply-profile — where one `applyAtomically` spends its time,
// host by host (docs/benchmarks.md, "Apply": "Where the time goes").
//
// A lab of PROFILE_HOSTS (default 20) hosts, lean login shell as in
// bench:apply. Each round applies to every host at once, as the Attachment
// handler does (readRuleset on, the login probe), flipping between two
// rulesets, and times its phases from the provider's side:
//   connect   openSession: TCP, key exchange, authentication
//   applied   the program sent until its "applied" line (host work up to the read-back)
//   probe     the fresh login (TCP, key exchange, authentication)
//   confirm   CONFIRM sent until the channel closed (disarm + persist)
// and, with PROFILE_STRACE=1, counts the processes the host executes during
// one apply of one host (strace -f -e execve on that host's sshd).
//
//   PROFILE_HOSTS=20 PROFILE_ROUNDS=5 PROFILE_STRACE=1 (PROFILE_STRACE_LOG=1: every execve)
//   PROFILE_AB_NAGLE=1: alternate rounds with Nagle left on (TCP_NODELAY's effect)
//   PROFILE_AB_BEFORE=<dir>: alternate rounds with another built tree's provider/host code
import { AsyncLocalStorage } from "node:async_hooks";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "ssh2";
import { labUp, type Lab } from "../lab";
import * as applyModule from "../provider/host/apply";
import * as remoteRunModule from "../provider/host/remoteRun";
import type { RemoteRun } from "../provider/host/remoteRun";
import * as sshModule from "../provider/host/ssh";
import type { ProbeBudget } from "../provider/host/probeWithinBudget";
import type { SshSession } from "../provider/host/ssh";
import { connectionTo } from "../test/support/labConnection";
import { allowScript, SCRIPT_FACTS, TABLE } from "../test/support/applyScripts";
import { median } from "./median";

const HOSTS = Math.max(1, Math.min(40, Number(process.env.PROFILE_HOSTS ?? 20)));
const ROUNDS = Math.max(1, Math.min(20, Number(process.env.PROFILE_ROUNDS ?? 5)));
const STRACE = process.env.PROFILE_STRACE === "1";
const OWNER = "organization/nftsg-profile/profile/host=h";

type Phases = Record<string, number>;

/** PROFILE_AB_NAGLE=1: every other round with Nagle left on (ssh2's setNoDelay made a no-op), side by side. */
const AB_NAGLE = process.env.PROFILE_AB_NAGLE === "1";
let nagle = false;
const setNoDelay = Client.prototype.setNoDelay;
Client.prototype.setNoDelay = function (this: Client, on?: boolean) {
  return nagle ? this : setNoDelay.call(this, on);
};

interface HostModules {
  apply: typeof import("../provider/host/apply");
  ssh: typeof import("../provider/host/ssh");
  remoteRun: typeof import("../provider/host/remoteRun");
}

/**
 * PROFILE_AB_BEFORE=<a built copy of another commit's tree>: every other
 * round applies with that tree's provider/host code instead (its dist/),
 * side by side with this one. The two run the same protocol on the same
 * files, so they can alternate on the same hosts.
 */
const AB_BEFORE = process.env.PROFILE_AB_BEFORE;
const thisTree: HostModules = { apply: applyModule, ssh: sshModule, remoteRun: remoteRunModule };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = (dir: string, m: string) => require(path.join(dir, "dist/provider/host", m)) as never;
const beforeTree: HostModules | undefined = AB_BEFORE
  ? { apply: load(AB_BEFORE, "apply.js"), ssh: load(AB_BEFORE, "ssh.js"), remoteRun: load(AB_BEFORE, "remoteRun.js") }
  : undefined;

/** Times the phases of applyAtomically by wrapping the transport's entry points (CommonJS exports: patchable). */
function instrument(tree: HostModules): void {
  const mod = tree.ssh as unknown as { openSession: typeof sshModule.openSession };
  const open = mod.openSession;
  mod.openSession = async (conn, opts) => {
    const t0 = performance.now();
    const s = await open(conn, opts);
    const p = where.getStore();
    if (p) p.connect = performance.now() - t0;
    return s;
  };
  const Session = tree.ssh.SshSession;
  const probe = Session.prototype.probeFreshConnection;
  Session.prototype.probeFreshConnection = async function (this: SshSession, ms: number, budget?: ProbeBudget) {
    const t0 = performance.now();
    const r = await probe.call(this, ms, budget);
    const p = where.getStore();
    if (p) p.probe = performance.now() - t0;
    return r;
  };
  const Run = tree.remoteRun.RemoteRun;
  const write = Run.prototype.write;
  Run.prototype.write = function (this: RemoteRun & { t?: number; tc?: number }, text: string) {
    if (text.startsWith("{")) this.t = performance.now();
    if (text === "CONFIRM\n") this.tc = performance.now();
    return write.call(this, text);
  };
  const waitClosed = Run.prototype.waitClosed;
  Run.prototype.waitClosed = async function (this: RemoteRun & { tc?: number }, ms: number) {
    const r = await waitClosed.call(this, ms);
    const p = where.getStore();
    if (p && this.tc !== undefined) p.confirm = performance.now() - this.tc;
    return r;
  };
  const waitForEvent = Run.prototype.waitForEvent;
  Run.prototype.waitForEvent = async function (this: RemoteRun & { t?: number }, ev: string, ms: number) {
    const r = await waitForEvent.call(this, ev, ms);
    const p = where.getStore();
    if (ev === "applied" && p) p.applied = performance.now() - (this.t ?? NaN);
    return r;
  };
}

const failures: string[] = [];

/** The phases of the host whose apply is running in this async context. */
const where = new AsyncLocalStorage<Phases>();

async function applyAll(lab: Lab, port: number, tree: HostModules = thisTree): Promise<Phases[]> {
  return Promise.all(
    lab.hosts.map(async (h) => {
      const conn = connectionTo(lab, h.name);
      const p: Phases = {};
      const t0 = performance.now();
      // A failed apply (on this shared machine, a login slower than the probe's budget: a false lockout) is counted, not fatal.
      const r = await where.run(p, () =>
        tree.apply.applyAtomically(conn, TABLE, allowScript(OWNER + h.name, port), {
          facts: SCRIPT_FACTS, owner: OWNER + h.name, rollbackSeconds: 30, displayName: h.name, readRuleset: true,
        }).catch((e: Error) => {
          failures.push(`${tree === thisTree ? "this tree" : "before"}, ${h.name}: ${e.message.slice(0, 160)}`);
          return undefined;
        }),
      );
      if (!r) return { total: NaN };
      if (r.ruleset && "error" in r.ruleset) throw new Error(`${h.name}: ruleset read failed: ${r.ruleset.error}`);
      return { ...p, total: performance.now() - t0 };
    }),
  );
}

async function straceOne(lab: Lab, port: number): Promise<void> {
  const h = lab.hosts[0]!;
  const pidFile = path.join(lab.dir, h.name, "sshd.pid");
  const pid = fs.readFileSync(pidFile, "utf8").trim();
  const out = path.join(lab.dir, "strace.txt");
  const st = spawn("strace", ["-f", "-tt", "-e", "trace=execve", "-o", out, "-p", pid], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 1000));
  await thisTree.apply.applyAtomically(connectionTo(lab, h.name), TABLE, allowScript(OWNER + h.name, port), {
    facts: SCRIPT_FACTS, owner: OWNER + h.name, rollbackSeconds: 30, displayName: h.name, readRuleset: true,
  });
  await new Promise((r) => setTimeout(r, 500));
  st.kill("SIGINT");
  await new Promise((r) => st.on("close", r));
  const lines = fs.readFileSync(out, "utf8").split("\n").filter((l) => l.includes("execve(") && !l.includes("ENOENT"));
  const counts = new Map<string, number>();
  for (const l of lines) {
    const m = /execve\("([^"]+)"/.exec(l);
    if (!m) continue;
    const name = path.basename(m[1]!);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  console.log(`\nprocess executions on ${h.name} during one apply (strace -f -e execve on its sshd): ${lines.length}`);
  console.log("  " + [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${c}`).join(", "));
  if (process.env.PROFILE_STRACE_LOG === "1") console.log(lines.join("\n"));
}

async function main(): Promise<void> {
  instrument(thisTree);
  if (beforeTree) instrument(beforeTree);
  const lab = await labUp({ hosts: HOSTS });
  try {
    let port = 8080;
    await applyAll(lab, port); // warm-up: first apply creates the tables
    const variants = beforeTree ? ["this tree", `before (${AB_BEFORE})`] : AB_NAGLE ? ["TCP_NODELAY", "Nagle"] : ["as shipped"];
    const all = new Map<string, Phases[]>(variants.map((v) => [v, []]));
    const walls = new Map<string, number[]>(variants.map((v) => [v, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const v of r % 2 ? [...variants].reverse() : variants) {
        nagle = v === "Nagle";
        port = port === 8080 ? 8081 : 8080;
        const t0 = performance.now();
        all.get(v)!.push(...(await applyAll(lab, port, v.startsWith("before") ? beforeTree : thisTree)));
        walls.get(v)!.push(performance.now() - t0);
      }
    }
    nagle = false;
    if (failures.length > 0) console.log(`${failures.length} applies failed:\n  ${failures.join("\n  ")}`);
    for (const v of variants) {
      const m = (k: string) => median(all.get(v)!.map((p) => p[k] ?? NaN).filter((x) => Number.isFinite(x))).toFixed(0);
      const w = walls.get(v)!;
      console.log(`${v}: ${HOSTS} hosts in parallel, ${ROUNDS} rounds: wall median ${(median(w) / 1000).toFixed(2)} s (rounds: ${w.map((x) => (x / 1000).toFixed(2)).join(" ")})`);
      console.log(`  per host (median ms): total ${m("total")}, connect ${m("connect")}, program until "applied" ${m("applied")}, probe ${m("probe")}, CONFIRM until exit ${m("confirm")}`);
    }
    if (STRACE) {
      port = port === 8080 ? 8081 : 8080;
      await straceOne(lab, port);
    }
  } finally {
    await lab.down();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
