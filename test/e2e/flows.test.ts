// Flow-level preview through the real Pulumi CLI, on the web-db
// example program (the repository's Pulumi.yaml) over lab hosts:
//   - `pulumi preview --diff` shows, in the Attachments' `flows` input, the
//     flow a new web member gains on the db host;
//   - `pulumi preview --json | nftsg flows -` turns the same preview into the
//     Markdown summary for a pull request: exactly the new flows, on exactly
//     the hosts whose flows change.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineEnv, repoRoot, type EngineEnv } from "../support/engine";
import { useLab } from "../support/useLab";
import { webDbExampleHosts } from "../support/webDb";

const run = promisify(execFile);
const STACK = "flows";
const lab = useLab({ hosts: 4, hostNames: ["bastion", "web-1", "db-1", "spare"] });
let engine: EngineEnv;
let configFile: string;

async function pulumi(args: string[], input?: string): Promise<string> {
  const child = run(path.join(engine.pulumiRoot, "bin/pulumi"), [...args, "--stack", STACK, "--non-interactive"], {
    cwd: repoRoot,
    env: { ...process.env, ...engine.env },
    timeout: 300_000,
    maxBuffer: 64 << 20,
  });
  if (input !== undefined) child.child.stdin?.end(input);
  try {
    return (await child).stdout;
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    throw new Error(`pulumi ${args[0]} failed: ${err.message}\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
  }
}

const withConfig = (args: string[]) => [...args, "--config-file", configFile];

async function configure(extraWeb: string[]): Promise<void> {
  await pulumi(withConfig(["config", "set", "hosts", JSON.stringify(webDbExampleHosts(lab, { ipv6: false }))]));
  await pulumi(withConfig(["config", "set", "managementCidrs", JSON.stringify([`${lab.runnerIpv4}/32`])]));
  await pulumi(withConfig(["config", "set", "extraWeb", JSON.stringify(extraWeb)]));
}

beforeAll(async () => {
  engine = engineEnv("flows");
  configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "nftsg-flows-")), `Pulumi.${STACK}.yaml`);
  await pulumi(["stack", "init", "--no-select"]);
  await pulumi(withConfig(["config", "set", "--secret", "privateKey"]), lab.privateKey);
  await configure([]);
  await pulumi(withConfig(["up", "--yes", "--skip-preview"]));
}, 600_000);

afterAll(() => {
  // The stack goes with its engine directory (test/support/afterFile.ts), the hosts with the lab.
  if (configFile) fs.rmSync(path.dirname(configFile), { recursive: true, force: true });
});

describe("flow-level preview through the real CLI", () => {
  it("preview --diff shows the new flow on the db host's Attachment", async () => {
    await configure(["spare"]);
    const out = await pulumi(withConfig(["preview", "--diff"]));
    // The flows input is a multi-line string: the CLI shows it as a line diff.
    // Printed for the record (the README shows this part).
    console.log(out.split("\n").filter((l) => /Attachment|flows|from spare/.test(l)).join("\n"));
    const added = out.split("\n").filter((l) => /^\s*\+\s.*tcp\/5432 from spare \(sg web\)/.test(l));
    expect(added.length, out).toBe(1);
    expect(out).toMatch(/nftsg:Attachment: \(update\)[\s\S]*web-db-db-1/);
  });

  it("preview --json | nftsg flows: the Markdown summary", async () => {
    await configure(["spare"]);
    const stdout = await flowsOf(await pulumi(withConfig(["preview", "--json"])));
    expect(stdout).toContain("### nftsg flow changes: web-db\n");
    expect(stdout).toContain("**db-1**\n```diff\n+ tcp/5432 from spare (sg web) — db: postgres from web\n```");
    // spare joins web (and gains its table); web-1 does not change.
    expect(stdout).toContain("**spare**");
    expect(stdout).not.toContain("**web-1**");
  });

  it("a preview without changes lists no flow", async () => {
    await configure([]);
    // preview --json lists no step for an unchanged FleetModel.
    expect(await flowsOf(await pulumi(withConfig(["preview", "--json"])))).toBe("### nftsg flow changes\n\nNo flow changes: no nftsg fleet declaration changes in this preview.\n\n");
  });
});

/** `nftsg flows -` with the preview document on stdin, as in CI. */
async function flowsOf(previewJson: string): Promise<string> {
  const child = run(process.execPath, [path.join(repoRoot, "dist/cli/nftsg.js"), "flows", "-"], { cwd: repoRoot });
  child.child.stdin?.end(previewJson);
  return (await child).stdout;
}
