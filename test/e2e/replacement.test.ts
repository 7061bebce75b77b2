// Through the real CLI: a replaced Attachment (renamed Fleet, host moved
// between two Fleets of one stack: the engine creates the new one before it
// deletes the old) and a renamed table leave the host with exactly the new
// ruleset, live and persisted for boot, after every step; a table rename
// whose create fails leaves the old table; a later delete removes only what
// its instance created. r1 is reached over IPv6 throughout. A new connection
// address is an update checked against the recorded host key: the handler's
// decision, tested on fake hosts (test/unit/attachmentHandlers.test.ts), the
// same machine at its IPv6 address held to a real host by
// test/hostContract.test.ts.
import { beforeAll, describe, expect, it } from "vitest";
import type { FleetArgs } from "../../sdk/inputs";
import { fleetsStack, type FleetsStack } from "../support/stack";
import { hostFile, pollUntil } from "../support/applyLab";
import { connectionTo } from "../support/labConnection";
import { useLab } from "../support/useLab";

const HOSTS = ["r1", "r2"] as const;
type HostName = (typeof HOSTS)[number];
const lab = useLab({ hosts: HOSTS.length, hostNames: [...HOSTS] });
let s: FleetsStack;

interface Shape {
  /** Fleet name -> its hosts. */
  fleets: Record<string, HostName[]>;
  table?: string;
  failsafe?: boolean;
}

const PORT = 8123;
const ROLLBACK_SECONDS = 20;

function fleets(shape: Shape): Record<string, FleetArgs> {
  const out: Record<string, FleetArgs> = {};
  for (const [name, hosts] of Object.entries(shape.fleets)) {
    out[name] = {
      table: shape.table,
      failsafe: { ssh: shape.failsafe ?? true },
      rollbackSeconds: ROLLBACK_SECONDS,
      securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", ports: PORT, cidrs: [`${lab.runnerIpv4}/32`] }] }],
      hosts: hosts.map((h) => ({
        name: h,
        connection: h === "r1" ? connectionTo(lab, h, { host: lab.host(h).ipv6 }) : connectionTo(lab, h),
        addresses: [lab.host(h).ipv4, lab.host(h).ipv6],
        securityGroups: ["web"],
      })),
    };
  }
  return out;
}

async function up(shape: Shape): Promise<void> {
  s.setFleets(fleets(shape));
  const r = await s.stack.up();
  expect(r.summary.result).toBe("succeeded");
}

/** The host runs table inet T with our rule, and loads the same file at boot. */
async function expectFirewalled(host: HostName, table = "nftsg"): Promise<void> {
  const live = await lab.exec(host, `nft list table inet ${table}`);
  expect(live.code, `${host} has no table inet ${table}: ${live.stderr}`).toBe(0);
  expect(live.stdout).toContain(`tcp dport ${PORT} accept`);
  const boot = await hostFile(lab, host, `/etc/nftsg/${table}.nft`);
  expect(boot, `${host}: /etc/nftsg/${table}.nft is missing`).toBeDefined();
  expect(boot).toContain(`tcp dport ${PORT} accept`);
  const loaded = await lab.exec(host, `nft -c -f /etc/nftsg/${table}.nft`);
  expect(loaded.code, loaded.stderr).toBe(0);
  expect(await hostFile(lab, host, "/etc/nftables.conf")).toContain(`include "/etc/nftsg/${table}.nft" # nftsg`);
}

/** Neither the table nor its boot file or include line. */
async function expectNoTable(host: HostName, table = "nftsg"): Promise<void> {
  expect((await lab.exec(host, `nft list table inet ${table}`)).code, `${host} still has table inet ${table}`).not.toBe(0);
  expect(await hostFile(lab, host, `/etc/nftsg/${table}.nft`)).toBeUndefined();
  expect((await hostFile(lab, host, "/etc/nftables.conf")) ?? "").not.toContain(`/etc/nftsg/${table}.nft`);
}

beforeAll(async () => {
  s = await fleetsStack({}, { project: "nftsg-replace", stackName: "r" });
});


describe("replacement never leaves a host without its firewall", () => {
  it("a first up firewalls both hosts", async () => {
    await up({ fleets: { lab: ["r1", "r2"] } });
    for (const h of HOSTS) await expectFirewalled(h);
  });

  it("renaming the Fleet keeps both tables", async () => {
    await up({ fleets: { edge: ["r1", "r2"] } });
    for (const h of HOSTS) await expectFirewalled(h);
  });

  it("moving a host to another Fleet of the same stack keeps its table", async () => {
    await up({ fleets: { edge: ["r1"], core: ["r2"] } });
    for (const h of HOSTS) await expectFirewalled(h);
  });

  it("renaming the table puts the new one in place and removes the old (an update: the recorded host key is checked)", async () => {
    s.setFleets(fleets({ fleets: { edge: ["r1"], core: ["r2"] }, table: "nftsgb" }));
    const r = await s.stack.up();
    expect(r.summary.result).toBe("succeeded");
    expect(r.summary.resourceChanges?.replace ?? 0).toBe(0);
    for (const h of HOSTS) {
      await expectFirewalled(h, "nftsgb");
      await expectNoTable(h, "nftsg");
    }
  });

  it("a table rename whose create fails (lockout) leaves the old table", async () => {
    s.setFleets(fleets({ fleets: { edge: ["r1"], core: ["r2"] }, table: "nftsgc", failsafe: false }));
    const err = await s.stack.up({ continueOnError: true }).then(() => undefined, (e: Error) => e);
    // Either interleaving is a refusal: the lockout probe finds no new login
    // (rolled back at once), or the ruleset cuts the management session first
    // (revokeEstablished re-checks it) and the host's own timer restores the
    // previous ruleset within rollbackSeconds, which is the guarantee. On a
    // busy machine both hosts can take the second path.
    expect(err?.message).toMatch(/would have cut SSH access|the SSH connection was lost while the ruleset was being applied/);
    // Both hosts ran the new ruleset for a moment: no message may say a host is unchanged.
    expect(err?.message).not.toMatch(/the host is unchanged/);
    for (const h of HOSTS) {
      await pollUntil(() => lab.exec(h, "nft list table inet nftsgc").then((r) => r.code), (code) => code !== 0, (ROLLBACK_SECONDS + 10) * 1000, 500);
      await expectFirewalled(h, "nftsgb");
      await expectNoTable(h, "nftsgc");
    }
  });

  it("a later delete removes only what its instance created", async () => {
    await up({ fleets: { edge: ["r1"] }, table: "nftsgb" });
    await expectFirewalled("r1", "nftsgb");
    await expectNoTable("r2", "nftsgb");
    await up({ fleets: {} });
    for (const h of HOSTS) await expectNoTable(h, "nftsgb");
  });
});
