// Lab helpers for the apply-path tests: reading a host's table and files
// without SSH (ip netns exec), waiting for states, counting logins.
// (Connections to lab hosts: useLab.ts.)
import { readdirSync, readFileSync } from "node:fs";
import type { ExecResult, Lab } from "../../lab";
import { TABLE } from "./applyScripts";
import { installSshCounter, removeSshCounter, sshConnectionCount } from "./sshCounter";

/** `nft list table inet nftsg` on the host ("" if absent). */
export async function liveTable(lab: Lab, host: string): Promise<string> {
  const r = await lab.exec(host, `nft list table inet ${TABLE} 2>/dev/null`);
  return r.code === 0 ? r.stdout : "";
}

export async function liveRuleset(lab: Lab, host: string): Promise<string> {
  const r = await lab.exec(host, "nft list ruleset");
  if (r.code !== 0) throw new Error(`nft list ruleset on ${host}: ${r.stderr}`);
  return r.stdout;
}

export async function hostFile(lab: Lab, host: string, path: string): Promise<string | undefined> {
  const r = await lab.exec(host, `cat ${path}`);
  return r.code === 0 ? r.stdout : undefined;
}

/**
 * Removes by hand the line of /etc/nftables.conf that loads the table's boot
 * file (boot loading on lab hosts, which run no systemd). The file is a bind
 * mount in a lab host: rewritten in place.
 */
export async function removeIncludeLine(lab: Lab, host: string, table = TABLE): Promise<ExecResult> {
  const include = `include "/etc/nftsg/${table}.nft" # nftsg`;
  return lab.exec(host, `grep -vxF '${include}' /etc/nftables.conf > /tmp/nftsg-conf.$$; cat /tmp/nftsg-conf.$$ > /etc/nftables.conf; rm -f /tmp/nftsg-conf.$$`);
}

export async function nftsgFiles(lab: Lab, host: string): Promise<string[]> {
  const r = await lab.exec(host, `ls -1 /etc/nftsg/ 2>/dev/null`);
  return r.stdout.split("\n").filter((l) => l.startsWith(`${TABLE}.`));
}

/** Polls `sample` until `done` holds or `ms` pass; returns every sample seen. */
export async function pollUntil<T>(sample: () => Promise<T>, done: (v: T) => boolean, ms: number, everyMs = 200): Promise<T[]> {
  const seen: T[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await sample();
    seen.push(v);
    if (done(v) || Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Number of successful logins in the host's sshd log (proves whether a command could have run). */
export function acceptedLogins(lab: Lab, host: string): number {
  for (const d of readdirSync(lab.dir)) {
    let cfg: string;
    try {
      cfg = readFileSync(`${lab.dir}/${d}/sshd_config`, "utf8");
    } catch {
      continue;
    }
    if (!cfg.startsWith(`# nftsg lab host ${host} `)) continue;
    const log = readFileSync(`${lab.dir}/${d}/sshd.log`, "utf8");
    return log.split("\n").filter((l) => l.includes("Accepted publickey")).length;
  }
  throw new Error(`no sshd log for ${host} under ${lab.dir}`);
}

/** Counts new TCP connections to the host's SSH port while `body` runs (sshCounter.ts). */
export async function countSshConnections(lab: Lab, host: string, body: () => Promise<void>): Promise<number> {
  await installSshCounter(lab, host);
  try {
    await body();
    return await sshConnectionCount(lab, host);
  } finally {
    await removeSshCounter(lab, host);
  }
}
