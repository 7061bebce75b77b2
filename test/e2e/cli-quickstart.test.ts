// examples/quickstart exactly as its README says, against two lab hosts:
// the packed package installed, the CLI run as a subprocess.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installedExample, succeeded as ok, type ProjectCli } from "../support/cli";
import { useLab } from "../support/useLab";

const lab = useLab({ hosts: 2, hostNames: ["web", "db"] });
let remove: (() => void) | undefined;
let cli: ProjectCli;
let before: string[];

const rulesets = () => Promise.all(["web", "db"].map(async (h) => (await lab.exec(h, "nft list ruleset")).stdout));

beforeAll(async () => {
  before = await rulesets();
  ({ cli, remove } = await installedExample("quickstart", { typeCheck: true }));
  await lab.listen("web", "tcp", [80, 8080]);
  await lab.listen("db", "tcp", [5432]);
}, 300_000); // lab, npm pack and an offline npm ci on a shared machine

afterAll(async () => {
  remove?.();
});

describe("examples/quickstart with two hosts", () => {
  it("up as the README says: web serves http to all, db postgres to web only; destroy restores both", async () => {
    ok(await cli.pulumi(["login", `file://${cli.stateDir}`]));
    ok(await cli.pulumi(["stack", "init", "dev"]));
    ok(await cli.pulumi(["config", "set", "webAddress", lab.host("web").ipv4]));
    ok(await cli.pulumi(["config", "set", "dbAddress", lab.host("db").ipv4]));
    ok(await cli.pulumi(["config", "set", "--secret", "privateKey"], { input: lab.privateKey }));
    ok(await cli.pulumi(["up", "--yes"]));
    const db = lab.host("db").ipv4;
    const web = lab.host("web").ipv4;
    expect(await lab.probeMany([
      { from: "runner", to: web, proto: "tcp", port: 80 },
      { from: "runner", to: web, proto: "tcp", port: 8080 },
      { from: "web", to: db, proto: "tcp", port: 5432 },
      { from: "runner", to: db, proto: "tcp", port: 5432 },
      { from: "runner", to: db, proto: "tcp", port: 22 },
    ])).toEqual([true, false, true, false, true]);
    ok(await cli.pulumi(["destroy", "--yes"]));
    expect(await rulesets()).toEqual(before);
  }, 300_000); // the whole README: two CLI runs that contact hosts, on a shared machine
});
