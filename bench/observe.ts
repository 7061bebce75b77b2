// npm run bench:observe — what do counters and flow recording cost per new connection?
//
// In one lab, one client opens new TCP connections as fast as it can,
// round-robin over targets whose ruleset differs only in `observe`
// (docs/observe.md), several interleaved rounds:
//   open       no nftsg table at all (the floor)
//   plain      nftsg without observe: tcp/8080 allowed from the client (the rules of before)
//   enforce    observe { mode: "enforce" }: the same rule with its named counter,
//              drops counted and recorded
//   staged     observe { mode: "staged" }: the same, and what would be dropped is
//              accepted, counted and recorded
// Two paths are measured: port 8080, allowed by the rule (every observed host
// adds one named counter to the accepting rule), and port 9090, which nothing
// allows: on `staged` each new connection is a would-be drop (counted, and its
// flow updated in the recording set) and passes; on `open` it passes with no
// table. Dropped connections cannot be timed, so `enforce` and `plain` are
// measured on 8080 only.
// Traffic stays in the lab (198.18.k.0/24); loops are bounded by count and time.
import { compileFleet } from "../provider/compiler/compile";
import type { FleetDeclaration, HostObserveDeclaration } from "../provider/declaration/declaration";
import { DEFAULT_TABLE } from "../provider/vocabulary/defaults";
import { parseObservations } from "../provider/nft/observations";
import { flowKey, flowsOf } from "../provider/handlers/attachmentObserve";
import { labUp, type Lab } from "../lab";
import { median } from "./median";
import { installLoadgen, runLoad, type LoadOptions } from "./loadgen";

const ALLOWED = 8080;
const WOULD_DROP = 9090;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
const LOAD: LoadOptions = {
  count: Number(process.env.BENCH_CONNECTIONS ?? 1500),
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 16),
  capMs: 8000,
};
const HOSTS = ["open", "plain", "enforce", "staged"] as const;
type Host = (typeof HOSTS)[number];
/** A measured path: a host and a port. */
type Path = { host: Host; port: number; label: string };
const PATHS: Path[] = [
  { host: "open", port: ALLOWED, label: "open     :8080" },
  { host: "plain", port: ALLOWED, label: "plain    :8080 (allowed)" },
  { host: "enforce", port: ALLOWED, label: "enforce  :8080 (allowed, counted)" },
  { host: "staged", port: ALLOWED, label: "staged   :8080 (allowed, counted)" },
  { host: "open", port: WOULD_DROP, label: "open     :9090" },
  { host: "staged", port: WOULD_DROP, label: "staged   :9090 (would-be drop: counted, recorded, passes)" },
];

function fleet(lab: Lab): FleetDeclaration {
  const client = lab.host("client").ipv4;
  const host = (name: Host, observe?: HostObserveDeclaration) => ({
    name, connection: { host: lab.host(name).ipv4 }, securityGroups: ["app"], ...(observe ? { observe } : {}),
  });
  return {
    securityGroups: [{ name: "app", ingress: [{ protocol: "tcp", ports: ALLOWED, cidrs: [`${client}/32`], description: "load from the client" }] }],
    hosts: [host("plain"), host("enforce", { mode: "enforce" }), host("staged", { mode: "staged" })],
  };
}

async function main(): Promise<void> {
  const lab = await labUp({ hosts: 5, hostNames: ["client", ...HOSTS] });
  try {
    const compiled = compileFleet(fleet(lab));
    for (const h of ["plain", "enforce", "staged"] as const) {
      const c = compiled[h];
      if (!c) throw new Error(`compileFleet produced nothing for ${h}`);
      const r = await lab.exec(h, "nft -f /dev/stdin", { input: c.script, timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`nft -f on ${h}: ${r.stderr.trim().slice(0, 500)}`);
      console.log(`${h}: script ${c.script.length} bytes`);
    }
    await Promise.all(HOSTS.map((h) => lab.listen(h, "tcp", [ALLOWED, WOULD_DROP])));
    const script = installLoadgen(lab);
    for (const p of PATHS) await runLoad(lab, script, "client", lab.host(p.host).ipv4, p.port, { ...LOAD, count: 300 });

    const rates = PATHS.map(() => [] as number[]);
    let failures = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round, so drift on a shared machine hits every path alike.
      for (let k = 0; k < PATHS.length; k++) {
        const i = (k + round) % PATHS.length;
        const p = PATHS[i]!;
        const r = await runLoad(lab, script, "client", lab.host(p.host).ipv4, p.port, LOAD);
        if (r.failed > r.ok / 100 || r.ok === 0) throw new Error(`${p.label}: ${r.failed} failed connections (${JSON.stringify(r.errors)}), ${r.ok} ok`);
        rates[i]!.push(r.rate);
        failures += r.failed;
      }
    }
    if (failures > 0) console.log(`(${failures} connections timed out across all runs: a busy machine)`);
    console.log(`\nnew TCP connections/s, client -> target (${LOAD.count} connections x ${ROUNDS} rounds, ${LOAD.concurrency} in flight, median):`);
    PATHS.forEach((p, i) => console.log(`  ${p.label.padEnd(58)} ${median(rates[i]!).toFixed(0).padStart(7)} conn/s   [${rates[i]!.map((x) => x.toFixed(0)).join(" ")}]`));
    // Time per connection relative to a baseline, per round (the two ran in the same round), then the median.
    const cost = (a: number, b: number): number => median(rates[b]!.map((r, k) => r / rates[a]![k]!));
    console.log(`\ntime per new connection relative to the baseline (median of per-round ratios; 1.00 = no cost):`);
    console.log(`  enforce (counters)        vs plain: ${cost(2, 1).toFixed(3)}`);
    console.log(`  staged  (counters)        vs plain: ${cost(3, 1).toFixed(3)}`);
    console.log(`  plain   (nftsg rules)     vs open:  ${cost(1, 0).toFixed(3)}`);
    console.log(`  staged would-be drop path vs open:  ${cost(5, 4).toFixed(3)}`);
    // What the staged host recorded: the one would-be drop flow, with every connection's first packet counted.
    const listing = await lab.exec("staged", `nft list table inet ${DEFAULT_TABLE}`);
    const flows = flowsOf(parseObservations(listing.stdout), false, Date.now());
    console.log(`\nrecorded on the staged host: ${flows.map((f) => `${flowKey(f)} ${f.packets}p`).join(", ") || "NOTHING"}`);
  } finally {
    await lab.down();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
