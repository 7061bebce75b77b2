// The fake host (test/support/fakeHost.ts) against a real one: the same
// sequence of operations, through the HostOps seam, on a lab host over SSH
// and on the fake, must give the same outcome at every step — the same
// refusals (by kind), the same notes, the same live state (table, owner,
// instance, boot loading, boot file), the same machine at its other address.
// Handler tests that run on the fake stand on this.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ConnectionDeclaration } from "../provider/declaration/declaration";
import { HostError } from "../provider/host/errors";
import { applyAtomically, readLive, removeTable } from "../provider/host/apply";
import type { HostOps } from "../provider/host/ops";
import { normaliseNftListing, tableDefinition } from "../provider/nft/listing";
import { removeIncludeLine } from "./support/applyLab";
import { connectionTo } from "./support/labConnection";
import { useLab } from "./support/useLab";
import { allowScript, SCRIPT_FACTS, TABLE } from "./support/applyScripts";
import { FakeHosts } from "./support/fakeHost";

const A = "org/project/stack-a/host=x1";
const A2 = "org/project/stack-a/host=x2";
const B = "org/project/stack-b/host=x1";
const I1 = "1111111111111111aaaaaaaaaaaaaaaa";
const I2 = "2222222222222222bbbbbbbbbbbbbbbb";
const S1 = "5151515151515151cccccccccccccccc";
const S2 = "5252525252525252dddddddddddddddd";
const APPLIED = new Set([A, A2].map((o) => normaliseNftListing(tableDefinition(allowScript(o, 80)))));
const FOREIGN = "table inet nftsg {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n";

/** One target of the scenario: the operations, and what a person could do by hand on the host. */
interface Target {
  ops: HostOps;
  conn: ConnectionDeclaration;
  /** The same machine at its other address (IPv6). */
  otherConn: ConnectionDeclaration;
  hostKey: string;
  addForeignTable(): Promise<void>;
  handEdit(): Promise<void>;
  removeBootFile(): Promise<void>;
  editBootFile(): Promise<void>;
  /** What loads the boot file at boot (on lab hosts: the include line in /etc/nftables.conf). */
  removeBootLoading(): Promise<void>;
}

/** A line appended to the boot file by hand. */
const BOOT_EDIT = `add rule inet ${TABLE} input tcp dport 9999 accept\n`;

/** What a note says, most specific first. */
const NOTE_KINDS = ["another resource instance", "not created by nftsg", "now belongs to"];

/** An outcome, in terms both targets can be compared in. */
type Outcome = string;

async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    const r = (await p) as Record<string, unknown>;
    if ("notes" in r) {
      const notes = r.notes as string[];
      return `removed${notes.map((n) => ` | ${NOTE_KINDS.find((k) => n.includes(k)) ?? n}`).join("")}`;
    }
    if ("exists" in r) {
      return JSON.stringify({
        exists: r.exists, owner: r.owner ?? "", instance: r.instance ?? "", persisted: r.persisted, bootSha256: r.bootSha256 ?? "",
        table: r.listing === "" ? "none" : APPLIED.has(normaliseNftListing(String(r.listing))) ? "as applied" : "changed by hand",
      });
    }
    return `applied ${normaliseNftListing(String(r.listing)).length > 0}`;
  } catch (e) {
    if (e instanceof HostError) return `refused: ${e.kind}`;
    throw e;
  }
}

async function scenario(t: Target): Promise<Outcome[]> {
  const out: Outcome[] = [];
  const read = () => outcome(t.ops.readLive(t.conn, TABLE, {}));
  const apply = (owner: string, instance?: string, extra: { takeover?: boolean; expectedHostKey?: string; stackId?: string } = {}) =>
    outcome(t.ops.applyAtomically(t.conn, TABLE, allowScript(owner, 80), { facts: SCRIPT_FACTS, owner, instance, ...extra }));
  const remove = (owner: string, instance?: string, takeover?: boolean, stackId?: string) =>
    outcome(t.ops.removeTable(t.conn, TABLE, { owner, instance, takeover, stackId }));
  out.push(await read());
  out.push(await apply(A, I1));
  out.push(await read());
  // Boot persistence broken by hand, the live table untouched; the next apply that goes through restores both.
  await t.editBootFile();
  out.push(await read());
  await t.removeBootLoading();
  out.push(await read());
  out.push(`other address: ${await outcome(t.ops.readLive(t.otherConn, TABLE, { expectedHostKey: t.hostKey }))}`);
  out.push(await apply(B, I2));
  out.push(await remove(A, I2));
  out.push(await apply(A2, I2));
  out.push(await remove(A, I1));
  out.push(await remove(A2, I2));
  out.push(await read());
  out.push(await apply(A, I1, { expectedHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKeyOtherKey0" }));
  await t.addForeignTable();
  out.push(await apply(A, I1));
  out.push(await remove(A, I1));
  out.push(await apply(A, I1, { takeover: true }));
  await t.handEdit();
  out.push(await read());
  await t.removeBootFile();
  out.push(await read());
  out.push(await remove(A, I1));
  out.push(await read());
  // Two stacks of the same name (another backend): told apart by their identities.
  out.push(await apply(A, I1, { stackId: S1 }));
  out.push(await apply(A, I1, { stackId: S2 }));
  out.push(await remove(A, I1, false, S2));
  out.push(await apply(A, I1));
  out.push(await apply(A, I2, { stackId: S2, takeover: true }));
  out.push(await remove(A, I2, false, S2));
  out.push(await read());
  return out;
}

const lab = useLab({ hosts: 1, hostNames: ["c1"] });

describe("the fake host behaves as a real one", () => {
  // Some twenty SSH operations: more than the default timeout allows on a busy shared machine.
  it("the same operations give the same outcomes, step by step", { timeout: 240_000 }, async () => {
    const conn = connectionTo(lab, "c1");
    const otherConn = connectionTo(lab, "c1", { host: lab.host("c1").ipv6 });
    /** A command run on c1 by hand (not over SSH); it must succeed. */
    const byHand = async (cmd: string, input?: string) => {
      const r = await lab.exec("c1", cmd, { input });
      expect(r.code, r.stderr).toBe(0);
    };
    const real: Target = {
      ops: { applyAtomically, readLive, removeTable },
      conn,
      otherConn,
      hostKey: lab.host("c1").hostPublicKey,
      addForeignTable: () => byHand("nft -f -", FOREIGN),
      handEdit: () => byHand(`nft add rule inet ${TABLE} input tcp dport 9999 accept`),
      removeBootFile: async () => void (await lab.exec("c1", `rm -f /etc/nftsg/${TABLE}.nft`)),
      editBootFile: () => byHand(`cat >> /etc/nftsg/${TABLE}.nft`, BOOT_EDIT),
      removeBootLoading: async () => {
        const r = await removeIncludeLine(lab, "c1");
        expect(r.code, r.stderr).toBe(0);
      },
    };
    const fakes = new FakeHosts();
    const m = fakes.add(conn.host);
    fakes.alias(otherConn.host, m);
    const fake: Target = {
      ops: fakes,
      conn,
      otherConn,
      hostKey: m.hostKey,
      addForeignTable: async () => m.addForeignTable(TABLE, FOREIGN),
      handEdit: async () => {
        const t = m.tables.get(TABLE)!;
        t.listing = t.listing.replace(/\n\t\}\n\}\n$/, "\n\t\ttcp dport 9999 accept\n\t}\n}\n");
      },
      removeBootFile: async () => void m.bootFiles.delete(TABLE),
      editBootFile: async () => void m.bootFiles.set(TABLE, `${m.bootFiles.get(TABLE)}${BOOT_EDIT}`),
      removeBootLoading: async () => void m.bootLoaded.delete(TABLE),
    };
    const onReal = await scenario(real);
    const onFake = await scenario(fake);
    expect(onFake).toEqual(onReal);
    expect(onReal.some((o) => o.includes('"table":"changed by hand"'))).toBe(true);
    // The refusals the scenario is about really happened.
    expect(onReal.filter((o) => o.startsWith("refused")).sort()).toEqual(["refused: hostkey", "refused: owner", "refused: owner", "refused: owner", "refused: owner"]);
    expect(onReal.filter((o) => o.includes("|"))).toEqual([
      "removed | another resource instance",
      "removed | another resource instance",
      "removed | not created by nftsg",
    ]);
    // The boot file edited, then its boot loading removed, the live table untouched: seen on the real host.
    const appliedBoot = createHash("sha256").update(allowScript(A, 80)).digest("hex");
    expect(onReal.some((o) => o.includes('"persisted":true') && o.includes('"table":"as applied"') && !o.includes(appliedBoot))).toBe(true);
    expect(onReal.some((o) => o.includes('"persisted":false') && o.includes('"table":"as applied"'))).toBe(true);
    // The same machine at its IPv6 address: its recorded key holds, its state is the same.
    const at = onReal.findIndex((o) => o.startsWith("other address: "));
    expect(onReal[at]).toBe(`other address: ${onReal[at - 1]}`);
    // Every step reached the fake machine or was refused before it.
    expect(m.calls.length).toBeGreaterThan(10);
  });
});
