// `nftsg observe` on a stack export built by the real handlers on fake hosts
// (docs/observe.md): what a promotion would cut per host with its digest,
// the declaration's verdict on each flow, the suggested rules, rules without
// hits and the busiest, the observation bound. The real CLI on a real stack
// is test/e2e/observe.test.ts.
import { describe, expect, it } from "vitest";
import { compileFleet } from "../../provider/compiler/compile";
import type { FleetDeclaration } from "../../provider/declaration/declaration";
import type { AttachmentEnv, AttachmentProps } from "../../provider/handlers/attachment";
import { ATTACHMENT_FORMAT, encodeScript } from "../../provider/handlers/scriptEncoding";
import { FakeHosts } from "../support/fakeHost";
import { requireDist } from "../support/dist";

const { attachmentHandlers } = requireDist<typeof import("../../provider/handlers/attachment")>("provider/handlers/attachment.js");
const { observeReport } = requireDist<typeof import("../../cli/observeCommand")>("cli/observeCommand.js");

const decl: FleetDeclaration = {
  observe: { mode: "staged", maxFlows: 64 },
  securityGroups: [
    { name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["web"], description: "postgres from web" }, { protocol: "tcp", ports: 6432, securityGroups: ["web"], description: "pgbouncer" }] },
    { name: "web", ingress: [{ protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0"], description: "https" }] },
    { name: "monitoring" },
  ],
  hosts: [
    { name: "db-1", connection: { host: "198.18.0.21" }, securityGroups: ["db"] },
    { name: "web-1", connection: { host: "198.18.0.11" }, securityGroups: ["web"], observe: { mode: "enforce" } },
    { name: "prom-1", connection: { host: "198.18.0.31" }, securityGroups: ["monitoring"] },
  ],
};

function inputs(host: string): AttachmentProps {
  const r = compileFleet(decl, { owners: { [host]: `o/p/s/host=${host}` }, lineStyle: "groups" })[host]!;
  const address = decl.hosts.find((h) => h.name === host)!.connection.host;
  return {
    fleet: "lab", hostName: host, address, port: 22, connection: { host: address, user: "root" }, table: "nftsg", owner: `o/p/s/host=${host}`,
    takeover: false, rollbackSeconds: 30, format: ATTACHMENT_FORMAT, rules: r.lines.join("\n"), scriptBrotli: encodeScript(r.script), hash: r.hash,
    ...(r.observe ? { observe: r.observe } : {}),
  };
}

describe("nftsg observe", () => {
  it("reports cuts, verdicts, suggestions, rule hits and bounds from a stack export", async () => {
    const hosts = new FakeHosts();
    const env: AttachmentEnv = { host: () => hosts, warn: async () => {} };
    const handlers = attachmentHandlers(env);
    const resources: unknown[] = [{ type: "pulumi-nodejs:dynamic/nftsg:FleetModel", outputs: { fleet: "lab", declaration: JSON.stringify(decl) } }];
    for (const h of ["db-1", "web-1", "prom-1"]) {
      const m = hosts.add(decl.hosts.find((x) => x.name === h)!.connection.host, { name: h });
      const outs = (await handlers.create(inputs(h))).outs;
      if (h === "db-1") {
        m.record("nftsg", "drops_in_v4", "198.18.0.31 . tcp . 9100 counter packets 12 bytes 720 expires 7d");
        m.record("nftsg", "first_in_v4", "198.18.0.31 . tcp . 9100 expires 6d23h");
        m.record("nftsg", "drops_in_v4", "203.0.113.7 . udp . 161 counter packets 2 bytes 140 expires 7d");
        const hits = /counter (r_db_in_\w+) \{/.exec(m.tables.get("nftsg")!.listing)![1]!;
        m.count("nftsg", hits, 40, 4000);
        m.count("nftsg", "unrecorded_in", 3, 180);
      }
      if (h === "web-1") m.record("nftsg", "drops_in_v4", "198.18.5.5 . tcp . 23 counter packets 1 bytes 60 expires 7d");
      resources.push({ type: "pulumi-nodejs:dynamic/nftsg:Attachment", outputs: (await handlers.read("id", outs)).props });
    }
    const r = observeReport({ deployment: { resources } });
    expect(r.code).toBe(0);
    const out = r.out;
    if (process.env.SHOW_REPORT) console.log(out);
    // db-1: staged; what a promotion would cut, each flow with the declaration's verdict.
    expect(out).toMatch(/\*\*db-1\*\* \(staged since [^)]*\): 2 flows would be dropped; 3 packets could not be recorded \(flow set full\)\. Acknowledge: `"[0-9a-f]{12}"`/);
    expect(out).toContain("| in | 198.18.0.31 (prom-1) | tcp/9100 | 12 | 720 |");
    expect(out).toMatch(/\| in \| 203\.0\.113\.7 \| udp\/161 \| 2 \| 140 \| \? \| [^|]+ \| denied: no rule matches \|/);
    // prom-1: staged, nothing observed.
    expect(out).toMatch(/\*\*prom-1\*\* \(staged since [^)]*, observed \d+ min ago\): nothing would be cut\./);
    // Suggestions: group terms for the fleet host, the address outside.
    expect(out).toContain('{ protocol: "tcp", ports: 9100, securityGroups: ["monitoring"], description: "observed on db-1" },');
    expect(out).toContain('{ protocol: "udp", ports: 161, cidrs: ["203.0.113.7/32"], description: "observed on db-1" },');
    // The enforced host's drops are listed, not suggested.
    expect(out).toContain("| web-1 | in | 198.18.5.5 | tcp/23 | 1 | 60 |");
    expect(out).not.toMatch(/ports: 23,/);
    // Rules: pgbouncer has no hit on its member; postgres is the busiest.
    expect(out).toMatch(/- db: pgbouncer \(ingress tcp\/6432 from sg web\) — 1 host: db-1/);
    expect(out).toMatch(/\| db: postgres from web \(ingress tcp\/5432 from sg web\) \| 40 \| 4000 \| 1 \|/);
    // The bound.
    expect(out).toMatch(/\*\*db-1\*\*: 2 flows recorded; 3 packets of would-be drops not recorded/);
    expect(observeReport({ deployment: { resources } }, { fleet: "other" }).code).toBe(2);
  });
});
