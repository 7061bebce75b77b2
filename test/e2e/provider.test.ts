// End to end: the real Pulumi CLI, the real lab, real packets.
import { beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { Lab } from "../../lab";
import { webDbFleet, type WebDbHost } from "../../examples/web-db/program";
import type { FleetArgs } from "../../sdk/inputs";
import type { FleetDeclaration } from "../../provider/declaration/declaration";
import { fleetStack, type FleetStack } from "../support/stack";
import { readTree } from "../support/engine";
import { installSshCounter, sshConnectionCount } from "../support/sshCounter";
import { checkMatrix } from "../support/matrix";
import { useLab } from "../support/useLab";
import { webDbExampleHosts } from "../support/webDb";

const checkConnectivity = async (lab: Lab, decl: FleetDeclaration) => {
  const m = await checkMatrix(lab, decl);
  // A matrix with only accepts or only drops would prove nothing.
  expect(m.actual.some((x) => x)).toBe(true);
  expect(m.actual.some((x) => !x)).toBe(true);
};

const NAMES = ["bastion", "web-1", "web-2", "db-1", "db-2", "spare"];

const lab = useLab({ hosts: NAMES.length, hostNames: NAMES });
let fs_: FleetStack;
let hosts: WebDbHost[];
let rulesetsBefore: Record<string, string>;
let extraWeb: string[] = [];
let tweakDb = false;
/** Everything the CLI printed, searched for secrets at the end. */
const transcript: string[] = [];
const record = <T extends { stdout: string; stderr: string }>(r: T): T => (transcript.push(r.stdout, r.stderr), r);

function declaration(): FleetArgs {
  const args = webDbFleet({ hosts, privateKey: lab.privateKey, extraWeb, managementCidrs: [`${lab.runnerIpv4}/32`, `${lab.runnerIpv6}/128`] });
  if (tweakDb) {
    const db = args.securityGroups.find((g) => g.name === "db")!;
    db.ingress = [...(db.ingress ?? []), { protocol: "udp", ports: "5000-5010", securityGroups: ["web"], description: "metrics from web" }];
  }
  return args;
}

/** The SDK declaration with plain values, for the reference evaluator. */
function plain(args: FleetArgs): FleetDeclaration {
  return JSON.parse(JSON.stringify(args)) as FleetDeclaration;
}

async function liveRuleset(host: string): Promise<string> {
  const r = await lab.exec(host, "nft list ruleset");
  return r.stdout;
}

async function hasNftsgTable(host: string): Promise<boolean> {
  const r = await lab.exec(host, "nft list tables");
  return /table inet nftsg\b/.test(r.stdout);
}

function attachmentUpdates(events: EngineEvent[]): string[] {
  const names: string[] = [];
  for (const e of events) {
    const m = e.resourcePreEvent?.metadata;
    if (!m || !m.type.endsWith("nftsg:Attachment") || m.op === "same") continue;
    names.push(`${m.op}:${m.urn.split("::").pop()}`);
  }
  return names.sort();
}

beforeAll(async () => {
  hosts = webDbExampleHosts(lab);
  rulesetsBefore = {};
  for (const h of NAMES) rulesetsBefore[h] = await liveRuleset(h);
  fs_ = await fleetStack(declaration(), { project: "nftsg-e2e" });
});


describe("pulumi up end to end", () => {
  it("1. up on a 6-host fleet: the connectivity matrix equals the reference evaluator's", async () => {
    const up = record(await fs_.stack.up({ continueOnError: true }));
    expect(up.summary.result).toBe("succeeded");
    for (const h of NAMES.filter((n) => n !== "spare")) expect(await hasNftsgTable(h)).toBe(true);
    expect(await hasNftsgTable("spare")).toBe(false); // attached to no group
    await checkConnectivity(lab, plain(declaration()));
  });

  it("2. adding a host to a referenced group: preview lists exactly the affected hosts", async () => {
    extraWeb = ["spare"];
    fs_.setArgs(declaration());
    const events: EngineEvent[] = [];
    const preview = record(await fs_.stack.preview({ diff: true, onEvent: (e) => events.push(e) }));
    expect(attachmentUpdates(events)).toEqual(["update:lab-db-1", "update:lab-db-2", "update:lab-spare"]);
    // A reviewer sees the new peer in the readable diff.
    expect(preview.stdout).toContain(lab.host("spare").ipv4);
    const up = record(await fs_.stack.up());
    expect(up.summary.result).toBe("succeeded");
    await checkConnectivity(lab, plain(declaration()));
  });

  it("3. changing a rule and detaching a host from every group", async () => {
    tweakDb = true;
    extraWeb = [];
    fs_.setArgs(declaration());
    const events: EngineEvent[] = [];
    const up = record(await fs_.stack.up({ onEvent: (e) => events.push(e) }));
    expect(up.summary.result).toBe("succeeded");
    // db hosts gain the metrics rule; spare leaves web: its table disappears.
    expect(attachmentUpdates(events)).toEqual(["update:lab-db-1", "update:lab-db-2", "update:lab-spare"]);
    expect(await hasNftsgTable("spare")).toBe(false);
    await checkConnectivity(lab, plain(declaration()));
  });

  it("4. a hand-flushed ruleset shows as drift on refresh and up repairs it", async () => {
    await lab.exec("web-1", "nft flush ruleset");
    expect(await hasNftsgTable("web-1")).toBe(false);
    const refresh = record(await fs_.stack.refresh());
    expect(refresh.summary.resourceChanges?.update).toBe(1);
    // The drift is recorded on web-1's Attachment, and only there.
    const state = await fs_.stack.exportStack();
    const drifted = (state.deployment.resources as { type: string; urn: string; outputs?: { script?: string } }[])
      .filter((r) => r.type.endsWith("nftsg:Attachment") && r.outputs?.script?.includes("differs from what nftsg applied"))
      .map((r) => r.urn.split("::").pop());
    expect(drifted).toEqual(["lab-web-1"]);
    const up = record(await fs_.stack.up());
    expect(up.summary.resourceChanges?.update).toBe(1);
    expect(await hasNftsgTable("web-1")).toBe(true);
    await checkConnectivity(lab, plain(declaration()));
  });

  it("5. up with no change makes zero SSH connections and reports no changes", async () => {
    for (const h of NAMES) await installSshCounter(lab, h);
    const up = record(await fs_.stack.up());
    const changes = Object.entries(up.summary.resourceChanges ?? {}).filter(([k]) => k !== "same");
    expect(changes).toEqual([]);
    for (const h of NAMES) expect(await sshConnectionCount(lab, h)).toBe(0);
  });

  it("6. one host unreachable: only its Attachment fails, clearly; after restart up converges", async () => {
    tweakDb = false;
    fs_.setArgs(declaration());
    await lab.stopSshd("db-2");
    let message = "";
    try {
      await fs_.stack.up({ continueOnError: true });
    } catch (err) {
      message = String((err as Error).message);
      transcript.push(message);
    }
    expect(message).toMatch(/db-2/);
    expect(message).toMatch(/ECONNREFUSED|unreachable|connect/i);
    expect(message).not.toContain(lab.privateKey.split("\n")[1]);
    // db-1 was applied: the metrics rule is gone there.
    const db1 = await lab.exec("db-1", "nft list table inet nftsg");
    expect(db1.stdout).not.toMatch(/5000-5010/);
    const db2 = await lab.exec("db-2", "nft list table inet nftsg");
    expect(db2.stdout).toMatch(/5000-5010/);
    await lab.startSshd("db-2");
    const up = record(await fs_.stack.up());
    expect(up.summary.result).toBe("succeeded");
    await checkConnectivity(lab, plain(declaration()));
  });

  it("7. destroy leaves every host as it was before the first up", async () => {
    const destroy = record(await fs_.stack.destroy());
    expect(destroy.summary.result).toBe("succeeded");
    for (const h of NAMES) {
      expect(await hasNftsgTable(h)).toBe(false);
      // The SSH counter table from test 5 is ours, not nftsg's: drop it before comparing.
      await lab.exec(h, "nft delete table inet nftsglabcount 2>/dev/null; true");
      expect(await liveRuleset(h)).toBe(rulesetsBefore[h]);
      const files = await lab.exec(h, "ls /etc/nftsg");
      expect(files.stdout.trim()).toBe("");
    }
  });

  it("keeps the private key out of state, logs and outputs", async () => {
    const keyBody = lab.privateKey.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
    const haystack = readTree(fs_.engine.stateDir) + readTree(fs_.engine.home) + transcript.join("\n");
    expect(haystack.length).toBeGreaterThan(1000);
    for (const line of lab.privateKey.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"))) {
      expect(haystack.includes(line)).toBe(false);
    }
    expect(haystack.includes(keyBody.slice(0, 40))).toBe(false);
    expect(fs.existsSync(fs_.engine.stateDir)).toBe(true);
  });
});
