// examples/automation run as a user would: a separate Node.js process with
// its own backend directory, against lab hosts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { engineEnv, repoRoot } from "../support/engine";
import { useLab } from "../support/useLab";
import { webDbExampleHosts } from "../support/webDb";

const run = promisify(execFile);
const lab = useLab({ hosts: 3, hostNames: ["bastion", "web-1", "db-1"] });
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "nftsg-automation-"));
  fs.writeFileSync(path.join(dir, "fleet.json"), JSON.stringify({
    hosts: webDbExampleHosts(lab),
    privateKeyPath: lab.privateKeyPath,
    managementCidrs: [`${lab.runnerIpv4}/32`, `${lab.runnerIpv6}/128`],
  }));
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function example(command: string): Promise<string> {
  const engine = engineEnv("automation");
  const { stdout } = await run(process.execPath, [path.join(repoRoot, "dist/examples/automation/index.js"), command, "fleet.json"], {
    cwd: dir,
    env: { ...process.env, PATH: engine.env.PATH, PULUMI_HOME: engine.home, PULUMI_CONFIG_PASSPHRASE: "example", NFTSG_PULUMI_ROOT: engine.pulumiRoot },
    timeout: 180_000,
  });
  return stdout;
}

describe("examples/automation", () => {
  it("brings the web-db fleet up and down through the Automation API", async () => {
    expect(await example("up")).toMatch(/result: succeeded/);
    expect((await lab.exec("db-1", "nft list table inet nftsg")).stdout).toMatch(/postgres from web/);
    expect(await lab.probe("web-1", lab.host("db-1").ipv4, { proto: "tcp", port: 22 })).toBe(false);
    expect(await example("preview")).toMatch(/changes: \{"same":\d+\}/);
    await example("destroy");
    expect((await lab.exec("db-1", "nft list tables")).stdout).not.toMatch(/nftsg/);
    // The local backend holds the state; the key is not in it.
    const state = fs.readdirSync(path.join(dir, ".pulumi-state"), { recursive: true }).length;
    expect(state).toBeGreaterThan(0);
  });
});
