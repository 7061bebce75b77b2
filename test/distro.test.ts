// nftsg on a real distribution host (Debian 12, systemd as PID 1, booted by
// systemd-nspawn in the lab) through the real Pulumi CLI: the paths that
// namespace hosts cannot take — the boot unit across a real reboot, the
// systemd-run rollback timer (and when it fires), Debian's nftables.service
// beside our table, and a non-root user with sudo.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distroLabUp, type DistroLab } from "../lab/distroLab";
import type { FleetArgs } from "../sdk/inputs";
import { fleetStack, type FleetStack } from "./support/stack";
import { killDynamicProvider } from "./support/dynamicProvider";
import { HOLD_FRESH_SSH, RELEASE_HOLD, parseRollbackWatch, rollbackWatchProgram } from "./support/rollbackArmed";

const TABLE = "nftsg";
const UNIT = `nftsg-${TABLE}.service`;
const BOOT_FILE = `/etc/nftsg/${TABLE}.nft`;
/** Short, so the test waits little; AccuracySec's 1-minute default makes it fire up to 60 s late. */
const ROLLBACK_SECONDS = 5;
/** How late after rollbackSeconds a restore may be: polling and process start-up, not timer slack. */
const FIRE_MARGIN_MS = 2000;

let lab: DistroLab;
let root: FleetStack;
/** Figures printed at the end: how long the real-distribution paths take. */
const figures: Record<string, string> = {};

function declaration(port: number, host = "d1", user = "root"): FleetArgs {
  return {
    rollbackSeconds: ROLLBACK_SECONDS,
    securityGroups: [
      { name: "web", ingress: [{ protocol: "tcp", ports: port, cidrs: [`${lab.runnerIpv4}/32`], description: "web from the runner" }] },
    ],
    hosts: [{
      name: host,
      connection: {
        host: lab.host(host).ipv4, user, privateKey: lab.privateKey, hostKey: lab.host(host).hostPublicKey,
        ...(user === "root" ? {} : { sudo: true }),
      },
      securityGroups: ["web"],
    }],
  };
}

/** Marker of a port's rule in the live listing ("dport 8101 " never matches 81010). */
const marker = (port: number): string => `dport ${port} `;

async function sh(host: string, cmd: string): Promise<string> {
  const r = await lab.exec(host, cmd);
  if (r.code !== 0) throw new Error(`${host}: ${cmd} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const listing = (host: string): Promise<string> => lab.exec(host, `nft list table inet ${TABLE} 2>&1`).then((r) => r.stdout);

/** How often this boot a rollback timer restored a ruleset (the fire script logs each). */
async function timerRestores(host: string): Promise<number> {
  const log = await sh(host, "journalctl -b -t nftsg -o cat --no-pager");
  return log.split("\n").filter((l) => l.includes("not confirmed in time, previous ruleset restored")).length;
}

async function show(host: string, unit: string, prop: string): Promise<string> {
  return (await sh(host, `systemctl show -p ${prop} --value ${unit}`)).trim();
}

async function up(s: FleetStack, port: number, host = "d1", user = "root"): Promise<void> {
  s.setArgs(declaration(port, host, user));
  const t0 = Date.now();
  const r = await s.stack.up();
  expect(r.summary.result).toBe("succeeded");
  figures[`pulumi up (${user}@${host}, port ${port})`] = `${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  const t0 = Date.now();
  lab = await distroLabUp({ names: ["d1", "d2"] });
  figures["distro root"] = `${lab.times.rootBuilt ? "built" : "cached"} in ${lab.times.rootSeconds.toFixed(1)} s`;
  for (const [h, s] of Object.entries(lab.times.bootToSshSeconds)) figures[`boot to SSH, ${h}`] = `${s.toFixed(2)} s`;
  figures["distro lab up (2 machines)"] = `${((Date.now() - t0) / 1000).toFixed(2)} s`;
  root = await fleetStack(declaration(8101), { project: "nftsg-distro", stackName: "root" });
}, 20 * 60_000); // builds the Debian root first if scripts/setup.sh has not

afterAll(async () => {
  try {
    if (lab) await lab.exec("d1", RELEASE_HOLD);
    await root?.stack.destroy();
  } catch { /* reported by the tests */ }
  await lab?.down();
  console.log(Object.entries(figures).map(([k, v]) => `  ${k}: ${v}`).join("\n"));
});

describe("a real Debian 12 host (systemd as PID 1)", () => {
  it("the host runs systemd as PID 1 with no failed units", async () => {
    expect((await sh("d1", "cat /proc/1/comm")).trim()).toBe("systemd");
    expect((await lab.ssh("d1", "systemctl is-system-running --wait")).stdout.trim()).toBe("running");
  });

  it("apply, then a real reboot: the table is back byte-identical, loaded before the network comes up", async () => {
    await up(root, 8101);
    const applied = await listing("d1");
    expect(applied).toContain(marker(8101));
    const bootFile = await sh("d1", `cat ${BOOT_FILE}`);
    expect((await sh("d1", `systemctl is-enabled ${UNIT}`)).trim()).toBe("enabled");
    const bootBefore = await lab.bootId("d1");

    const seconds = await lab.reboot("d1");
    figures["real reboot to SSH"] = `${seconds.toFixed(2)} s`;
    expect(await lab.bootId("d1")).not.toBe(bootBefore);
    expect(await listing("d1")).toBe(applied);
    expect(await sh("d1", `cat ${BOOT_FILE}`)).toBe(bootFile);
    expect((await sh("d1", `systemctl is-active ${UNIT}`)).trim()).toBe("active");
    // Ordering, as configured and as it happened in this boot.
    expect((await show("d1", UNIT, "Before")).split(/\s+/)).toContain("network-pre.target");
    const ours = Number(await show("d1", UNIT, "ActiveEnterTimestampMonotonic"));
    const networkPre = Number(await show("d1", "network-pre.target", "ActiveEnterTimestampMonotonic"));
    const networkd = Number(await show("d1", "systemd-networkd.service", "ExecMainStartTimestampMonotonic"));
    expect(ours).toBeGreaterThan(0);
    expect(ours).toBeLessThanOrEqual(networkPre);
    expect(networkPre).toBeLessThanOrEqual(networkd);
    // And the journal of this boot has our unit finishing before network-pre.target is reached.
    const journal = await sh("d1", "journalctl -b -o cat --no-pager _PID=1");
    const loaded = journal.indexOf(`Finished ${UNIT}`);
    const reached = journal.indexOf("Reached target network-pre.target");
    expect(loaded).toBeGreaterThanOrEqual(0);
    expect(reached).toBeGreaterThan(loaded);
    // Still manageable: a no-op up after the reboot succeeds.
    await up(root, 8101);
  });

  it("the rollback timer fires when promised (rollbackSeconds, not up to a minute later)", async () => {
    const before = await listing("d1");
    expect(before).toContain(marker(8101));
    root.setArgs(declaration(8102));
    await sh("d1", HOLD_FRESH_SSH);
    const watch = lab.exec("d1", rollbackWatchProgram({
      table: TABLE, marker: marker(8102), killShell: true, armTimeoutSeconds: 60, restoreTimeoutSeconds: ROLLBACK_SECONDS + 90,
    }), { timeoutMs: 200_000 });
    const upResult = root.stack.up().then(() => "succeeded", (e: Error) => e.message);
    const w = await watch;
    expect(w.code, w.stderr).toBe(0);
    const t = parseRollbackWatch(w.stdout);
    expect(await upResult).not.toBe("succeeded");
    const late = (t.restoredAtMs as number) - t.armedAtMs - ROLLBACK_SECONDS * 1000;
    figures["rollback timer: restore after arm"] = `${(((t.restoredAtMs as number) - t.armedAtMs) / 1000).toFixed(2)} s (rollbackSeconds ${ROLLBACK_SECONDS}, AccuracyUSec ${t.accuracy})`;
    expect(late).toBeGreaterThan(-500);
    expect(late).toBeLessThan(FIRE_MARGIN_MS);
    expect(t.accuracy).toBe("100ms");
    expect(await listing("d1")).toBe(before);
    // The timer (not the killed shell) restored it, and said so.
    expect(await sh("d1", "journalctl -b -t nftsg -o cat --no-pager")).toMatch(/not confirmed in time, previous ruleset restored/);
    // Recovery: the next up applies the change.
    await up(root, 8102);
    expect(await listing("d1")).toContain(marker(8102));
  }, 240_000);

  it("the provider killed between apply and confirm: the host restores the previous ruleset by itself", async () => {
    const before = await listing("d1");
    const timerRestoresBefore = await timerRestores("d1");
    root.setArgs(declaration(8103));
    await sh("d1", HOLD_FRESH_SSH);
    const watch = lab.exec("d1", rollbackWatchProgram({
      table: TABLE, marker: marker(8103), killShell: false, armTimeoutSeconds: 60, restoreTimeoutSeconds: 0,
    }), { timeoutMs: 90_000 });
    const upResult = root.stack.up().then(() => "succeeded", (e: Error) => e.message);
    const w = await watch;
    expect(w.code, w.stderr).toBe(0);
    const killed = killDynamicProvider();
    const t0 = Date.now();
    await sh("d1", RELEASE_HOLD);
    expect(killed.length).toBeGreaterThan(0);
    await waitFor("the previous ruleset", async () => (await listing("d1")) === before, ROLLBACK_SECONDS * 1000 + FIRE_MARGIN_MS);
    figures["provider killed: previous ruleset back after"] = `${((Date.now() - t0) / 1000).toFixed(2)} s`;
    expect(await upResult).not.toBe("succeeded");
    // Restored by the apply shell itself (its session ended), so the timer was disarmed and never fired.
    expect(await sh("d1", "systemctl list-units --all --no-legend 'nftsg-rollback-*'")).toBe("");
    expect(await timerRestores("d1")).toBe(timerRestoresBefore);
    await up(root, 8103);
    expect(await listing("d1")).toContain(marker(8103));
  }, 240_000);

  it("Debian's nftables.service (inet filter, flush ruleset) beside ours: enable, restart, reload, stop, reboot never lose our table", async () => {
    await up(root, 8104);
    const ours = await listing("d1");
    expect(ours).toContain(marker(8104));
    const check = async (step: string): Promise<void> => {
      const tables = await sh("d1", "nft list tables");
      expect(tables, step).toContain("table inet nftsg");
      expect(await listing("d1"), step).toBe(ours);
    };
    await sh("d1", "systemctl enable --now nftables.service");
    expect(await sh("d1", "nft list tables")).toContain("table inet filter");
    await check("after systemctl enable --now nftables");
    for (const op of ["restart", "reload", "stop", "start", "try-reload-or-restart"]) {
      await sh("d1", `systemctl ${op} nftables.service`);
      await check(`after systemctl ${op} nftables`);
    }
    // Restarted faster than its start limit (5 in 10 s): nftables.service itself fails, ours stays.
    await sh("d1", "for i in 1 2 3 4 5 6 7; do systemctl restart nftables.service 2>/dev/null; done; true");
    await check("after 7 restarts of nftables in a row");
    await sh("d1", "systemctl reset-failed nftables.service; systemctl start nftables.service");
    await check("after reset-failed and start");
    await lab.reboot("d1");
    expect(await sh("d1", "nft list tables")).toContain("table inet filter");
    await check("after a reboot with both enabled");
    // Refresh agrees: no drift.
    const refresh = await root.stack.refresh();
    expect(refresh.summary.resourceChanges?.update ?? 0).toBe(0);
    await sh("d1", "systemctl disable --now nftables.service");
    await check("after systemctl disable --now nftables");
  }, 180_000);

  it("a non-root user with sudo (connection.sudo): apply, refresh, destroy", async () => {
    const user = lab.sudoUser;
    const s = await fleetStack(declaration(8201, "d2", user), { project: "nftsg-distro-sudo", stackName: "sudo" });
    try {
      await up(s, 8201, "d2", user);
      expect(await listing("d2")).toContain(marker(8201));
      expect((await sh("d2", `systemctl is-enabled ${UNIT}`)).trim()).toBe("enabled");
      expect(await sh("d2", `cat ${BOOT_FILE}`)).toContain(marker(8201));
      // It really went through sudo as that user.
      expect(await sh("d2", "journalctl -b _COMM=sudo -o cat --no-pager")).toMatch(new RegExp(`${user} : .*USER=root ; COMMAND=\\S*sh -s`));
      // Refresh as that user: no drift; then a hand edit shows as drift and up repairs it.
      const clean = await s.stack.refresh();
      expect(clean.summary.resourceChanges?.update ?? 0).toBe(0);
      await sh("d2", `nft add rule inet ${TABLE} ingress tcp dport 9999 accept`);
      const drift = await s.stack.refresh();
      expect(drift.summary.resourceChanges?.update ?? 0).toBe(1);
      await up(s, 8201, "d2", user);
      expect(await listing("d2")).not.toContain("dport 9999");
      // Destroy as that user: the host is left as it was.
      const d = await s.stack.destroy();
      expect(d.summary.result).toBe("succeeded");
      expect((await lab.exec("d2", `nft list table inet ${TABLE}`)).code).not.toBe(0);
      expect(await sh("d2", `ls /etc/systemd/system/${UNIT} /etc/systemd/system/nftables.service.d ${BOOT_FILE} 2>/dev/null; true`)).toBe("");
      expect(await sh("d2", `systemctl is-enabled ${UNIT} 2>&1; true`)).toMatch(/not-found|No such file|disabled/);
    } finally {
      await s.stack.workspace.removeStack("sudo", { force: true }).catch(() => undefined);
    }
  }, 180_000);
});
