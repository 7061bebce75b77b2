// npm run bench:probe — what the lockout probe costs (issue 9 item 5).
//
// The probe proves, after an apply and before CONFIRM, that a NEW SSH login
// still works. Before issue 9 it read only sshd's banner (bench/bannerProbe.ts);
// now it completes the key exchange with the recorded host key and
// authenticates (provider/host/ssh.ts probeFreshConnection). Side by side in
// one run, rounds interleaved, on a small lab (3 hosts, one at a time):
//   banner probe     new TCP connection + "SSH-2.0-" line (the old probe)
//   login probe      new SSH connection: key exchange + publickey auth (the new probe)
//   apply w/o probe  the apply program and CONFIRM over one connection, no probe
//   applyAtomically  the whole apply as the Attachment runs it (with the login probe)
// Medians and p90 in ms; the ratio login/banner, and the probe's share of an apply.
//
//   BENCH_ROUNDS=15 (default)
import { applyAtomically } from "../provider/host/apply";
import { openSession } from "../provider/host/ssh";
import { labUp } from "../lab";
import { connectionTo } from "../test/support/labConnection";
import { allowScript, SCRIPT_FACTS } from "../test/support/applyScripts";
import { applyWithoutProbe } from "./applyMethods";
import { probeBanner } from "./bannerProbe";

const HOSTS = ["p1", "p2", "p3"];
const OWNER = "bench/probe/stack";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

const median = (xs: number[]) => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const lab = await labUp({ hosts: HOSTS.length, hostNames: HOSTS });
  const samples: Record<string, number[]> = { "banner probe": [], "login probe": [], "apply w/o probe": [], applyAtomically: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const h of HOSTS) {
        const script = allowScript(OWNER, 8000 + (round % 2));
        const session = await openSession(connectionTo(lab, h));
        try {
          samples["banner probe"]!.push(
            await timed(async () => {
              const r = await probeBanner(lab.host(h).ipv4, 22, 5_000);
              if (!r.ok) throw new Error(`${h}: banner probe failed: ${r.reason}`);
            }),
          );
          samples["login probe"]!.push(
            await timed(async () => {
              const r = await session.probeFreshConnection(5_000, { maxTries: 1 });
              if (!r.ok) throw new Error(`${h}: login probe failed: ${r.reason}`);
            }),
          );
        } finally {
          session.close();
        }
        const [noProbe] = await applyWithoutProbe(lab, [h], { [h]: script }, () => OWNER);
        samples["apply w/o probe"]!.push(noProbe!.ms);
        samples.applyAtomically!.push(
          await timed(() => applyAtomically(connectionTo(lab, h), "nftsg", allowScript(OWNER, 8002 + (round % 2)), { facts: SCRIPT_FACTS, owner: OWNER, rollbackSeconds: 30 })),
        );
      }
    }
  } finally {
    await lab.down();
  }
  const n = ROUNDS * HOSTS.length;
  console.log(`bench:probe — ${HOSTS.length} lab hosts x ${ROUNDS} rounds = ${n} samples each, one at a time`);
  for (const [name, xs] of Object.entries(samples)) {
    console.log(`${name.padEnd(18)} median ${median(xs).toFixed(1).padStart(7)} ms   p90 ${quantile(xs, 0.9).toFixed(1).padStart(7)} ms`);
  }
  const banner = median(samples["banner probe"]!);
  const login = median(samples["login probe"]!);
  const apply = median(samples.applyAtomically!);
  console.log(`login probe / banner probe: ${(login / banner).toFixed(1)}x; extra per apply ${(login - banner).toFixed(1)} ms ` +
    `(${(((login - banner) / apply) * 100).toFixed(0)}% of a median applyAtomically; ` +
    `applyAtomically - apply w/o probe = ${(apply - median(samples["apply w/o probe"]!)).toFixed(1)} ms)`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
