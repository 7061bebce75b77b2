// One sshd per host, started inside the host's namespaces with
// `ip netns exec` so that SSH sessions land in that host's network namespace
// and see its private /etc/nftsg. Runs in the foreground (-D) as a detached
// child; the pid file, written once the listeners are bound, signals readiness.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { SSHD_BIN } from "./constants";
import { findPids, isAlive, kill, netnsInode } from "./processes";
import { childEnv, sleep } from "./sh";
import type { HostState } from "./state";

export const sshdPaths = (h: HostState) => ({
  config: `${h.dir}/sshd_config`,
  hostKey: `${h.dir}/ssh_host_ed25519_key`,
  pidFile: `${h.dir}/sshd.pid`,
  log: `${h.dir}/sshd.log`,
});

export function sshdConfig(h: HostState, authorizedKeysFile: string, opts: { runnerLoginRc?: boolean } = {}): string {
  const p = sshdPaths(h);
  return [
    `# nftsg lab host ${h.name} (netns ${h.ns})`,
    "Port 22",
    "AddressFamily any",
    "ListenAddress 0.0.0.0",
    "ListenAddress ::",
    `HostKey ${p.hostKey}`,
    `PidFile ${p.pidFile}`,
    `AuthorizedKeysFile ${authorizedKeysFile}`,
    "PermitRootLogin prohibit-password",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    // Lab files live under /run with root-friendly but non-strict modes.
    "StrictModes no",
    "UseDNS no",
    "PrintMotd no",
    "X11Forwarding no",
    // Tests open many connections at once; do not throttle them.
    "MaxStartups 200:30:400",
    "MaxSessions 100",
    "Subsystem sftp internal-sftp",
    // Lab hosts share the runner's /root, and Debian's bash sources
    // ~/.bashrc for every command sshd runs, so a development machine's rc
    // ran on each "host" at every SSH command (here `pyenv init`, twice:
    // about 15 processes per command, 60% of the processes a whole test run
    // started). A stock host's root .bashrc is all comments. bash skips it
    // when SHLVL is already set on entry, so sshd sets it.
    ...(opts.runnerLoginRc ? [] : ["SetEnv SHLVL=1"]),
    "",
  ].join("\n");
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function logTail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-8).join("\n");
  } catch {
    return "(no log)";
  }
}

export async function startSshd(h: HostState, timeoutMs = 10_000): Promise<void> {
  const p = sshdPaths(h);
  const running = readPid(p.pidFile);
  if (running !== undefined && isAlive(running)) return;
  rmSync(p.pidFile, { force: true });

  const child = spawn("ip", ["netns", "exec", h.ns, SSHD_BIN, "-D", "-f", p.config, "-E", p.log], {
    detached: true, // own process group: a Ctrl-C in the terminal does not hit it
    stdio: "ignore",
    env: childEnv(),
  });
  let exited: string | undefined;
  child.on("exit", (code, sig) => (exited = `exited with ${code ?? sig}`));
  child.on("error", (e) => (exited = String(e)));
  child.unref();

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = readPid(p.pidFile);
    if (pid !== undefined && isAlive(pid)) return;
    if (exited !== undefined || Date.now() > deadline) {
      throw new Error(`sshd for ${h.name} (${h.ns}) did not start: ${exited ?? "timeout"}\n${logTail(p.log)}`);
    }
    await sleep(existsSync(p.pidFile) ? 5 : 15);
  }
}

/** Stops the listener and every SSH session of the host (all sshd in its namespace). */
export async function stopSshd(h: HostState): Promise<void> {
  const p = sshdPaths(h);
  const ino = netnsInode(h.ns);
  const pids = ino === undefined ? [] : findPids({ nsInodes: new Set([ino]) }).filter(isSshd);
  const listener = readPid(p.pidFile);
  if (listener !== undefined && isAlive(listener) && isSshd(listener) && !pids.includes(listener)) pids.push(listener);
  await kill(pids);
  rmSync(p.pidFile, { force: true });
}

function isSshd(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "sshd";
  } catch {
    return false;
  }
}
