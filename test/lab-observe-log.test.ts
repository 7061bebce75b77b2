// Drop logging on a real host (docs/observe.md, "Drop logging"): a staged
// host with `observe.log` writes would-be drops to the kernel log with the
// documented prefix, rate-limited: a burst of would-be drops logs a bounded
// number of lines while every packet is still counted and recorded.
// The lab's hosts are network namespaces: the kernel logs from them only with
// net.netfilter.nf_log_all_netns=1, set for this file and restored after.
// Traffic goes only to lab addresses; the probe loop is bounded.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileFleet } from "../provider/compiler/compile";
import { applyAtomically, readLive } from "../provider/host/apply";
import { flowKey, flowsOf } from "../provider/handlers/attachmentObserve";
import { parseObservations } from "../provider/nft/observations";
import type { FleetDeclaration } from "../provider/declaration/declaration";
import { connectionTo } from "./support/labConnection";
import { useLab } from "./support/useLab";

const SYSCTL = "/proc/sys/net/netfilter/nf_log_all_netns";
const TABLE = "nftsglog";
const PER_MINUTE = 5;
const PROBES = 12;
let sysctlBefore: string | undefined;

const lab = useLab({ hosts: 2, hostNames: ["db-1", "web-1"] });

beforeAll(() => {
  sysctlBefore = readFileSync(SYSCTL, "utf8").trim();
  writeFileSync(SYSCTL, "1");
});

afterAll(() => {
  if (sysctlBefore !== undefined) writeFileSync(SYSCTL, sysctlBefore);
});

/** Kernel log lines (the ring buffer, as `dmesg` prints it) containing `marker`. */
function kernelLog(marker: string): string[] {
  return execFileSync("dmesg", [], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }).split("\n").filter((l) => l.includes(marker));
}

describe("drop logging", () => {
  it("a staged host logs its would-be drops with the table, direction and verdict in the prefix, at most the rate allows", async () => {
    // A port no other test uses, unique per run: the kernel log is the machine's.
    const port = 20_000 + (process.pid % 10_000);
    const decl: FleetDeclaration = {
      table: TABLE,
      observe: { mode: "staged", log: { perMinute: PER_MINUTE } },
      securityGroups: [{ name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["web"], description: "postgres from web" }] }, { name: "web" }],
      hosts: [
        { name: "db-1", connection: { host: lab.host("db-1").ipv4 }, securityGroups: ["db"] },
        { name: "web-1", connection: { host: lab.host("web-1").ipv4 }, securityGroups: ["web"] },
      ],
    };
    const owner = "org/lab-observe-log/test/host=db-1";
    const r = compileFleet(decl, { owner })["db-1"]!;
    expect(r.script).toContain(`log prefix "nftsg ${TABLE} in would-drop "`);
    const conn = connectionTo(lab, "db-1");
    await applyAtomically(conn, TABLE, r.script, { facts: r.facts, owner, expectedHostKey: lab.host("db-1").hostPublicKey });
    await lab.listen("db-1", "tcp", [port]);

    // Staged: every connection passes, and each is a would-be drop.
    const results = await lab.probeMany(Array.from({ length: PROBES }, () => ({ from: "web-1", to: lab.host("db-1").ipv4, proto: "tcp" as const, port })));
    expect(results).toEqual(Array(PROBES).fill(true));

    const live = await readLive(conn, TABLE, { expectedHostKey: lab.host("db-1").hostPublicKey });
    const flows = flowsOf(parseObservations(live.listing), false, live.nowMs!);
    const flow = flows.find((f) => flowKey(f) === `in ${lab.host("web-1").ipv4} tcp/${port}`);
    expect(flow, flows.map(flowKey).join("\n")).toBeDefined();
    // Every packet of every connection went through the would-be drop (counted and recorded)...
    expect(flow!.packets).toBeGreaterThanOrEqual(PROBES);

    // ...but the log holds at most the limit's burst (5 packets by default) plus what the rate refilled meanwhile.
    const prefix = `nftsg ${TABLE} in would-drop `;
    const lines = kernelLog(`DPT=${port} `).filter((l) => l.includes(prefix) && l.includes(`SRC=${lab.host("web-1").ipv4} `));
    expect(lines.length, lines.join("\n")).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(5 + PER_MINUTE);
    expect(lines.length).toBeLessThan(flow!.packets);
    // The prefix is followed by the kernel's usual fields.
    expect(lines[0]).toMatch(new RegExp(`${prefix}IN=\\S+ OUT= .*SRC=${lab.host("web-1").ipv4.replace(/\./g, "\\.")} DST=${lab.host("db-1").ipv4.replace(/\./g, "\\.")} .*PROTO=TCP SPT=\\d+ DPT=${port} `));
  }, 300_000);
});
