// The host's whole ruleset as JSON, for the report of other firewalls
// (provider/otherFirewalls/analysis.ts): one more exec channel on the SSH
// connection that apply or read already opened. Read-only; the ruleset
// carries no secret of ours.
import type { HostTables, RulesetRead } from "../otherFirewalls/report";
import type { SshSession } from "./ssh";

export type { HostTables, RulesetRead } from "../otherFirewalls/report";

/** A ruleset larger than this (a kube-proxy host with huge sets) is not analysed. */
export const MAX_RULESET_BYTES = 32 * 1024 * 1024;
const TIMEOUT_MS = 30_000;

/** Separates the ruleset from the interface listing (neither contains it). */
export const SECTION_MARK = "@@nftsg-section@@";

// The ruleset, then (best effort) the interfaces with their addresses and the
// default routes: a container-interface pattern that matches an uplink makes
// everything arriving there "local", which the report must say loudly.
const COMMAND =
  `PATH=/usr/local/sbin:/usr/sbin:/sbin:$PATH LC_ALL=C; export PATH LC_ALL; nft -j list ruleset || exit 1; ` +
  `echo ${SECTION_MARK}; ip -j addr show 2>/dev/null; echo ${SECTION_MARK}; ip -j route show default 2>/dev/null; ip -j -6 route show default 2>/dev/null; true`;

export function splitSections(text: string): HostTables {
  const [json = "", addresses = "", routes = ""] = text.split(`\n${SECTION_MARK}\n`);
  return { json, addresses: addresses.trim(), routes: routes.trim() };
}

/** The ruleset and interfaces of the host; throws a short message on failure. */
export async function readHostTables(session: SshSession, sudo: boolean | undefined): Promise<HostTables> {
  return splitSections(await readOutput(session, sudo));
}

async function readOutput(session: SshSession, sudo: boolean | undefined): Promise<string> {
  const ch = await session.exec(sudo ? `sudo -n sh -c '${COMMAND}'` : `sh -c '${COMMAND}'`);
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let size = 0;
    let err = "";
    let settled = false;
    const finish = (e: Error | null, v?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(v!);
    };
    const timer = setTimeout(() => {
      ch.close();
      finish(new Error(`nft -j list ruleset did not finish within ${TIMEOUT_MS / 1000} s`));
    }, TIMEOUT_MS);
    timer.unref(); // a read abandoned with its connection must not hold the process
    ch.on("data", (d: Buffer) => {
      size += d.length;
      if (size > MAX_RULESET_BYTES) {
        ch.close();
        finish(new Error(`the host's ruleset is larger than ${MAX_RULESET_BYTES >> 20} MiB; not analysed`));
      } else out.push(d);
    });
    ch.stderr.on("data", (d: Buffer) => {
      if (err.length < 2000) err += d.toString("utf8");
    });
    ch.on("close", (code: number | null) => {
      if (code === 0) finish(null, Buffer.concat(out).toString("utf8"));
      else finish(new Error(`nft -j list ruleset failed (exit ${code ?? "?"}): ${err.trim().split("\n")[0] ?? ""}`));
    });
  });
}

export async function tryReadRuleset(session: SshSession, sudo: boolean | undefined): Promise<RulesetRead> {
  try {
    return await readHostTables(session, sudo);
  } catch (e) {
    return { error: (e as Error).message };
  }
}
