// The apply protocol around the confirmation, against a real host: a table
// that reads back differently from what was sent is rolled back before it is
// confirmed (never made permanent); a connection lost right after CONFIRM
// cannot stop the host from persisting what it confirmed (a reboot would
// otherwise come up without it).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyAtomically, HostError } from "../provider/host/apply";
import { labUp, type Lab } from "./lab";
import { connectionTo, hostFile, liveTable, pollUntil } from "./support/applyLab";
import { allowScript, TABLE } from "./support/applyScripts";
import { confirmAndCloseChannel } from "./support/faults";

const A = "org/project/stack-a/host=c1";
let lab: Lab;

beforeAll(async () => {
  lab = await labUp({ hosts: 1, hostNames: ["c1"] });
});

afterAll(async () => {
  await lab?.down();
});

/** A ruleset nft accepts but lists differently from how it is written (a port in hex). */
function listsDifferently(owner: string): string {
  return allowScript(owner, 80).replace("tcp dport 80 accept", "tcp dport 0x1f90 accept");
}

describe("around the confirmation", () => {
  it("a table that reads back differently is rolled back before it is confirmed (kind verify)", async () => {
    await applyAtomically(connectionTo(lab, "c1"), TABLE, allowScript(A, 80), { owner: A });
    const before = await liveTable(lab, "c1");
    const bootBefore = await hostFile(lab, "c1", `/etc/nftsg/${TABLE}.nft`);
    const e = await applyAtomically(connectionTo(lab, "c1"), TABLE, listsDifferently(A), { owner: A }).then(() => undefined, (err: unknown) => err);
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
      await applyAtomically(connectionTo(lab, "c1"), TABLE, allowScript(A, 80), { owner: A });
      const next = allowScript(A, 8000 + rep);
      const { session, pid } = await confirmAndCloseChannel(connectionTo(lab, "c1"), TABLE, next, { owner: A, rollbackSeconds: 5 });
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
      const r = await applyAtomically(connectionTo(lab, "c1"), TABLE, next, { owner: A });
      expect(r.listing).toContain(`tcp dport ${8000 + rep} accept`);
    });
  }
});
