// Lab helpers for the apply-path tests: connections to lab hosts, reading a
// host's table and files without SSH (ip netns exec), waiting for states.
import { readdirSync, readFileSync } from "node:fs";
import type { ConnectionDeclaration } from "../../provider/declaration/declaration";
import type { Lab } from "../../lab";
import { TABLE } from "./applyScripts";

export function connectionTo(lab: Lab, host: string, extra: Partial<ConnectionDeclaration> = {}): ConnectionDeclaration {
  return { host: lab.host(host).ipv4, user: "root", privateKey: lab.privateKey, ...extra };
}

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

const COUNTER_TABLE = "inet nftsgapplycount";

/** Counts new TCP connections to the host's SSH port, in a table of its own (never nftsg's). */
export async function countSshConnections(lab: Lab, host: string, body: () => Promise<void>): Promise<number> {
  const install = [
    `table ${COUNTER_TABLE} {}`,
    `delete table ${COUNTER_TABLE}`,
    `table ${COUNTER_TABLE} {`,
    "\tcounter ssh_new {}",
    "\tchain input {",
    "\t\ttype filter hook input priority -10; policy accept;",
    "\t\ttcp dport 22 ct state new counter name ssh_new",
    "\t}",
    "}",
    "",
  ].join("\n");
  const r = await lab.exec(host, "nft -f -", { input: install });
  if (r.code !== 0) throw new Error(`installing the SSH counter on ${host}: ${r.stderr}`);
  try {
    await body();
    const c = await lab.exec(host, `nft list counter ${COUNTER_TABLE} ssh_new`);
    const m = /packets (\d+)/.exec(c.stdout);
    if (!m) throw new Error(`reading the SSH counter on ${host}: ${c.stderr || c.stdout}`);
    return Number(m[1]);
  } finally {
    await lab.exec(host, `nft delete table ${COUNTER_TABLE}`);
  }
}
