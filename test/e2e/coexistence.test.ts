// End to end, through the real Pulumi CLI: another table on a host drops a
// port that nftsg allows. The Attachment reports the other table's chain and
// the contradiction as outputs, `pulumi up` prints it as a warning, real
// packets confirm it (the other table wins), and `pulumi refresh` updates the
// report once the other table is gone. A container interface pattern that
// matches the uplink is refused on the host before anything changes.
import { beforeAll, describe, expect, it } from "vitest";
import { fleetStack, type FleetStack } from "../support/stack";
import { useLab } from "../support/useLab";
import { webDbFleet } from "../support/webDb";

const OTHER_TABLE = "table inet othertool {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\ttcp dport 5432 drop\n\t}\n}\n";
const WARNING = "nftsg: host db-1: inet othertool input drops tcp/5432, which nftsg allows (db: postgres from web)";

const lab = useLab({ hosts: 2, hostNames: ["db-1", "web-1"] });
let fs_: FleetStack;

/** web without rules, db accepting postgres from web. */
const declaration = () => webDbFleet(lab, { web: "none", hosts: ["db-1", "web-1"] });

/** The db-1 Attachment's outputs in the stack's state. */
async function dbOutputs(): Promise<{ otherFirewalls?: string[]; firewallWarnings?: string[] }> {
  const state = await fs_.stack.exportStack();
  const resources = (state.deployment as { resources: { type: string; urn: string; outputs?: Record<string, unknown> }[] }).resources;
  const r = resources.find((x) => x.type.endsWith("nftsg:Attachment") && x.urn.endsWith("db-1"));
  if (!r) throw new Error(`no Attachment for db-1 in ${resources.map((x) => x.urn).join(", ")}`);
  return r.outputs as { otherFirewalls?: string[]; firewallWarnings?: string[] };
}

beforeAll(async () => {
  await lab.listen("db-1", "tcp", [5432]);
  const r = await lab.exec("db-1", "nft -f -", { input: OTHER_TABLE });
  expect(r.code, r.stderr).toBe(0);
  fs_ = await fleetStack(declaration(), { project: "nftsg-coexistence" });
});


describe("another firewall on the host", () => {
  it("up warns that another table drops a port nftsg allows, and the Attachment reports it", async () => {
    const printed: string[] = [];
    const up = await fs_.stack.up({ onOutput: (s) => printed.push(s) });
    expect(up.summary.result).toBe("succeeded");
    const out = printed.join("");
    // An engine diagnostic (counted in the summary), not stray provider stderr.
    expect(out).toContain(`Diagnostics:\n  pulumi:pulumi:Stack (nftsg-coexistence-test):\n    warning: ${WARNING}`);
    expect(out).toMatch(/ created \([\d.]+m?s\) 1 warning\n/);
    const outputs = await dbOutputs();
    expect(outputs.otherFirewalls).toEqual(["inet othertool input: filter hook input priority filter (0) policy accept, 1 rule"]);
    expect(outputs.firewallWarnings?.[0]).toMatch(/^inet othertool input drops tcp\/5432, which nftsg allows \(db: postgres from web\): its rule in inet othertool input;/);
    // The warning is true: the other table's drop wins over our accept.
    expect(await lab.probe("web-1", lab.host("db-1").ipv4, { proto: "tcp", port: 5432, timeoutMs: 1000 })).toBe(false);
    // nftsg left the other table alone.
    expect((await lab.exec("db-1", "nft list table inet othertool")).stdout).toContain("tcp dport 5432 drop");
  });

  it("refresh reports the change once the other table is gone; nothing to warn about", async () => {
    await lab.exec("db-1", "nft delete table inet othertool");
    const printed: string[] = [];
    await fs_.stack.refresh({ onOutput: (s) => printed.push(s) });
    expect(printed.join("")).not.toContain("othertool");
    expect(await dbOutputs()).toMatchObject({ otherFirewalls: [], firewallWarnings: [] });
    expect(await lab.probe("web-1", lab.host("db-1").ipv4, { proto: "tcp", port: 5432, timeoutMs: 1000 })).toBe(true);
  });

  it("a container interface pattern that matches the host's uplink is refused on the host, before anything changes", async () => {
    // The lab hosts' uplink is nftsg0: declaring "nftsg*" a container bridge
    // would accept everything arriving there (docs/containers.md).
    const before = await lab.exec("db-1", "nft list table inet nftsg");
    expect(before.code, before.stderr).toBe(0);
    fs_.setArgs({ ...declaration(), containers: { interfaces: ["docker0", "nftsg*"] } });
    const error = await fs_.stack.up().then(() => "", (e: Error) => String(e.message));
    const ip = lab.host("db-1").ipv4.replace(/\./g, "\\.");
    expect(error).toMatch(new RegExp(`db-1 \\(${ip}\\): containers\\.interfaces: [^\\n]*\\n\\s*interface nftsg0 \\(matched by "nftsg\\*"\\) carries the SSH connection`));
    expect(error).toContain("nothing was changed");
    // The host keeps the ruleset it had.
    expect((await lab.exec("db-1", "nft list table inet nftsg")).stdout).toBe(before.stdout);
    fs_.setArgs(declaration());
  });
});
