// `pulumi` in a project directory, exactly as users type it: the packed
// package installed into a copy of examples/web-db, the real CLI run as a
// subprocess (with the Node.js language host), against lab hosts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { readTree, repoRoot } from "../support/engine";
import { installedExample, succeeded as ok, type ProjectCli } from "../support/cli";
import { useLab } from "../support/useLab";
import { webDbExampleHosts } from "../support/webDb";

const NAMES = ["bastion", "web-1", "db-1", "spare"];
const lab = useLab({ hosts: NAMES.length, hostNames: NAMES });
let remove: (() => void) | undefined;
let project: string;
let cli: ProjectCli;
let before: Record<string, string>;

async function rulesets(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of NAMES) out[h] = (await lab.exec(h, "nft list ruleset")).stdout;
  return out;
}

/** Names of the Attachments a preview or update lists as updated, sorted. */
function updatedAttachments(output: string): string[] {
  const names = new Set<string>();
  for (const m of output.matchAll(/nftsg:Attachment: \(update\)\s*\n(?:\s*\[id=[^\n]*\n)?\s*\[urn=[^\n]*::([^\]\n]+)\]/g)) names.add(m[1]);
  return [...names].sort();
}

/** The lines a diff prints for one resource: from its header to the next resource's. */
function section(output: string, name: string): string[] {
  const lines = output.split("\n");
  const at = lines.findIndex((l) => l.includes(`::${name}]`));
  if (at < 0) return [];
  const end = lines.findIndex((l, i) => i > at && (/^\s*[~+-]?\s*pulumi(-nodejs)?:/.test(l) || /--outputs:--/.test(l)));
  return lines.slice(at - 1, end < 0 ? undefined : end);
}

beforeAll(async () => {
  before = await rulesets();
  ({ project, cli, remove } = await installedExample("web-db"));
}, 300_000); // lab, npm pack and an offline npm ci on a shared machine

afterAll(async () => {
  // NFTSG_CLI_TRANSCRIPT=<file>: keep what the CLI printed (for notes and debugging).
  if (cli && process.env.NFTSG_CLI_TRANSCRIPT) fs.writeFileSync(process.env.NFTSG_CLI_TRANSCRIPT, cli.transcript());
  remove?.();
});

describe("pulumi CLI in a project directory (examples/web-db with the packed package)", () => {
  it("1. login, stack init, config (key as a secret), preview --diff names every host", async () => {
    ok(await cli.pulumi(["login", `file://${cli.stateDir}`]));
    ok(await cli.pulumi(["stack", "init", "dev"]));
    ok(await cli.pulumi(["config", "set", "--path", "hosts", JSON.stringify(webDbExampleHosts(lab))]));
    ok(await cli.pulumi(["config", "set", "--path", "managementCidrs[0]", `${lab.runnerIpv4}/32`]));
    ok(await cli.pulumi(["config", "set", "--path", "managementCidrs[1]", `${lab.runnerIpv6}/128`]));
    ok(await cli.pulumi(["config", "set", "--secret", "privateKey"], { input: lab.privateKey }));
    const preview = ok(await cli.pulumi(["preview", "--diff"]));
    for (const h of NAMES) expect(preview).toContain(`nftsg:Attachment::web-db-${h}`);
    expect(preview).toMatch(/to create/);
    for (const h of NAMES) expect(await lab.exec(h, "nft list ruleset")).toMatchObject({ stdout: before[h] });
  });

  it("2. up --yes applies every host; the providers run from the user's node_modules", async () => {
    ok(await cli.pulumi(["up", "--yes"]));
    expect((await lab.exec("db-1", "nft list table inet nftsg")).stdout).toMatch(/postgres from web/);
    // db accepts SSH only from the bastion group and the management network.
    expect(await lab.probe("web-1", lab.host("db-1").ipv4, { proto: "tcp", port: 22 })).toBe(false);
    const state = readTree(cli.stateDir);
    // Each __provider is a reference to the installed package's module
    // (sdk/providers.ts), resolved from the project's node_modules.
    expect(state).toContain(`require(\\"pulumi-nftsg/dynamic/attachment\\")`);
    expect(state).not.toContain(path.join(repoRoot, "dist"));
  });

  it("3. a membership change: preview --diff --expect-no-changes fails and names the changed hosts", async () => {
    ok(await cli.pulumi(["config", "set", "--path", "extraWeb[0]", "spare"]));
    const preview = await cli.pulumi(["preview", "--diff", "--expect-no-changes"]);
    expect(preview.code, preview.output).not.toBe(0);
    expect(preview.output).toMatch(/no changes were expected/);
    // db-1 allows postgres from web, which spare joins; web-1's firewall stays.
    expect(updatedAttachments(preview.output)).toEqual(["web-db-db-1", "web-db-spare"]);
    // The new member's address shows as an added line.
    const spare = lab.host("spare").ipv4.replace(/\./g, "\\.");
    expect(preview.output).toMatch(new RegExp(`^\\s*\\+ .*${spare}`, "m"));
    // Readable in a pull-request comment: db-1's diff shows the changed lines
    // with some context (about half of its ruleset's length here, for both
    // the rules and the script), not whole scripts.
    const db1 = section(preview.output, "web-db-db-1");
    const table = (await lab.exec("db-1", "nft list table inet nftsg")).stdout.split("\n").length;
    expect(db1.length).toBeGreaterThan(3);
    expect(db1.length, db1.join("\n")).toBeLessThan(table);
  });

  it("3b. preview --json lists the same hosts for a bot to read", async () => {
    const r = ok(await cli.pulumi(["preview", "--json"]));
    const steps = (JSON.parse(r) as { steps: { op: string; urn: string }[] }).steps;
    const updated = steps.filter((s) => s.op === "update" && s.urn.includes("nftsg:Attachment")).map((s) => s.urn.split("::").pop()).sort();
    expect(updated).toEqual(["web-db-db-1", "web-db-spare"]);
  });

  it("3c. the pull-request comment recipe names the changed hosts and keeps the diff", async () => {
    const r = await cli.run("bash", [path.join(repoRoot, "examples/pr-preview/preview-comment.sh"), "--expect-no-changes"]);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toMatch(/^### `pulumi preview` of stack `dev`: ~ \d+ to update, \d+ unchanged$/m);
    const listed = r.output.split("\n").filter((l) => l.startsWith("- `")).sort();
    expect(listed).toEqual(["- `web-db-db-1`: update", "- `web-db-spare`: update"]);
    expect(r.output).not.toContain("`web-db-web-1`");
    // The marker moved to the first column (Markdown diff highlighting), the address kept.
    expect(r.output).toMatch(new RegExp(`^\\+ .*${lab.host("spare").ipv4.replace(/\./g, "\\.")}`, "m"));
    expect(r.output).toMatch(/^```diff$[\s\S]*^```$\n<\/details>$/m);
  });

  it("4. up applies the change to exactly those hosts", async () => {
    // The change was just previewed three ways: the up skips its own preview, as a CI job after review does.
    const up = ok(await cli.pulumi(["up", "--yes", "--skip-preview"]));
    expect(up).toMatch(/Attachment web-db-db-1 updated/);
    expect(up).not.toMatch(/Attachment web-db-web-1 updated/);
    expect((await lab.exec("db-1", "nft list table inet nftsg")).stdout).toContain(lab.host("spare").ipv4);
  });

  it("5. refresh --yes after a hand edit shows the drift on that host only", async () => {
    await lab.exec("db-1", "nft delete table inet nftsg");
    const refresh = ok(await cli.pulumi(["refresh", "--yes"]));
    expect(refresh).toMatch(/Attachment web-db-db-1 updated/);
    expect(refresh).not.toMatch(/Attachment web-db-(web-1|spare) updated/);
  });

  it("6. destroy --yes leaves every host as it was", async () => {
    ok(await cli.pulumi(["destroy", "--yes"]));
    expect(await rulesets()).toEqual(before);
  });

  it("7. the private key appears nowhere in the state, the stack config or the CLI output", async () => {
    const keyLines = lab.privateKey.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"));
    expect(keyLines.length).toBeGreaterThan(0);
    const places = {
      state: readTree(cli.stateDir),
      stackConfig: fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8"),
      output: cli.transcript(),
    };
    for (const [where, text] of Object.entries(places)) {
      expect(text.length, where).toBeGreaterThan(0);
      for (const line of keyLines) expect(text.includes(line), `key line in ${where}`).toBe(false);
    }
    expect(places.stackConfig).toMatch(/privateKey:\s*\n\s*secure:/);
  });
});
