// npm run bench:other-tables — what reading the host's other tables costs an
// apply or refresh: applyAtomically and readLive on one lab host with and
// without the ruleset read (one more command on the same SSH connection,
// concurrent with the confirmation / the read program), interleaved rounds.
// The host carries an nftsg table and a Docker-sized set of other chains.
import { compileFleet } from "../provider/compiler/compile";
import { applyAtomically, readLive } from "../provider/host/apply";
import { labUp } from "../lab";
import { connectionTo } from "../test/support/labConnection";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);

const OTHER = `table ip filter {
	chain DOCKER {
	}
	chain DOCKER-USER {
		return
	}
	chain FORWARD {
		type filter hook forward priority filter; policy drop;
		jump DOCKER-USER
		oifname "docker0" ct state related,established accept
		oifname "docker0" jump DOCKER
		iifname "docker0" accept
	}
}
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const lab = await labUp({ hosts: 1, hostNames: ["h1"] });
  try {
    const h = lab.host("h1");
    const { script, facts } = compileFleet({
      securityGroups: [{ name: "db", ingress: [{ protocol: "tcp", ports: 5432, cidrs: ["198.18.0.0/15"] }] }],
      hosts: [{ name: "h1", connection: { host: h.ipv4 }, securityGroups: ["db"] }],
    })["h1"]!;
    for (const s of [script, OTHER]) {
      const r = await lab.exec("h1", "nft -f -", { input: s });
      if (r.code !== 0) throw new Error(r.stderr);
    }
    const conn = connectionTo(lab, h.name, { hostKey: h.hostPublicKey });
    const ops = {
      readLive: (readRuleset: boolean) => readLive(conn, "nftsg", { readRuleset }),
      applyAtomically: (readRuleset: boolean) => applyAtomically(conn, "nftsg", script, { facts, owner: "bench/other-tables", readRuleset }),
    };
    for (const [name, op] of Object.entries(ops)) {
      const ms: Record<"without" | "with", number[]> = { without: [], with: [] };
      for (let i = 0; i < ROUNDS + 2; i++) {
        for (const mode of i % 2 ? (["with", "without"] as const) : (["without", "with"] as const)) {
          const t0 = process.hrtime.bigint();
          const r = await op(mode === "with");
          const t = Number(process.hrtime.bigint() - t0) / 1e6;
          if (mode === "with" && (!r.ruleset || "error" in r.ruleset)) throw new Error(`ruleset read failed: ${JSON.stringify(r.ruleset)}`);
          if (i >= 2) ms[mode].push(t); // two warm-up rounds
        }
      }
      const a = median(ms.without);
      const b = median(ms.with);
      console.log(`${name} on one lab host, ${ROUNDS} interleaved rounds, median:`);
      console.log(`  without the ruleset read: ${a.toFixed(1)} ms`);
      console.log(`  with it (nft -j list ruleset, ip -j addr/route): ${b.toFixed(1)} ms  (+${(b - a).toFixed(1)} ms, x${(b / a).toFixed(2)})`);
    }
  } finally {
    await lab.down();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
