// npm run bench:containers — the per-packet cost of filtering published
// container ports (docs/containers.md).
//
// One lab: a client host and a host running real Docker (dockerd inside the
// lab host, test/support/dockerLab.ts) with a container publishing
// 8080 -> 80. The client opens new TCP connections to the published port as
// fast as it can, in interleaved rounds, under four rulesets on the Docker
// host:
//   docker-only       no nftsg table: Docker's own NAT and forward rules only
//   nftsg-unfiltered  nftsg's table with containers.publishedPorts: false (no forward chain)
//   nftsg             nftsg's table, published ports filtered (8080 allowed from 10 CIDRs)
//   nftsg-10k         the same with 10,000 CIDRs in the peer set
// Only each connection's first packet walks the forward chain's rules; the
// rest match `ct state established ... reply` / the DNAT jump first.
import { compileFleet } from "../provider/compiler/compile";
import type { FleetDeclaration } from "../provider/declaration/declaration";
import { labUp, type Lab } from "../lab";
import { dockerAvailable, startDocker } from "../test/support/dockerLab";
import { median } from "./median";
import { installLoadgen, runLoad, type LoadOptions } from "./loadgen";

const PUBLISHED = 8080;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const LOAD: LoadOptions = {
  count: Number(process.env.BENCH_CONNECTIONS ?? 1000),
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 16),
  capMs: 8000,
};
const CONFIGS = ["docker-only", "nftsg-unfiltered", "nftsg", "nftsg-10k"] as const;
type Config = (typeof CONFIGS)[number];

/** n-1 decoy /31s in 198.19.0.0/16 (only set elements: no packet goes there) plus the client's /32. */
function allowedCidrs(client: string, n: number): string[] {
  const decoys = Array.from({ length: n - 1 }, (_, i) => `198.19.${Math.floor(i / 64)}.${(i % 64) * 4}/31`);
  return [...decoys, `${client}/32`];
}

function fleet(lab: Lab, peers: number, publishedPorts: boolean): FleetDeclaration {
  return {
    containers: { publishedPorts },
    securityGroups: [{ name: "app", ingress: [{ protocol: "tcp", ports: PUBLISHED, cidrs: allowedCidrs(lab.host("client").ipv4, peers) }] }],
    hosts: [{ name: "docker-1", connection: { host: lab.host("docker-1").ipv4 }, securityGroups: ["app"] }],
  };
}

function scripts(lab: Lab): Record<Config, string> {
  const removal = "table inet nftsg {}\ndelete table inet nftsg\n";
  const compiled = (peers: number, published: boolean) => compileFleet(fleet(lab, peers, published))["docker-1"]!.script;
  return { "docker-only": removal, "nftsg-unfiltered": compiled(10, false), nftsg: compiled(10, true), "nftsg-10k": compiled(10_000, true) };
}

async function main(): Promise<void> {
  const missing = dockerAvailable();
  if (missing) throw new Error(missing);
  const lab = await labUp({ hosts: 2, hostNames: ["client", "docker-1"] });
  const docker = await startDocker(lab, "docker-1").catch(async (e: unknown) => {
    await lab.down();
    throw e;
  });
  try {
    const app = await docker.runAgentContainer("app", [`${PUBLISHED}:80/tcp`]);
    await app.request("listen", { proto: "tcp", ports: [80] }, 10_000);
    const byConfig = scripts(lab);
    const target = lab.host("docker-1").ipv4;
    const gen = installLoadgen(lab);
    const use = async (c: Config) => {
      const r = await lab.exec("docker-1", "nft -f /dev/stdin", { input: byConfig[c], timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`nft -f (${c}): ${r.stderr.trim().slice(0, 500)}`);
    };
    for (const c of CONFIGS) {
      await use(c);
      await runLoad(lab, gen, "client", target, PUBLISHED, { ...LOAD, count: 200 }); // warm-up
    }
    const rates = new Map<Config, number[]>(CONFIGS.map((c) => [c, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order so that drift on a shared machine hits every config alike.
      const order = CONFIGS.map((_, i) => CONFIGS[(i + round) % CONFIGS.length] as Config);
      for (const c of order) {
        await use(c);
        const r = await runLoad(lab, gen, "client", target, PUBLISHED, LOAD);
        if (r.failed > r.ok / 100 || r.ok === 0) throw new Error(`${c}: ${r.failed} failed connections (${JSON.stringify(r.errors)}), ${r.ok} ok`);
        rates.get(c)!.push(r.rate);
      }
    }
    const med = (c: Config) => median(rates.get(c)!);
    console.log(
      `\nnew TCP connections/s, client -> docker-1:${PUBLISHED} (published, DNAT to a container) ` +
        `(${LOAD.count} connections x ${ROUNDS} rounds, ${LOAD.concurrency} in flight, median)`,
    );
    for (const c of CONFIGS) {
      console.log(`  ${c.padEnd(17)} ${med(c).toFixed(0).padStart(7)} conn/s   [rounds: ${rates.get(c)!.map((x) => x.toFixed(0)).join(" ")}]`);
    }
    const paired = (base: Config, other: Config) => median(rates.get(base)!.map((r, i) => r / rates.get(other)![i]!));
    const extraUs = (base: Config, other: Config) => Math.round(1e6 / med(other) - 1e6 / med(base));
    console.log("\nslowdown (time per new connection, median of per-round ratios) and extra time per connection:");
    for (const [a, b] of [["docker-only", "nftsg"], ["nftsg-unfiltered", "nftsg"], ["nftsg", "nftsg-10k"]] as [Config, Config][]) {
      console.log(`  ${b} vs ${a}: ${paired(a, b).toFixed(3)}  (${extraUs(a, b)} us)`);
    }
  } finally {
    try {
      await docker.stop();
    } finally {
      await lab.down();
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
