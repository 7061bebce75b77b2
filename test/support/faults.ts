// Fault injection from outside the code under test (no hook in shipped code):
// hold a host in the window between "applied" and the confirmation, then kill
// the Pulumi dynamic-provider process (as if it crashed) and optionally the
// host's waiting nftsg shell too (so only the rollback timer can restore it).
//
// The window is made wide and certain with a table of the lab's own
// (`inet nftsglabfault`, never nftsg's) that lets the first new SSH
// connection in and drops the next ones for a minute: the provider's own
// connection passes, its fresh-connection lockout probe does not, so the host
// sits armed for the probe's whole time budget.
import { readdirSync, readFileSync } from "node:fs";
import type { Lab } from "../../lab";
import type { ConnectionDeclaration, RulesetFacts } from "../../provider/declaration/declaration";
import { applyProgram, newNonce, remoteCommand } from "../../provider/host/remoteScript";
import { RemoteRun } from "../../provider/host/remoteRun";
import { openSession, sleep, type SshSession } from "../../provider/host/ssh";
import { parseRemoteOutput } from "../../provider/host/remoteOutput";

const FAULT_TABLE = "inet nftsglabfault";
// The hold keeps the host armed for the probe's whole budget, so a poll
// every quarter second cannot miss it; each poll starts sh and nft in the
// namespace, and a 50 ms poll showed at the top of the busy suite's CPU list.
const POLL_MS = 250;

/** Shell text: the nftsg runtime directory of the host's network namespace. */
const RUN_DIR = `/run/nftsg/net$(readlink /proc/self/ns/net | tr -cd 0-9)`;

export type ProviderFault = "kill-provider" | "kill-provider-and-shell";

export interface ArmedFault {
  /** Resolves once the fault was injected (false: the host never showed an armed rollback in time). */
  readonly injected: Promise<boolean>;
  /** Disarms the fault (it will not fire any more) and removes the lab's fault table (idempotent). */
  clear(): Promise<void>;
}

/** Faults armed and not yet cleared: a test that timed out must not leave one to fire in the next test. */
const armedFaults = new Set<ArmedFault>();

/** Disarms every fault still armed (for afterEach). */
export async function clearArmedFaults(): Promise<void> {
  for (const f of [...armedFaults]) await f.clear();
}

/**
 * Arms a fault on `host` for the next apply of `table` by the engine whose
 * PULUMI_HOME is `engineHome`: when the host has applied the new ruleset and
 * the provider is proving a new login (the rollback armed, the probe held), kill
 * that engine's dynamic-provider process(es) with SIGKILL (and first the
 * host's nftsg shell, for "kill-provider-and-shell").
 */
export async function faultWhenArmed(
  lab: Lab,
  host: string,
  engineHome: string,
  kind: ProviderFault,
  opts: { table?: string; timeoutMs?: number } = {},
): Promise<ArmedFault> {
  const table = opts.table ?? "nftsg";
  await holdLockoutProbe(lab, host);
  let cancelled = false;
  const fault: ArmedFault = {
    injected: Promise.resolve(false),
    clear: async () => {
      cancelled = true;
      armedFaults.delete(fault);
      await clearHold(lab, host);
    },
  };
  (fault as { injected: Promise<boolean> }).injected = (async () => {
    const timeoutMs = opts.timeoutMs ?? 90_000;
    const token = await waitArmed(lab, host, table, timeoutMs, () => cancelled);
    // Armed comes before `nft -f`: wait for the lockout probe, which the
    // provider starts only once the host has applied and said so.
    const probing = token !== undefined && !cancelled && (await waitProbing(lab, host, timeoutMs, () => cancelled));
    const fire = token !== undefined && probing && !cancelled;
    if (fire) {
      if (kind === "kill-provider-and-shell") await killShell(lab, host, token);
      for (const pid of providerPids(engineHome)) process.kill(pid, "SIGKILL");
    }
    await fault.clear();
    return fire;
  })();
  armedFaults.add(fault);
  return fault;
}

/** Kills the host's nftsg shell named by an armed token ("<pid> <start time>"). */
export async function killShell(lab: Lab, host: string, token: string): Promise<void> {
  const pid = token.split(/\s+/)[0];
  if (/^\d+$/.test(pid)) await lab.exec(host, `kill -9 ${pid}`);
}

/**
 * Holds the next apply on `host` in its armed window: the first new SSH
 * connection passes, every later one (the lockout probe) is dropped. Remove
 * with clearHold.
 */
export async function holdLockoutProbe(lab: Lab, host: string, opts: { ipv4Only?: boolean } = {}): Promise<void> {
  await installHold(lab, host, opts.ipv4Only ?? false);
}

export async function clearHold(lab: Lab, host: string): Promise<void> {
  await lab.exec(host, `nft delete table ${FAULT_TABLE} 2>/dev/null; true`);
}

/**
 * Exactly one SSH connection passes: the first one whose SYN reaches the host
 * (its address and source port are recorded in a one-element set, so its own
 * retransmitted SYNs pass too); every later new connection (the lockout
 * probe) is dropped and counted. Connections, not packets: a rate limit would
 * also drop a retransmitted SYN of the provider's own connection on a busy
 * machine and leave it hanging in the handshake.
 */
async function installHold(lab: Lab, host: string, ipv4Only: boolean): Promise<void> {
  const script = [
    `table ${FAULT_TABLE} {}`,
    `delete table ${FAULT_TABLE}`,
    `table ${FAULT_TABLE} {`,
    `  counter held {}`,
    `  set first_v4 { type ipv4_addr . inet_service; size 1; flags dynamic; }`,
    `  set first_v6 { type ipv6_addr . inet_service; size 1; flags dynamic; }`,
    `  chain input {`,
    `    type filter hook input priority -20; policy accept;`,
    `    tcp dport 22 ct state != new accept`,
    // IPv4 only: a test's own IPv6 connection (a concurrent read) passes.
    ...(ipv4Only ? [`    meta nfproto ipv6 accept`] : []),
    `    ip saddr . tcp sport @first_v4 accept`,
    `    ip6 saddr . tcp sport @first_v6 accept`,
    // A full set makes "add" fail, which ends the rule: the next one drops.
    `    meta nfproto ipv4 tcp dport 22 add @first_v4 { ip saddr . tcp sport } accept`,
    `    meta nfproto ipv6 tcp dport 22 add @first_v6 { ip6 saddr . tcp sport } accept`,
    `    tcp dport 22 counter name held drop`,
    `  }`,
    `}`,
  ].join("\n");
  const r = await lab.exec(host, "nft -f -", { input: script });
  if (r.code !== 0) throw new Error(`installing the fault table on ${host}: ${r.stderr}`);
}

/** New SSH connections the hold has dropped so far (the lockout probe's attempts). */
export async function heldConnections(lab: Lab, host: string): Promise<number> {
  const r = await lab.exec(host, `nft list counter ${FAULT_TABLE} held 2>/dev/null`);
  const m = /packets (\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : 0;
}

/**
 * Waits until the host has dropped a lockout-probe connection: the provider
 * opens the probe only after it has read "applied", so from then on the host
 * is applied, armed and waiting for the confirmation, and the provider knows
 * it. Returns false if that does not happen within `timeoutMs`.
 */
export async function waitProbing(lab: Lab, host: string, timeoutMs = 30_000, cancelled: () => boolean = () => false): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !cancelled()) {
    if ((await heldConnections(lab, host)) > 0) return true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return false;
}

/** The dynamic-provider processes started by the engine whose PULUMI_HOME is `home`. */
export function providerPids(home: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (!cmdline.includes("dynamic-provider")) continue;
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (environ.includes(`PULUMI_HOME=${home}`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/**
 * Cuts every established SSH connection to `host` from the host's side (as a
 * network failure or a dying client would): SIGKILL to the sshd processes
 * serving them. Returns how many processes were killed.
 */
export async function cutSshConnections(lab: Lab, host: string): Promise<number> {
  const r = await lab.exec(host, `ss -Htnp state established '( sport = :22 )'`);
  const pids = [...new Set([...r.stdout.matchAll(/pid=(\d+)/g)].map((m) => m[1]))];
  if (pids.length > 0) await lab.exec(host, `kill -9 ${pids.join(" ")}`);
  return pids.length;
}

/** Polls until the host shows an armed rollback for `table` (true) or `timeoutMs` passes (false). */
export async function waitArmed(lab: Lab, host: string, table = "nftsg", timeoutMs = 30_000, cancelled: () => boolean = () => false): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !cancelled()) {
    const token = await lab.exec(host, `cat "${RUN_DIR}/${table}.armed" 2>/dev/null`);
    if (token.code === 0 && token.stdout.trim() !== "") return token.stdout.trim();
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return undefined;
}

/**
 * A provider whose connection is cut while it sends the apply program: the
 * same program `applyAtomically` sends (built by the shipped `applyProgram`),
 * over a real SSH session, but only its first `fraction` reaches the host
 * before the connection is destroyed. The host must treat the partial
 * program as a syntax error and change nothing.
 */
export async function sendPartialApplyProgram(
  conn: ConnectionDeclaration,
  table: string,
  script: string,
  opts: { facts: RulesetFacts; owner: string; rollbackSeconds: number },
  fraction: number,
): Promise<{ sent: number; total: number }> {
  const nonce = newNonce();
  const program = applyProgram({
    table, owner: opts.owner, script, rollbackSeconds: opts.rollbackSeconds, lockWaitSeconds: opts.rollbackSeconds + 60, nonce,
    failsafePort: opts.facts.failsafePort, localInterfaces: opts.facts.localInterfaces,
  });
  const session = await openSession(conn, {});
  try {
    const run = new RemoteRun(await session.exec(remoteCommand(conn.sudo)), nonce);
    const sent = Math.floor(program.length * Math.min(Math.max(fraction, 0), 0.999));
    await run.write(program.slice(0, sent));
    await sleep(300); // let the partial program reach the host before the cut
    return { sent, total: program.length };
  } finally {
    session.destroy();
  }
}

/**
 * A provider that confirms and goes away at once: the shipped apply program
 * over a real session; once the host says "applied", CONFIRM, the end of
 * input and the channel's close are sent together (SSH delivers them in that
 * order: the host's shell reads CONFIRM, then finds its output channel gone
 * while it confirms and persists). Returns the session, still open (close it
 * when the host is done), and the remote shell's pid.
 */
export async function confirmAndCloseChannel(
  conn: ConnectionDeclaration,
  table: string,
  script: string,
  opts: { facts: RulesetFacts; owner: string; rollbackSeconds: number; instance?: string },
): Promise<{ session: SshSession; pid: number }> {
  const nonce = newNonce();
  const program = applyProgram({
    table, owner: opts.owner, instance: opts.instance, script, rollbackSeconds: opts.rollbackSeconds, lockWaitSeconds: opts.rollbackSeconds + 60, nonce,
    failsafePort: opts.facts.failsafePort, localInterfaces: opts.facts.localInterfaces,
  });
  const session = await openSession(conn, {});
  const ch = await session.exec(remoteCommand(conn.sudo));
  const run = new RemoteRun(ch, nonce);
  await run.write(program);
  const applied = await run.waitForEvent("applied", (opts.rollbackSeconds + 60) * 1000);
  const pid = Number(parseRemoteOutput(run.stdout, nonce).values.pid);
  if (!applied || !Number.isInteger(pid)) {
    session.destroy();
    throw new Error(`the host never said "applied": ${run.stderr}`);
  }
  await run.write("CONFIRM\n");
  ch.end();
  ch.close();
  return { session, pid };
}
