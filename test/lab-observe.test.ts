// Observe before enforce on real hosts with real packets (docs/observe.md):
//   - a staged fleet lets every probe through, and what its hosts record as
//     would-be drops is exactly, side by side, what the evaluator denies
//     (seeded random fleets, both families, host pairs and an outside source,
//     tcp/udp/ping; every disagreement printed);
//   - a staged change on an enforced host changes no verdict, and records
//     exactly the flows it would newly deny (and those both deny);
//   - counters and recorded flows survive an apply through the real apply
//     protocol (seeded in the same transaction);
//   - a flood of 50,000 distinct spoofed sources (198.19.0.0/16, from a lab
//     namespace, raw sockets) stays within the bound; SSH, the read and the
//     report keep working; the memory it takes is measured.
// Traffic goes only to lab addresses, in namespaces this test creates; every
// sending loop is bounded in count and time.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileFleet } from "../provider/compiler/compile";
import type { FleetDeclaration } from "../provider/declaration/declaration";
import { applyAtomically, readLive } from "../provider/host/apply";
import { flowKey, flowsOf, observedFromRead } from "../provider/handlers/attachmentObserve";
import { parseObservations } from "../provider/nft/observations";
import { buildPlan, connectivityMatrix, describeProbe, formatMatrix, RUNNER_NAME, servicesFor, type Plan, type Probe } from "./support/matrix";
import { productMatrix } from "./support/productMatrix";
import { applyCompiled, MAIN_HOSTS, randomFleet } from "./support/semanticFleets";
import { connectionTo } from "./support/labConnection";
import { useLab } from "./support/useLab";
import type { FlowResult } from "../provider/evaluate";

const STAGED_SEEDS = [3, 17, 36, 101];
const PROPOSAL_SEEDS: [number, number][] = [
  [7, 8],
  [42, 2024],
];

const lab = useLab({ hosts: MAIN_HOSTS.length, hostNames: [...MAIN_HOSTS] });

/** What each host recorded, as "host|in|198.18.1.12|tcp/80" keys (drops or a staged change's). */
async function recorded(decl: FleetDeclaration, proposal: boolean): Promise<Set<string>> {
  const out = new Set<string>();
  for (const h of decl.hosts) {
    if (h.securityGroups.length === 0) continue;
    const r = await lab.exec(h.name, `nft list table inet ${decl.table ?? "nftsg"}`);
    expect(r.code, r.stderr).toBe(0);
    for (const f of flowsOf(parseObservations(r.stdout), proposal, Date.now())) out.add(`${h.name}|${flowKey(f)}`);
  }
  return out;
}

const traffic = (p: Probe) => (p.service.proto === "icmp" ? (p.family === 4 ? "icmp/8.0" : "icmpv6/128.0") : `${p.service.proto}/${p.service.port}`);

/** The records a probe leaves where a side denies it: the source's egress (peer: the destination), the destination's ingress (peer: the source). */
function sideKeys(p: Probe, f: FlowResult, reaches: boolean): { egress?: string; ingress?: string } {
  return {
    ...(p.from !== RUNNER_NAME && f.egress?.coverage === "deny" ? { egress: `${p.from}|out ${p.toAddress} ${traffic(p)}` } : {}),
    ...(reaches && f.ingress?.coverage === "deny" ? { ingress: `${p.to}|in ${p.fromAddress} ${traffic(p)}` } : {}),
  };
}

function compare(what: string, expected: Set<string>, actual: Set<string>, extra: string): void {
  const missing = [...expected].filter((k) => !actual.has(k)).sort();
  const unexpected = [...actual].filter((k) => !expected.has(k)).sort();
  expect(expected.size, `${what}: the evaluator predicts some records`).toBeGreaterThan(0);
  expect(
    { missing, unexpected },
    `${what}: ${missing.length} predicted but not recorded, ${unexpected.length} recorded but not predicted (of ${expected.size})\n` +
      `missing:\n${missing.join("\n")}\nunexpected:\n${unexpected.join("\n")}\n${extra}`,
  ).toEqual({ missing: [], unexpected: [] });
}

/** Probes until every one passes (staged drops nothing): at most `rounds` tries of the misses. */
async function probeAllPass(plan: Plan, rounds = 3): Promise<boolean[]> {
  const req = (p: Probe, t: number) => ({ from: p.from, to: p.toAddress, proto: p.service.proto, port: p.service.port, timeoutMs: t });
  const actual = await lab.probeMany(plan.probes.map((p) => req(p, plan.timeoutMs)));
  for (let r = 0; r < rounds; r++) {
    const misses = actual.map((ok, i) => (ok ? -1 : i)).filter((i) => i >= 0);
    if (misses.length === 0) break;
    const again = await lab.probeMany(misses.map((i) => req(plan.probes[i]!, plan.timeoutMs * 2)));
    misses.forEach((i, k) => (actual[i] = again[k] === true));
  }
  return actual;
}

describe("staged: nothing dropped, and the would-be drops are exactly what the evaluator denies", () => {
  it.each(STAGED_SEEDS)("random fleet, seed %i", async (seed) => {
    const decl: FleetDeclaration = { ...randomFleet(lab, seed), observe: { mode: "staged" } };
    await applyCompiled(lab, decl, compileFleet(decl));
    const plan = buildPlan(lab, { services: servicesFor(decl, 4) });
    // Listeners and fresh conntrack state, then every probe must pass.
    const matrix = await connectivityMatrix(lab, decl, plan);
    const actual = matrix.actual.every((a) => a) ? matrix.actual : await probeAllPass(plan);
    const blocked = plan.probes.filter((_, i) => !actual[i]).map(describeProbe);
    expect(blocked, `staged dropped ${blocked.length} probes:\n${blocked.join("\n")}\n${formatMatrix(plan, actual)}`).toEqual([]);
    const product = productMatrix(decl, plan);
    expect(product.some((f) => f.coverage === "deny"), "the fleet denies something (or staging proves nothing)").toBe(true);
    const expected = new Set<string>();
    plan.probes.forEach((p, i) => {
      const k = sideKeys(p, product[i]!, true);
      if (k.egress) expected.add(k.egress);
      if (k.ingress) expected.add(k.ingress);
    });
    compare(`seed ${seed}`, expected, await recorded(decl, false), JSON.stringify(decl));
  }, 300_000);
});

describe("a staged change on an enforced host", () => {
  it.each(PROPOSAL_SEEDS)("fleet seed %i, proposal seed %i: verdicts unchanged; newly denied and both-deny flows recorded exactly", async (seed, proposalSeed) => {
    const enforced = randomFleet(lab, seed);
    const other = randomFleet(lab, proposalSeed);
    const proposal = { securityGroups: other.securityGroups, hosts: other.hosts.map((h) => ({ name: h.name, securityGroups: h.securityGroups })) };
    const decl: FleetDeclaration = { ...enforced, observe: { mode: "enforce", proposal } };
    const proposedDecl: FleetDeclaration = { ...enforced, securityGroups: other.securityGroups, hosts: enforced.hosts.map((h) => ({ ...h, securityGroups: other.hosts.find((o) => o.name === h.name)!.securityGroups })) };
    await applyCompiled(lab, decl, compileFleet(decl));
    const plan = buildPlan(lab, { services: servicesFor(enforced, 4) });
    const m = await connectivityMatrix(lab, enforced, plan);
    // Enforcement is the enforced declaration's, as the evaluator says, probe by probe.
    const now = productMatrix(enforced, plan);
    const verdictDiffs = plan.probes.flatMap((p, i) => ((now[i]!.coverage === "allow") === m.actual[i] ? [] : [`${describeProbe(p)}: evaluator ${now[i]!.coverage}, packet ${m.actual[i] ? "accepted" : "dropped"}`]));
    expect(verdictDiffs, `${verdictDiffs.join("\n")}\n${formatMatrix(plan, m.actual, now.map((f) => f.coverage === "allow"))}`).toEqual([]);
    const proposed = productMatrix(proposedDecl, plan);
    const tableOf = (name: string) => enforced.hosts.find((h) => h.name === name)!.securityGroups.length > 0;
    const expectedProposal = new Set<string>();
    const expectedDrops = new Set<string>();
    plan.probes.forEach((p, i) => {
      const egressDrops = p.from !== RUNNER_NAME && now[i]!.egress?.coverage === "deny";
      const e = sideKeys(p, now[i]!, !egressDrops);
      if (e.egress) expectedDrops.add(e.egress);
      if (e.ingress) expectedDrops.add(e.ingress);
      // The staged change is evaluated where the enforced ruleset is (hosts with a table), before the enforced rules.
      const s = sideKeys(p, proposed[i]!, !egressDrops);
      if (s.egress && tableOf(p.from)) expectedProposal.add(s.egress);
      if (s.ingress && tableOf(p.to)) expectedProposal.add(s.ingress);
    });
    const gotDrops = await recorded(decl, false);
    const gotProposal = await recorded(decl, true);
    compare("enforced drops", expectedDrops, gotDrops, JSON.stringify(decl));
    compare("staged change's denials", expectedProposal, gotProposal, JSON.stringify(decl));
    const newly = [...gotProposal].filter((k) => !gotDrops.has(k));
    console.log(`seeds ${seed}/${proposalSeed}: ${plan.probes.length} probes, ${gotDrops.size} dropped flows, the staged change would deny ${gotProposal.size} (${newly.length} newly, ${gotProposal.size - newly.length} denied by both)`);
    expect(newly.length).toBeGreaterThan(0);
  }, 300_000);
});

describe("counters and recorded flows survive an apply (the real apply protocol)", () => {
  it("a changed rule elsewhere keeps every count; a new rule starts at zero", async () => {
    const host = "db";
    const conn = connectionTo(lab, host);
    const fleetWith = (extraPort?: number): FleetDeclaration => ({
      observe: { mode: "staged" },
      securityGroups: [
        {
          name: "db",
          ingress: [
            { protocol: "udp", ports: 5353, cidrs: [`${lab.runnerIpv4}/32`], description: "mdns from the runner" },
            ...(extraPort ? [{ protocol: "tcp" as const, ports: extraPort, cidrs: ["198.18.0.0/15"], description: "new" }] : []),
          ],
        },
      ],
      hosts: [{ name: host, connection: { host: conn.host }, securityGroups: ["db"] }],
    });
    const owner = "org/lab-observe/test/host=db";
    const apply = (d: FleetDeclaration) => {
      const r = compileFleet(d, { owner })[host]!;
      return applyAtomically(conn, "nftsg", r.script, { facts: r.facts, owner, expectedHostKey: lab.host(host).hostPublicKey });
    };
    await lab.exec(host, "nft delete table inet nftsg 2>/dev/null; true");
    await apply(fleetWith());
    await lab.listen(host, "udp", [5353, 5355]);
    const N = 7;
    for (let i = 0; i < N; i++) expect(await lab.probe(RUNNER_NAME, lab.host(host).ipv4, { proto: "udp", port: 5353 })).toBe(true);
    // A would-be drop too (staged: it passes).
    expect(await lab.probe(RUNNER_NAME, lab.host(host).ipv4, { proto: "udp", port: 5355 })).toBe(true);
    const read = async () => {
      const live = await readLive(conn, "nftsg", { expectedHostKey: lab.host(host).hostPublicKey });
      return { live, obs: parseObservations(live.listing) };
    };
    const before = await read();
    const counter = Object.keys(before.obs.counters).find((c) => c.startsWith("r_db_in_"))!;
    expect(before.obs.counters[counter]!.packets).toBe(N);
    const since = before.obs.counters.counting_since!.packets;
    expect(since).toBeGreaterThan(1_600_000_000);
    const flows = flowsOf(before.obs, false, before.live.nowMs!);
    expect(flows.map(flowKey)).toEqual([`in ${lab.runnerIpv4} udp/5355`]);
    const result = await apply(fleetWith(8443));
    expect(result.warnings ?? []).toEqual([]);
    const after = await read();
    expect(after.obs.counters[counter]!.packets, "the count survives the apply").toBe(N);
    expect(after.obs.counters.counting_since!.packets, "and so does since when it counts").toBe(since);
    const added = Object.keys(after.obs.counters).filter((c) => c.startsWith("r_db_in_") && c !== counter);
    expect(added).toHaveLength(1);
    expect(after.obs.counters[added[0]!]!.packets).toBe(0);
    const kept = flowsOf(after.obs, false, after.live.nowMs!);
    expect(kept.map(flowKey)).toEqual(flows.map(flowKey));
    expect(kept[0]!.packets).toBe(flows[0]!.packets);
    // Recorded times are the host's: the flow was last seen before the second apply.
    expect(kept[0]!.lastMs).toBeLessThanOrEqual(result.appliedAtMs!);
    expect(Math.abs(kept[0]!.lastMs - flows[0]!.lastMs)).toBeLessThan(1500);
  }, 300_000);
});

/** Kernel memory (kB) that sets and counters live in: slab and per-CPU. Global, so other work on the machine blurs it. */
async function kernelMemoryKb(): Promise<number> {
  const text = readFileSync("/proc/meminfo", "utf8");
  return text.split("\n").filter((l) => /^(Slab|Percpu):/.test(l)).reduce((n, l) => n + (Number(/(\d+)/.exec(l)?.[1]) || 0), 0);
}

const FLOOD = 50_000;
const FLOOD_SCRIPT = String.raw`
import socket, struct, sys, time
dst, count, cap = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
d = socket.inet_aton(dst)
deadline = time.time() + cap
sent = 0
for i in range(count):
    if time.time() > deadline: break
    src = socket.inet_aton("198.19.%d.%d" % (i >> 8, i & 255))
    udp = struct.pack("!HHHH", 40000 + (i % 1000), 9, 8 + 4, 0) + b"ping"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17, 0, src, d)
    while True:
        try:
            s.sendto(ip + udp, (dst, 0)); break
        except BlockingIOError:
            time.sleep(0.001)
    sent += 1
    if sent % 500 == 0: time.sleep(0.002)
print(sent)
`;

describe("a flood of distinct spoofed sources against a staged host", () => {
  it(`${FLOOD} sources: the flow set stays within its bound, SSH, the read and the report keep working`, async () => {
    const target = "cache";
    const sender = "worker";
    const conn = connectionTo(lab, target);
    const decl: FleetDeclaration = {
      observe: { mode: "staged" },
      securityGroups: [{ name: "svc", ingress: [{ protocol: "tcp", ports: 443, cidrs: ["198.18.0.0/15"] }] }],
      hosts: [{ name: target, connection: { host: conn.host }, securityGroups: ["svc"] }],
    };
    const owner = "org/lab-observe/test/host=cache";
    const { script, facts } = compileFleet(decl, { owner })[target]!;
    await lab.exec(target, "nft delete table inet nftsg 2>/dev/null; true");
    await applyAtomically(conn, "nftsg", script, { facts, owner, expectedHostKey: lab.host(target).hostPublicKey });
    // The target accepts packets from sources it has no route to (no reverse-path filter in the lab).
    await lab.exec(target, "sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0; for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > $f; done");
    const memBefore = await kernelMemoryKb();
    const started = Date.now();
    const sent = await lab.exec(sender, `python3 -c '${FLOOD_SCRIPT.replace(/'/g, "'\\''")}' ${lab.host(target).ipv4} ${FLOOD} 60`, { timeoutMs: 90_000 });
    expect(sent.code, sent.stderr).toBe(0);
    const sentCount = Number(sent.stdout.trim());
    const floodMs = Date.now() - started;
    expect(sentCount).toBe(FLOOD);
    // SSH (a new login) still works.
    const ssh = await lab.ssh(target, "echo ok", { timeoutMs: 30_000 });
    expect(ssh.stdout.trim()).toBe("ok");
    // The read over SSH, and the Attachment's view of it.
    const t0 = Date.now();
    const live = await readLive(conn, "nftsg", { expectedHostKey: lab.host(target).hostPublicKey });
    const readMs = Date.now() - t0;
    const obs = parseObservations(live.listing);
    const memAfter = await kernelMemoryKb();
    const set = obs.sets.drops_in_v4!;
    const first = obs.sets.first_in_v4!;
    const recordedPackets = set.elements.reduce((n, e) => n + (e.packets ?? 0), 0);
    const unrecorded = obs.counters.unrecorded_in!.packets;
    const dropIn = obs.counters.drop_in!.packets;
    console.log(
      `flood: ${sentCount} packets from ${FLOOD} sources in ${floodMs} ms; recorded ${set.elements.length} flows (bound ${set.size}), ` +
        `${recordedPackets} packets in them, ${unrecorded} unrecorded, drop_in ${dropIn}; first-seen set ${first.elements.length}; ` +
        `read over SSH ${readMs} ms (${Math.round(live.listing.length / 1024)} KiB listing); kernel slab+percpu ${memBefore} -> ${memAfter} kB (${memAfter - memBefore} kB, machine-wide)`,
    );
    expect(set.size).toBe(4096);
    expect(set.elements.length).toBeLessThanOrEqual(set.size!);
    expect(set.elements.length).toBeGreaterThan(set.size! - 64);
    expect(first.elements.length).toBeLessThanOrEqual(first.size!);
    // Every packet that reached the end of the chain is either in a recorded flow or counted as unrecorded.
    expect(recordedPackets + unrecorded).toBe(dropIn);
    expect(unrecorded).toBeGreaterThan(0);
    expect(dropIn).toBeGreaterThan(FLOOD * 0.9);
    const observed = observedFromRead(target, live.listing, live.nowMs!, live.bootTimeS, { mode: "staged", policyHash: "x".repeat(64), policySince: new Date(started - 60_000).toISOString() });
    expect(observed.dropsTotal).toBe(set.elements.length);
    expect(observed.drops!.length).toBeLessThanOrEqual(200);
    expect(observed.unrecorded).toBe(unrecorded);
    expect(observed.cut?.unrecorded).toBe(unrecorded);
    // A legitimate connection still passes and is counted by its rule.
    await lab.listen(target, "tcp", [443]);
    expect(await lab.probe(sender, lab.host(target).ipv4, { proto: "tcp", port: 443 })).toBe(true);
  }, 300_000);
});
