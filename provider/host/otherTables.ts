// The host's whole ruleset as JSON, for the report of other firewalls
// (provider/compiler/coexistence.ts): one more exec channel on the SSH
// connection that apply or read already opened. Read-only; the ruleset
// carries no secret of ours.
import type { SshSession } from "./ssh";

/** A ruleset larger than this (a kube-proxy host with huge sets) is not analysed. */
export const MAX_RULESET_BYTES = 32 * 1024 * 1024;
const TIMEOUT_MS = 30_000;

const COMMAND = "PATH=/usr/local/sbin:/usr/sbin:/sbin:$PATH LC_ALL=C nft -j list ruleset";

/** `nft -j list ruleset` on the host; throws a short message on failure. */
export async function readRulesetJson(session: SshSession, sudo: boolean | undefined): Promise<string> {
  const ch = await session.exec(sudo ? `sudo -n sh -c '${COMMAND}'` : COMMAND);
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

/** The ruleset, or why it could not be read (never fatal: the report is advice). */
export type RulesetRead = { json: string } | { error: string };

export async function tryReadRuleset(session: SshSession, sudo: boolean | undefined): Promise<RulesetRead> {
  try {
    return { json: await readRulesetJson(session, sudo) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}
