// examples/multistack as users type it: the packed package installed into
// copies of the platform and team projects, the real `pulumi` CLI run as a
// subprocess in each (with the Node.js language host), on lab hosts:
//   - two backends (each project's CLI has its own file backend): the team
//     reads the platform's outputs as JSON (`pulumi stack output --json`),
//     the platform reads the team's back (mutual references);
//   - a new bastion in the platform: the team changes nothing until it gets
//     the platform's new outputs, then exactly its app hosts update, the
//     remote group named;
//   - one backend: a second team stack reads the platform by StackReference;
//     a change of the platform's office list reads once on its AddressList.
// The first `up` is typed as the README says; the later ones skip their own
// preview (`--skip-preview`, as a CI job does after the pull request's
// preview): it would run the program and the provider once more (about half
// of an `up`'s CPU here) for a diff that `pulumi preview` tests check.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { useLab } from "../support/useLab";
import { projectCli, succeeded as ok, type ProjectCli } from "../support/cli";
import { copyExample, installPacked, packPackage } from "../support/packedProject";

const NAMES = ["bastion-1", "bastion-2", "mon-1", "app-1", "app-2", "app-3", "office"] as const;
let base: string;
let platform: ProjectCli;
let team: ProjectCli;
let teamByRef: ProjectCli;

/** Names of the resources a preview or update lists as updated, sorted. */
function updated(output: string): string[] {
  const names = new Set<string>();
  for (const m of output.matchAll(/nftsg:(\w+): \(update\)\s*\n(?:\s*\[id=[^\n]*\n)?\s*\[urn=[^\n]*::([^\]\n]+)\]/g)) names.add(`${m[1]}:${m[2]}`);
  return [...names].sort();
}

const host = (name: string, role?: string) => ({ name, address: lab.host(name).ipv4, address6: lab.host(name).ipv6, ...(role ? { role } : {}) });

async function configure(cli: ProjectCli, stack: string, hosts: unknown[]): Promise<void> {
  ok(await cli.pulumi(["stack", "init", stack]));
  ok(await cli.pulumi(["config", "set", "--path", "hosts", JSON.stringify(hosts)]));
  ok(await cli.pulumi(["config", "set", "--path", "managementCidrs[0]", `${lab.runnerIpv4}/32`]));
  ok(await cli.pulumi(["config", "set", "--path", "managementCidrs[1]", `${lab.runnerIpv6}/128`]));
  ok(await cli.pulumi(["config", "set", "--secret", "privateKey"], { input: lab.privateKey }));
}

const outputs = async (cli: ProjectCli) => ok(await cli.pulumi(["stack", "output", "--json"])).trim();
const reach = (from: string, to: string, port: number) => lab.probe(from, lab.host(to).ipv4, { proto: "tcp", port });

const lab = useLab({ hosts: NAMES.length, hostNames: [...NAMES] });

beforeAll(async () => {
  for (const h of ["app-1", "app-2", "app-3"]) await lab.listen(h, "tcp", [443, 9100]);
  await lab.listen("mon-1", "tcp", [9091]);
  base = fs.mkdtempSync(path.join(os.tmpdir(), "nftsg-multistack-"));
  const packed = await packPackage(base);
  for (const p of ["platform", "team"]) copyExample(`multistack/${p}`, path.join(base, p));
  await installPacked(path.join(base, "platform"), packed);
  // The team locks the same packages: the same tree, hard-linked.
  await installPacked(path.join(base, "team"), packed, { sameTreeAs: path.join(base, "platform") });
  // Each CLI has its own PULUMI_HOME and file backend: two backends.
  platform = projectCli(path.join(base, "platform"), "ms-platform");
  team = projectCli(path.join(base, "team"), "ms-team");
  // A second shell for the team project, logged in to the platform's backend.
  teamByRef = projectCli(path.join(base, "team"), "ms-team-ref");
}, 600_000);

afterAll(async () => {
  if (process.env.NFTSG_CLI_TRANSCRIPT) fs.writeFileSync(process.env.NFTSG_CLI_TRANSCRIPT, [platform, team, teamByRef].map((c) => c?.transcript() ?? "").join("\n"));
  for (const dir of [base, ...[platform, team, teamByRef].map((c) => c && path.dirname(c.stateDir))]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("examples/multistack through the pulumi CLI: two projects, two backends", () => {
  it("the platform: login, init, config, up; its outputs are the published groups and the office list", async () => {
    ok(await platform.pulumi(["login", `file://${platform.stateDir}`]));
    await configure(platform, "prod", [host("bastion-1", "bastion"), host("mon-1", "monitoring")]);
    ok(await platform.pulumi(["config", "set", "--path", "officeCidrs[0]", `${lab.host("office").ipv4}/32`]));
    ok(await platform.pulumi(["up", "--yes"]));
    const out = JSON.parse(await outputs(platform)) as { published: { groups: Record<string, { members: { name: string }[] }> }; officeCidrs: string[] };
    expect(Object.fromEntries(Object.entries(out.published.groups).map(([g, v]) => [g, v.members.map((m) => m.name)]))).toEqual({ bastion: ["bastion-1"], monitoring: ["mon-1"] });
    expect(out.officeCidrs).toEqual([`${lab.host("office").ipv4}/32`]);
    expect(await reach("office", "bastion-1", 22)).toBe(true);
  }, 900_000);

  it("the team without the platform's outputs fails at preview, naming the field and the fix", async () => {
    ok(await team.pulumi(["login", `file://${team.stateDir}`]));
    await configure(team, "prod", [host("app-1"), host("app-2")]);
    ok(await team.pulumi(["config", "set", "platformOutputs", JSON.stringify({ officeCidrs: [`${lab.host("office").ipv4}/32`] })]));
    const r = await team.pulumi(["preview"]);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/property remoteGroups\[0\]\.source[^\n]* has a problem: no published value \(got nothing\)/);
  }, 900_000);

  it("the team with the platform's outputs as JSON: preview shows each remote group once; up applies; packets agree", async () => {
    ok(await team.pulumi(["config", "set", "platformOutputs", await outputs(platform)]));
    const preview = ok(await team.pulumi(["preview", "--diff"]));
    const b1 = lab.host("bastion-1");
    expect(preview).toMatch(new RegExp(`bastion-1 ${b1.ipv4.replace(/\./g, "\\.")} ${b1.ipv6}`));
    expect(preview).toMatch(/source *: "group bastion of stack organization\/nftsg-platform\/prod \(Fleet platform\)"/);
    ok(await team.pulumi(["up", "--yes", "--skip-preview"]));
    const probes = await Promise.all([
      reach("bastion-1", "app-1", 22), reach("mon-1", "app-2", 9100), reach("office", "app-1", 443),
      reach("office", "app-1", 22), reach("mon-1", "app-1", 443), reach("bastion-2", "app-1", 22),
    ]);
    expect(probes).toEqual([true, true, true, false, false, false]);
  }, 900_000);

  it("mutual references: the platform reads the team's outputs; the team's app pushes to monitoring", async () => {
    expect(await reach("app-1", "mon-1", 9091)).toBe(false);
    ok(await platform.pulumi(["config", "set", "teamOutputs", await outputs(team)]));
    ok(await platform.pulumi(["up", "--yes", "--skip-preview"]));
    expect(await reach("app-1", "mon-1", 9091)).toBe(true);
    expect(await reach("office", "mon-1", 9091)).toBe(false);
  }, 900_000);

  it("a new bastion: nothing changes in the team until it has the platform's new outputs; then exactly its app hosts, the group named", async () => {
    ok(await platform.pulumi(["config", "set", "--path", "hosts", JSON.stringify([host("bastion-1", "bastion"), host("mon-1", "monitoring"), host("bastion-2", "bastion")])]));
    ok(await platform.pulumi(["up", "--yes", "--skip-preview"]));
    ok(await team.pulumi(["preview", "--diff", "--expect-no-changes"]));
    ok(await team.pulumi(["config", "set", "platformOutputs", await outputs(platform)]));
    const preview = ok(await team.pulumi(["preview", "--diff"]));
    expect(updated(preview)).toEqual(["Attachment:team-app-1", "Attachment:team-app-2", "FleetModel:team", "RemoteGroup:team-remote-platform-bastion"]);
    expect(preview).toMatch(/\+ *peer sg platform-bastion \(remote bastion of organization\/nftsg-platform\/prod\): 2 members, 4 addresses, sha256:[0-9a-f]{16}/);
    expect(preview).toMatch(new RegExp(`\\+ *bastion-2 ${lab.host("bastion-2").ipv4.replace(/\./g, "\\.")}`));
    ok(await team.pulumi(["up", "--yes", "--skip-preview"]));
    expect(await reach("bastion-2", "app-2", 22)).toBe(true);
  }, 900_000);
});

describe("examples/multistack through the pulumi CLI: a StackReference in one backend", () => {
  it("a team stack in the platform's backend reads it by StackReference", async () => {
    ok(await teamByRef.pulumi(["login", `file://${platform.stateDir}`]));
    await configure(teamByRef, "ref", [host("app-3")]);
    ok(await teamByRef.pulumi(["config", "set", "platformStack", "organization/nftsg-platform/prod"]));
    ok(await teamByRef.pulumi(["up", "--yes", "--skip-preview"]));
    expect(await Promise.all([reach("bastion-1", "app-3", 22), reach("bastion-2", "app-3", 22), reach("office", "app-3", 443)])).toEqual([true, true, true]);
  }, 900_000);

  it("the platform's office list changes: the team's preview shows it once on the AddressList, with the host it affects", async () => {
    // An address that is no host of either stack: a team-app host would fail the platform's
    // policy test "only the team's app pushes metrics", a bastion the team's "ssh only through the bastion".
    const office2Address = lab.host("office").ipv4.replace(/\.\d+$/, ".250");
    const office2 = `${office2Address}/32`;
    ok(await platform.pulumi(["config", "set", "--path", "officeCidrs[1]", office2]));
    ok(await teamByRef.pulumi(["preview", "--diff", "--expect-no-changes"])); // the platform has not run up
    ok(await platform.pulumi(["up", "--yes", "--skip-preview"]));
    const preview = ok(await teamByRef.pulumi(["preview", "--diff"]));
    expect(updated(preview)).toEqual(["AddressList:team-list-office", "Attachment:team-app-3", "FleetModel:team"]);
    expect(preview).toMatch(new RegExp(`^ *\\+ ${office2Address.replace(/\./g, "\\.")}$`, "m"));
    expect(preview).toMatch(/affects *: "1 host \(group app\): app-3"/);
    expect(preview).toMatch(/\+ *peer list office: 2 CIDRs, sha256:/);
    ok(await teamByRef.pulumi(["up", "--yes", "--skip-preview"]));
    // The new address is in app-3's office set; the office itself still reaches it.
    const set = await lab.exec("app-3", "nft list set inet nftsg list_office_v4");
    expect(set.stdout).toContain(office2Address);
    expect(await reach("office", "app-3", 443)).toBe(true);
  }, 900_000);
});
