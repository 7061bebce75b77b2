// npm run bench:dataplane — does the per-packet cost stay flat as peers grow?
//
// In one lab, one client opens new TCP connections as fast as it can to five
// targets, round-robin, several rounds:
//   open         no nftsg table at all (the floor)
//   nftsg-10     compiled by nftsg: tcp/8080 allowed from 10 CIDRs (a named interval set)
//   nftsg-10k    the same with 10,000 CIDRs
//   naive-10     hand-written chain with one rule per CIDR, 10 rules
//   naive-10k    the same with 10,000 rules
// The client's own /32 is always one of the allowed CIDRs, and in the naive
// chains it is the LAST rule (a new connection walks every rule before it).
// The other CIDRs live only inside the sets/rules: /31s in 198.19.0.0/16, which
// no lab uses (labs are 198.18.k.0/24), so no packet goes anywhere but the lab.
// Only each connection's first packet (the SYN) walks the ruleset; the rest
// match `ct state established` first. Target: nftsg 10k/10 slowdown <= 1.2.
import { compileFleet } from "../provider/compiler/compile";
import type { FleetDeclaration } from "../provider/declaration/declaration";
import { labUp, type Lab } from "../lab";
import { median } from "./median";
import { installLoadgen, runLoad, type LoadOptions } from "./loadgen";

const PORT = 8080;
const SMALL = 10;
const LARGE = 10_000;
// Many short interleaved rounds rather than a few long ones: on a shared
// machine the load drifts, and each round's 10-vs-10k pair runs back to back.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const LOAD: LoadOptions = {
  count: Number(process.env.BENCH_CONNECTIONS ?? 1500),
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 16),
  capMs: 8000,
};
const TARGETS = ["open", "nftsg-10", "nftsg-10k", "naive-10", "naive-10k"] as const;
type Target = (typeof TARGETS)[number];

/** n-1 decoy /31s (non-adjacent, so nothing merges) plus the client's /32. */
function allowedCidrs(client: string, n: number): string[] {
  const decoys = Array.from({ length: n - 1 }, (_, i) => `198.19.${Math.floor(i / 64)}.${(i % 64) * 4}/31`);
  return [...decoys, `${client}/32`];
}

function nftsgFleet(lab: Lab): FleetDeclaration {
  const client = lab.host("client").ipv4;
  const host = (name: Target, securityGroups: string[]) => ({ name, connection: { host: lab.host(name).ipv4 }, securityGroups });
  return {
    securityGroups: [
      { name: "peers-small", ingress: [{ protocol: "tcp", ports: PORT, cidrs: allowedCidrs(client, SMALL) }] },
      { name: "peers-large", ingress: [{ protocol: "tcp", ports: PORT, cidrs: allowedCidrs(client, LARGE) }] },
    ],
    hosts: [host("nftsg-10", ["peers-small"]), host("nftsg-10k", ["peers-large"])],
  };
}

/** What people write by hand: one rule per CIDR, the client's last. */
function naiveScript(client: string, n: number): string {
  const rules = allowedCidrs(client, n).map((c) => `\t\tip saddr ${c} tcp dport ${PORT} accept\n`);
  return (
    "table inet naive {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n" +
    "\t\tct state established,related accept\n\t\tiif \"lo\" accept\n" +
    "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept\n" +
    `\t\ttcp dport 22 accept\n${rules.join("")}\t}\n}\n`
  );
}

async function load(lab: Lab, host: string, script: string): Promise<void> {
  const r = await lab.exec(host, "nft -f /dev/stdin", { input: script, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`nft -f on ${host}: ${r.stderr.trim().slice(0, 500)}`);
}

async function main(): Promise<void> {
  const lab = await labUp({ hosts: 6, hostNames: ["client", ...TARGETS] });
  try {
    const client = lab.host("client").ipv4;
    const compiled = compileFleet(nftsgFleet(lab));
    const setElements = (s: string): number => (s.match(/198\.1[89]\.\d+\.\d+/g) ?? []).length;
    for (const t of ["nftsg-10", "nftsg-10k"] as const) {
      const c = compiled[t];
      if (!c) throw new Error(`compileFleet produced nothing for ${t}`);
      await load(lab, t, c.script);
      console.log(`${t}: compiled script ${c.script.length} bytes, ${setElements(c.script)} set elements`);
    }
    await load(lab, "naive-10", naiveScript(client, SMALL));
    await load(lab, "naive-10k", naiveScript(client, LARGE));
    await Promise.all(TARGETS.map((t) => lab.listen(t, "tcp", [PORT])));
    const script = installLoadgen(lab);

    // Warm-up (neighbour caches, JIT), then interleaved rounds so drift hits all targets alike.
    for (const t of TARGETS) await runLoad(lab, script, "client", lab.host(t).ipv4, PORT, { ...LOAD, count: 300 });
    let failures = 0;
    const rates = new Map<Target, number[]>(TARGETS.map((t) => [t, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Each 10/10k pair back to back, which one first alternating; the pairs rotate.
      const pairs: Target[][] = [["open"], ["nftsg-10", "nftsg-10k"], ["naive-10", "naive-10k"]];
      const order = pairs
        .map((_, i) => pairs[(i + round) % pairs.length] as Target[])
        .flatMap((p) => (round % 2 ? [...p].reverse() : p));
      for (const t of order) {
        const r = await runLoad(lab, script, "client", lab.host(t).ipv4, PORT, LOAD);
        // The client is always admitted: more than a stray failure means a wrong ruleset, not load.
        if (r.failed > r.ok / 100 || r.ok === 0) throw new Error(`${t}: ${r.failed} failed connections (${JSON.stringify(r.errors)}), ${r.ok} ok`);
        rates.get(t)?.push(r.rate);
        failures += r.failed;
      }
    }

    if (failures > 0) console.log(`(${failures} connections timed out across all runs: a busy machine)`);
    const med = (t: Target): number => median(rates.get(t) ?? []);
    console.log(
      `\nnew TCP connections/s, client -> target:${PORT} (${LOAD.count} connections x ${ROUNDS} rounds, ` +
        `${LOAD.concurrency} in flight, median; kernel per-SYN cost is what differs)`,
    );
    for (const t of TARGETS) {
      const all = (rates.get(t) ?? []).map((x) => x.toFixed(0)).join(" ");
      console.log(`  ${t.padEnd(10)} ${med(t).toFixed(0).padStart(7)} conn/s   [rounds: ${all}]`);
    }
    // Slowdown = time per connection with 10k peers / with 10 = rate(10) / rate(10k),
    // taken per round (the pair ran back to back) and then the median over rounds.
    const paired = (small: Target, large: Target): number =>
      median((rates.get(small) ?? []).map((r, i) => r / ((rates.get(large) ?? [])[i] as number)));
    const ours = paired("nftsg-10", "nftsg-10k");
    const naive = paired("naive-10", "naive-10k");
    console.log(`\nslowdown with 10,000 peers instead of 10 (time per new connection, median of per-round ratios):`);
    console.log(`  nftsg (named interval set): ${ours.toFixed(3)}  (target <= 1.2: ${ours <= 1.2 ? "met" : "NOT met"})`);
    console.log(`  naive (one rule per CIDR):  ${naive.toFixed(3)}`);
    const extraUs = (small: Target, large: Target): number => Math.round(1e6 / med(large) - 1e6 / med(small)) || 0;
    console.log(`  extra time per connection: nftsg ${extraUs("nftsg-10", "nftsg-10k")} us, naive ${extraUs("naive-10", "naive-10k")} us`);
    console.log(`  (ratio of medians: nftsg ${(med("nftsg-10") / med("nftsg-10k")).toFixed(3)}, naive ${(med("naive-10") / med("naive-10k")).toFixed(3)})`);
  } finally {
    await lab.down();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
