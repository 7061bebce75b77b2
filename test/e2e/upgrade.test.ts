// Upgrading from the last version that wrote Attachment format 1 (script in
// plain text, one rule line per peer address): that version is built from
// git and writes the state with a real `up`; then the current version must
// see no change at all (no replace, no update, no SSH connection), and the
// next real change must update exactly the affected hosts in format 2.
// (With the container paths on, which is the default, every script changes
// and the upgrade updates each Attachment once: an update, never a replace.)
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import type { FleetArgs } from "../../sdk/inputs";
import { repoRoot } from "../support/engine";
import { installSshCounter, sshConnectionCount } from "../support/sshCounter";
import { programStack } from "../support/stack";
import { useLab } from "../support/useLab";
import { webDbFleet } from "../support/webDb";

/** The last commit whose Attachments carry format 1. */
const FORMAT_1_COMMIT = "b7c5b8e";

const lab = useLab({ hosts: 3, hostNames: ["web-1", "web-2", "db-1"] });
let stack: Stack;
let prevRoot: string;
let distRoot: string;
let webMembers = ["web-1", "web-2"];

const nodeRequire = createRequire(path.join(repoRoot, "package.json"));

function declaration(): FleetArgs {
  // Scripts of the current version gain the container paths: a
  // fleet that turns them off compiles byte-identical to format 1's scripts,
  // which is what lets this test see "no change". The previous version does
  // not know the option.
  const current = distRoot === path.join(repoRoot, "dist");
  return {
    ...(current ? { containers: { publishedPorts: false, egress: false, interfaces: [] } } : {}),
    ...webDbFleet(lab, {
      hosts: ["web-1", "web-2", "db-1"],
      addresses: true,
      groups: Object.fromEntries(["web-1", "web-2"].map((n) => [n, webMembers.includes(n) ? ["web"] : []])),
    }),
  };
}

/** Builds the format-1 version from git into a temporary directory (its dist/). */
function buildPrevious(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nftsg-prev-"));
  const tar = execFileSync("git", ["-C", repoRoot, "archive", FORMAT_1_COMMIT], { maxBuffer: 256 * 1024 * 1024 });
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  fs.symlinkSync(fs.realpathSync(path.join(repoRoot, "node_modules")), path.join(dir, "node_modules"));
  execFileSync(process.execPath, [path.join(dir, "node_modules/typescript/bin/tsc"), "-p", path.join(dir, "tsconfig.json")], { stdio: "inherit" });
  return dir;
}

function attachmentOps(events: EngineEvent[]): string[] {
  const ops: string[] = [];
  for (const e of events) {
    const m = e.resourcePreEvent?.metadata;
    if (!m || !m.type.endsWith("nftsg:Attachment")) continue;
    ops.push(`${m.op}:${m.urn.split("::").pop()}`);
  }
  return ops.sort();
}

type StateResource = { type: string; urn: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
async function attachmentsInState(): Promise<Map<string, StateResource>> {
  const d = await stack.exportStack();
  const rs = (d.deployment.resources as StateResource[]).filter((r) => r.type.endsWith("nftsg:Attachment"));
  return new Map(rs.map((r) => [r.urn.split("::").pop()!, r]));
}

beforeAll(async () => {
  prevRoot = buildPrevious();
  distRoot = path.join(prevRoot, "dist");
  // The SDK of whichever version distRoot points at.
  const program = async () => {
    const sdk = nodeRequire(path.join(distRoot, "index.js")) as typeof import("../../index");
    new sdk.Fleet("lab", declaration());
  };
  ({ stack } = await programStack(program, { project: "nftsg-upgrade", stackName: "upgrade" }));
}, 300_000);

// No destroy at the end: the lab's teardown removes the hosts with everything on them (docs/architecture.md).
afterAll(() => {
  if (prevRoot) fs.rmSync(prevRoot, { recursive: true, force: true });
});

describe("upgrade from Attachment format 1", () => {
  it("the previous version writes format-1 state", async () => {
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    const db = (await attachmentsInState()).get("lab-db-1")!;
    expect(db.outputs?.format).toBeUndefined();
    expect(String(db.outputs?.script)).toContain("table inet nftsg");
    expect(String(db.outputs?.rules)).toContain(`${lab.host("web-2").ipv4} (host web-2 in sg web)`);
  });

  it("the current version previews no change: nothing replaced, nothing updated", async () => {
    distRoot = path.join(repoRoot, "dist");
    const events: EngineEvent[] = [];
    await stack.preview({ onEvent: (e) => events.push(e) });
    expect(attachmentOps(events)).toEqual(["same:lab-db-1", "same:lab-web-1", "same:lab-web-2"]);
  });

  it("and its up opens no SSH connection (only the SecurityGroup and FleetModel records are updated)", async () => {
    for (const h of lab.hosts) await installSshCounter(lab, h.name);
    const events: EngineEvent[] = [];
    const up = await stack.up({ onEvent: (e) => events.push(e) });
    expect(attachmentOps(events)).toEqual(["same:lab-db-1", "same:lab-web-1", "same:lab-web-2"]);
    // Records only: the groups gain their member addresses, the model its new declaration keys.
    const updatedTypes = events.flatMap((e) => (e.resourcePreEvent?.metadata.op === "update" ? [e.resourcePreEvent.metadata.type.split(":").pop()] : []));
    expect(new Set(updatedTypes)).toEqual(new Set(["SecurityGroup", "FleetModel"]));
    for (const h of lab.hosts) expect(await sshConnectionCount(lab, h.name)).toBe(0);
  });

  it("the next membership change updates exactly the affected hosts, in format 2", async () => {
    webMembers = ["web-1"];
    const events: EngineEvent[] = [];
    const up = await stack.up({ onEvent: (e) => events.push(e) });
    expect(up.summary.result).toBe("succeeded");
    expect(attachmentOps(events)).toEqual(["same:lab-web-1", "update:lab-db-1", "update:lab-web-2"]);
    const db = (await attachmentsInState()).get("lab-db-1")!;
    expect(db.inputs?.format).toBe(2);
    expect(db.outputs?.scriptBrotli).toBeUndefined();
    expect(db.outputs?.script).toBeUndefined();
    expect(String(db.outputs?.rules)).toMatch(/peer sg web: 1 member, 2 addresses/);
    const live = await lab.exec("db-1", "nft list table inet nftsg");
    expect(live.stdout).toContain(lab.host("web-1").ipv4);
    expect(live.stdout).not.toContain(lab.host("web-2").ipv4);
  });

  it("refresh finds no drift in format-2 state; a flushed table still shows as drift", async () => {
    const clean = await stack.refresh();
    expect(clean.summary.resourceChanges?.update ?? 0).toBe(0);
    await lab.exec("db-1", "nft delete table inet nftsg");
    const drifted = await stack.refresh();
    expect(drifted.summary.resourceChanges?.update).toBe(1);
    const up = await stack.up();
    expect(up.summary.resourceChanges?.update).toBe(1);
    expect((await lab.exec("db-1", "nft list table inet nftsg")).code).toBe(0);
  });
});
