// The apply protocol fails closed, against a real host: a table that reads
// back differently from what was sent is rolled back before it is confirmed
// (never made permanent); a connection lost right after CONFIRM cannot stop
// the host from persisting what it confirmed (a reboot would otherwise come
// up without it); without systemd, "persisted" means something really loads
// the file at boot; a refresh never records an unconfirmed ruleset.
import { describe, expect, it } from "vitest";
import { applyAtomically, HostError, readLive } from "../provider/host/apply";
import { hostFile, liveTable, pollUntil } from "./support/applyLab";
import { connectionTo } from "./support/labConnection";
import { useLab } from "./support/useLab";
import { allowScript, SCRIPT_FACTS, TABLE } from "./support/applyScripts";
import { clearHold, confirmAndCloseChannel, holdLockoutProbe, killShell, waitArmed, waitProbing } from "./support/faults";

const A = "org/project/stack-a/host=c1";
const lab = useLab({ hosts: 1, hostNames: ["c1"] });

/** allowScript, keeping IPv6 neighbour discovery (a test that logs in over IPv6 needs it). */
function allowWithNd(owner: string, port: number): string {
  return allowScript(owner, port).replace("\t\ttcp dport 22 accept", "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n\t\ttcp dport 22 accept");
}

/** A ruleset nft accepts but lists differently from how it is written (a port in hex). */
function listsDifferently(owner: string): string {
  return allowScript(owner, 80).replace("tcp dport 80 accept", "tcp dport 0x1f90 accept");
}

describe("around the confirmation", () => {
  it("a table that reads back differently is rolled back before it is confirmed (kind verify)", async () => {
    await applyAtomically(connectionTo(lab, "c1"), TABLE, allowScript(A, 80), { facts: SCRIPT_FACTS, owner: A });
    const before = await liveTable(lab, "c1");
    const bootBefore = await hostFile(lab, "c1", `/etc/nftsg/${TABLE}.nft`);
    const e = await applyAtomically(connectionTo(lab, "c1"), TABLE, listsDifferently(A), { facts: SCRIPT_FACTS, owner: A }).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(HostError);
    expect((e as HostError).kind).toBe("verify");
    expect((e as HostError).message).toMatch(/reads? back .* differs|differs from the ruleset sent/);
    expect((e as HostError).message).toMatch(/rolled back to its previous ruleset/);
    expect((e as HostError).confirmed).toBe(false);
    expect(await liveTable(lab, "c1")).toBe(before);
    expect(await hostFile(lab, "c1", `/etc/nftsg/${TABLE}.nft`)).toBe(bootBefore);
  });

  for (const rep of [1, 2, 3]) {
    it(`a connection lost right after CONFIRM still persists the confirmed ruleset, run ${rep}`, async () => {
      await applyAtomically(connectionTo(lab, "c1"), TABLE, allowScript(A, 80), { facts: SCRIPT_FACTS, owner: A });
      const next = allowScript(A, 8000 + rep);
      const { session, pid } = await confirmAndCloseChannel(connectionTo(lab, "c1"), TABLE, next, { facts: SCRIPT_FACTS, owner: A, rollbackSeconds: 5 });
      try {
        // What the host reports: its shell is gone (finished, or killed by the closed channel).
        const gone = await pollUntil(() => lab.exec("c1", `test -e /proc/${pid}`).then((r) => r.code !== 0), (g) => g, 30_000, 100);
        expect(gone[gone.length - 1], "the host's nftsg shell never finished").toBe(true);
      } finally {
        session.close();
      }
      // It confirmed (CONFIRM arrives before the channel closes): the new ruleset is live and stays...
      expect(await liveTable(lab, "c1")).toContain(`tcp dport ${8000 + rep} accept`);
      // ...and what is live is what boot loads.
      expect(await hostFile(lab, "c1", `/etc/nftsg/${TABLE}.nft`), "the confirmed ruleset was not saved for boot").toBe(next);
      expect(await hostFile(lab, "c1", "/etc/nftables.conf")).toContain(`include "/etc/nftsg/${TABLE}.nft" # nftsg`);
      // Confirmed means the rollback is disarmed: the next apply finds nothing stale to roll back.
      const r = await applyAtomically(connectionTo(lab, "c1"), TABLE, next, { facts: SCRIPT_FACTS, owner: A });
      expect(r.listing).toContain(`tcp dport ${8000 + rep} accept`);
    });
  }

  it("without systemd, an include line counts as persisted only if an enabled init script loads its file", async () => {
    await applyAtomically(connectionTo(lab, "c1"), TABLE, allowScript(A, 80), { facts: SCRIPT_FACTS, owner: A });
    expect(await readLive(connectionTo(lab, "c1"), TABLE, {})).toMatchObject({ persisted: true, bootLoader: "init" });
    // This host's nftables service is disabled: nothing loads /etc/nftables.conf at boot.
    expect((await lab.exec("c1", "rm /etc/rc2.d/S01nftables")).code).toBe(0);
    try {
      const r = await applyAtomically(connectionTo(lab, "c1"), TABLE, allowScript(A, 81), { facts: SCRIPT_FACTS, owner: A });
      expect(r.bootLoader).toBe("none");
      expect(await hostFile(lab, "c1", "/etc/nftables.conf")).toContain(`include "/etc/nftsg/${TABLE}.nft" # nftsg`);
      expect(await readLive(connectionTo(lab, "c1"), TABLE, {})).toMatchObject({ persisted: false, bootLoader: "none" });
    } finally {
      await lab.exec("c1", "ln -s ../init.d/nftables /etc/rc2.d/S01nftables");
    }
    expect(await readLive(connectionTo(lab, "c1"), TABLE, {})).toMatchObject({ persisted: true, bootLoader: "init" });
  });

  it("a refresh during an apply waits for it, and never reports the unconfirmed ruleset as live", async () => {
    await applyAtomically(connectionTo(lab, "c1"), TABLE, allowWithNd(A, 80), { facts: SCRIPT_FACTS, owner: A });
    const before = await liveTable(lab, "c1");
    await holdLockoutProbe(lab, "c1", { ipv4Only: true });
    try {
      // The lockout probe is held: the host runs the new ruleset, unconfirmed, until the provider rolls back.
      const pending = applyAtomically(connectionTo(lab, "c1"), TABLE, allowWithNd(A, 9090), { facts: SCRIPT_FACTS, owner: A, rollbackSeconds: 30, confirmTimeoutMs: 12_000 })
        .then(() => undefined, (e: unknown) => e);
      expect(await waitArmed(lab, "c1", TABLE)).toBeDefined();
      expect(await waitProbing(lab, "c1")).toBe(true);
      expect(await liveTable(lab, "c1")).toContain("tcp dport 9090 accept");
      // A refresh now, over IPv6 (the hold keeps IPv4 logins out): it waits for the apply's end.
      const read = await readLive(connectionTo(lab, "c1", { host: lab.host("c1").ipv6 }), TABLE, {});
      expect((await pending as HostError).kind).toBe("lockout");
      expect(read.listing).not.toContain("9090");
      expect(read.listing).toBe(before);
    } finally {
      await clearHold(lab, "c1");
    }
  });

  it("an apply whose shell died before it was confirmed reads as pending until its timer restores the host", async () => {
    await applyAtomically(connectionTo(lab, "c1"), TABLE, allowScript(A, 80), { facts: SCRIPT_FACTS, owner: A });
    const before = await liveTable(lab, "c1");
    await holdLockoutProbe(lab, "c1");
    try {
      const pending = applyAtomically(connectionTo(lab, "c1"), TABLE, allowScript(A, 9091), { facts: SCRIPT_FACTS, owner: A, rollbackSeconds: 20, confirmTimeoutMs: 8_000 })
        .then(() => undefined, (e: unknown) => e);
      const token = await waitArmed(lab, "c1", TABLE);
      expect(await waitProbing(lab, "c1")).toBe(true);
      await killShell(lab, "c1", token!);
      await pending;
    } finally {
      await clearHold(lab, "c1");
    }
    const read = await readLive(connectionTo(lab, "c1"), TABLE, {});
    expect(read.pending).toBe(true);
    expect(read.listing).toContain("9091");
    // The timer restores the previous ruleset; then nothing is pending.
    const seen = await pollUntil(() => liveTable(lab, "c1"), (l) => l === before, 40_000, 250);
    expect(seen[seen.length - 1]).toBe(before);
    expect((await readLive(connectionTo(lab, "c1"), TABLE, {})).pending).toBe(false);
  });
});
