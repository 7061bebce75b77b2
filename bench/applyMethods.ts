// The ways the apply benchmark pushes one compiled script per host, all hosts
// in parallel. Each returns per-host results; every failure throws (a
// benchmark of applies that did not happen would measure nothing).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RulesetFacts } from "../provider/declaration/declaration";
import { applyAtomically, type ApplyResult } from "../provider/host/apply";
import { hasEvent, parseRemoteOutput } from "../provider/host/remoteOutput";
import { RemoteRun } from "../provider/host/remoteRun";
import { applyProgram, newNonce, remoteCommand } from "../provider/host/remoteScript";
import { openSession } from "../provider/host/ssh";
import type { Lab } from "../lab";
import { connectionTo } from "../test/support/labConnection";

export const TABLE = "nftsg";
const ROLLBACK_SECONDS = 30;

export interface HostTiming {
  host: string;
  /** Wall time of this host's apply, ms. */
  ms: number;
  /** Optional phases (ms): connect, until "applied", confirm, probe... */
  phases?: Record<string, number>;
  result?: ApplyResult;
}

export interface ProcResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a process (argv, no shell), bounded by `timeoutMs` (SIGKILL of that child only). */
export function runProc(
  file: string,
  args: readonly string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string },
): Promise<ProcResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.stdin.on("error", () => undefined);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr + String(e), ms: performance.now() - t0 });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: timedOut ? `${stderr}\n(timed out after ${opts.timeoutMs} ms)` : stderr, ms: performance.now() - t0 });
    });
    child.stdin.end(opts.input ?? "");
  });
}

type Scripts = Record<string, string>;

async function eachHost<T>(hosts: readonly string[], f: (h: string) => Promise<T>): Promise<T[]> {
  return Promise.all(hosts.map(f));
}

/** (a) The physical floor: `ssh <lab args> 'nft -f -'` per host, the script on stdin. */
export async function bareSshLoop(lab: Lab, hosts: readonly string[], scripts: Scripts, sshOptions: readonly string[] = []): Promise<HostTiming[]> {
  return eachHost(hosts, async (h) => {
    const r = await runProc("ssh", [...sshOptions, ...lab.sshArgs(h), "nft -f -"], { input: scripts[h], timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`ssh nft -f - on ${h}: exit ${r.code}: ${r.stderr.trim().slice(0, 400)}`);
    return { host: h, ms: r.ms };
  });
}

/** The same floor in-process: one ssh2 connection (the provider's transport), exec `nft -f -`. */
export async function bareSsh2(lab: Lab, hosts: readonly string[], scripts: Scripts): Promise<HostTiming[]> {
  return eachHost(hosts, async (h) => {
    const t0 = performance.now();
    const session = await openSession(connectionTo(lab, h), { displayName: h });
    const t1 = performance.now();
    try {
      const ch = await session.exec("nft -f -");
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`nft -f - on ${h}: timed out`)), 60_000);
        let exit: number | null = null;
        let err = "";
        ch.stderr.on("data", (d: Buffer) => (err += d.toString()));
        ch.on("data", () => undefined); // consume stdout, or the channel never closes
        ch.on("exit", (c: number | null) => (exit = c));
        ch.on("close", () => {
          clearTimeout(timer);
          if (exit !== 0) reject(new Error(`nft -f - over ssh2 on ${h}: exit ${exit}: ${err.slice(0, 400)}`));
          else resolve(exit);
        });
        ch.end(scripts[h]);
      });
      void code;
      const t2 = performance.now();
      return { host: h, ms: t2 - t0, phases: { connect: t1 - t0, exec: t2 - t1 } };
    } finally {
      session.close();
    }
  });
}

/** The provider's apply path, exactly as the Attachment handler calls it (commit-confirmed, fresh-connection probe), with each script's compiled facts. */
export async function providerApply(
  lab: Lab, hosts: readonly string[], scripts: Scripts, facts: Readonly<Record<string, RulesetFacts>>, ownerOf: (host: string) => string,
): Promise<HostTiming[]> {
  return eachHost(hosts, async (h) => {
    const t0 = performance.now();
    // readRuleset as the handler sets it: the other-firewalls listing rides on the same connection.
    const result = await applyAtomically(connectionTo(lab, h), TABLE, scripts[h]!, { facts: facts[h]!, owner: ownerOf(h), rollbackSeconds: ROLLBACK_SECONDS, displayName: h, readRuleset: true });
    return { host: h, ms: performance.now() - t0, result };
  });
}

/**
 * The same remote program (lock, ownership, save, nft -c, arm the rollback,
 * nft -f, read back, CONFIRM → disarm + persist) over one ssh2 connection,
 * but WITHOUT the fresh-connection probe between "applied" and CONFIRM: the
 * cost of the lockout check alone is providerApply minus this. Mirrors
 * applyAtomically's happy path (provider/host/apply.ts) with the phases timed.
 */
export async function applyWithoutProbe(lab: Lab, hosts: readonly string[], scripts: Scripts, ownerOf: (host: string) => string): Promise<HostTiming[]> {
  return eachHost(hosts, async (h) => {
    const t0 = performance.now();
    const session = await openSession(connectionTo(lab, h), { displayName: h });
    const t1 = performance.now();
    try {
      const nonce = newNonce();
      const program = applyProgram({ table: TABLE, owner: ownerOf(h), script: scripts[h]!, rollbackSeconds: ROLLBACK_SECONDS, nonce });
      const run = new RemoteRun(await session.exec(remoteCommand(false)), nonce);
      await run.write(program);
      if (!(await run.waitForEvent("applied", 150_000))) {
        throw new Error(`${h}: no "applied" (exit ${run.end?.code}): ${run.stderr.slice(0, 400)} ${parseRemoteOutput(run.stdout, nonce).notes.join("; ")}`);
      }
      const t2 = performance.now();
      await run.write("CONFIRM\n");
      run.endInput();
      await run.waitClosed(120_000);
      const t3 = performance.now();
      if (!parseRemoteOutput(run.stdout, nonce).events.includes("confirmed")) {
        throw new Error(`${h}: not confirmed (exit ${run.end?.code}): ${run.stderr.slice(0, 400)}`);
      }
      return { host: h, ms: t3 - t0, phases: { connect: t1 - t0, toApplied: t2 - t1, confirm: t3 - t2 } };
    } finally {
      session.close();
    }
  });
}

/** Runs `sh -s` in the host's namespaces via `ip netns exec` (no SSH), feeding `program`; optionally CONFIRMs after "applied". */
function hostShell(ns: string, program: string, nonce: string | undefined, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; appliedMs?: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", ns, "sh", "-s"], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let appliedMs: number | undefined;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sh -s in ${ns}: timed out`));
    }, timeoutMs);
    child.stdin.on("error", () => undefined);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
      if (nonce && appliedMs === undefined && hasEvent(stdout, nonce, "applied")) {
        appliedMs = performance.now() - t0;
        child.stdin.end("CONFIRM\n");
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, appliedMs });
    });
    if (nonce) child.stdin.write(program);
    else child.stdin.end(program);
  });
}

/** Host-side work only (no SSH): `nft -f -` through `ip netns exec`. */
export async function hostOnlyBare(lab: Lab, hosts: readonly string[], scripts: Scripts): Promise<HostTiming[]> {
  return eachHost(hosts, async (h) => {
    const t0 = performance.now();
    const child = await runProc("ip", ["netns", "exec", lab.host(h).ns, "nft", "-f", "-"], { input: scripts[h], timeoutMs: 60_000 });
    if (child.code !== 0) throw new Error(`nft -f - in ${h}: ${child.stderr.slice(0, 400)}`);
    return { host: h, ms: performance.now() - t0 };
  });
}

/** Host-side work only (no SSH): nftsg's whole apply program with an immediate CONFIRM. */
export async function hostOnlyProgram(lab: Lab, hosts: readonly string[], scripts: Scripts, ownerOf: (host: string) => string): Promise<HostTiming[]> {
  return eachHost(hosts, async (h) => {
    const t0 = performance.now();
    const nonce = newNonce();
    const program = applyProgram({ table: TABLE, owner: ownerOf(h), script: scripts[h]!, rollbackSeconds: ROLLBACK_SECONDS, nonce });
    const r = await hostShell(lab.host(h).ns, program, nonce, 120_000);
    const events = parseRemoteOutput(r.stdout, nonce).events;
    if (r.code !== 0 || !events.includes("confirmed")) throw new Error(`apply program in ${h}: exit ${r.code}: ${r.stderr.slice(0, 400)} ${events.join(",")}`);
    const ms = performance.now() - t0;
    return { host: h, ms, phases: { toApplied: r.appliedMs ?? NaN, confirm: ms - (r.appliedMs ?? NaN) } };
  });
}

// ---------------------------------------------------------------------------
// (d) Ansible: `copy` the script + `command: nft -f <file>`, forks = hosts.

export interface AnsibleSetup {
  dir: string;
  inventory: string;
  playbook: string;
  /** Per variant: a directory holding <host>.nft. */
  scriptDirs: Record<string, string>;
  /** Where the scripts land on the hosts (the hosts share this machine's /run). */
  remoteDir: string;
  env: NodeJS.ProcessEnv;
}

export function ansibleSetup(lab: Lab, hosts: readonly string[], variants: Record<string, Scripts>, workDir: string): AnsibleSetup {
  const dir = path.join(workDir, "ansible");
  fs.mkdirSync(dir, { recursive: true });
  const remoteDir = `/run/nftsg-bench-${lab.id}`;
  fs.mkdirSync(remoteDir, { recursive: true });
  const inventory = path.join(dir, "inventory.ini");
  fs.writeFileSync(inventory, ["[lab]", ...hosts.map((h) => `${h} ansible_host=${lab.host(h).ipv4}`), ""].join("\n"));
  const scriptDirs: Record<string, string> = {};
  for (const [v, scripts] of Object.entries(variants)) {
    const d = path.join(dir, `scripts-${v}`);
    fs.mkdirSync(d, { recursive: true });
    for (const h of hosts) fs.writeFileSync(path.join(d, `${h}.nft`), scripts[h]!);
    scriptDirs[v] = d;
  }
  const playbook = path.join(dir, "apply.yml");
  fs.writeFileSync(
    playbook,
    [
      "- hosts: lab",
      "  gather_facts: false",
      "  tasks:",
      "    - name: copy the ruleset",
      "      copy:",
      '        src: "{{ script_dir }}/{{ inventory_hostname }}.nft"',
      '        dest: "{{ remote_dir }}/{{ inventory_hostname }}.nft"',
      '        mode: "0600"',
      "    - name: apply it",
      '      command: nft -f "{{ remote_dir }}/{{ inventory_hostname }}.nft"',
      "",
    ].join("\n"),
  );
  fs.mkdirSync(path.join(dir, "tmp"), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ANSIBLE_CONFIG: path.join(dir, "none.cfg"), // not an existing file: defaults + these variables
    ANSIBLE_INVENTORY: inventory,
    ANSIBLE_HOST_KEY_CHECKING: "False",
    ANSIBLE_PIPELINING: "True",
    ANSIBLE_FORKS: String(hosts.length),
    ANSIBLE_REMOTE_USER: "root",
    ANSIBLE_PRIVATE_KEY_FILE: lab.privateKeyPath,
    ANSIBLE_PYTHON_INTERPRETER: "/usr/bin/python3",
    ANSIBLE_SSH_ARGS: "-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o BatchMode=yes",
    ANSIBLE_LOCAL_TEMP: path.join(dir, "tmp"),
    ANSIBLE_RETRY_FILES_ENABLED: "False",
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_DEPRECATION_WARNINGS: "False",
    ANSIBLE_LOCALHOST_WARNING: "False",
  };
  return { dir, inventory, playbook, scriptDirs, remoteDir, env };
}

let ansibleRuns = 0;

/**
 * One `ansible-playbook` run pushing `variant`, cold: a fresh ControlPath
 * directory, so no SSH master survives from an earlier run (nftsg's runs
 * start cold too); the masters this run started are stopped afterwards.
 */
export async function ansibleApply(a: AnsibleSetup, variant: string, extra: { verbose?: boolean; profile?: boolean } = {}): Promise<ProcResult> {
  const cp = path.join(a.dir, `cp-${++ansibleRuns}`);
  fs.mkdirSync(cp, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...a.env, ANSIBLE_SSH_CONTROL_PATH_DIR: cp };
  if (extra.profile) env.ANSIBLE_CALLBACKS_ENABLED = "ansible.posix.profile_tasks";
  const args = [a.playbook, "-e", `script_dir=${a.scriptDirs[variant]}`, "-e", `remote_dir=${a.remoteDir}`];
  if (extra.verbose) args.push("-vvv");
  try {
    const r = await runProc("ansible-playbook", args, { env, timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`ansible-playbook exit ${r.code}:\n${(r.stdout + r.stderr).slice(-2000)}`);
    if (!/failed=0/.test(r.stdout) || /unreachable=[1-9]/.test(r.stdout)) throw new Error(`ansible-playbook reported failures:\n${r.stdout.slice(-2000)}`);
    return r;
  } finally {
    await stopMasters(cp);
  }
}

/** `ssh -O exit` on every control socket in `dir` (the masters one ansible run started). */
async function stopMasters(dir: string): Promise<void> {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return;
  }
  await Promise.all(
    entries.map((e) => runProc("ssh", ["-O", "exit", "-o", `ControlPath=${path.join(dir, e)}`, "bench-master"], { timeoutMs: 10_000 })),
  );
  fs.rmSync(dir, { recursive: true, force: true });
}
