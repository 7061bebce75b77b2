// The apply path on real lab hosts, in process (no Pulumi): what it
// reports after a connection drops once the host accepted the confirmation,
// read-back of large non-ASCII listings, the lockout probe's login, jump host
// keys, and tables nftsg did not create. Faults are injected from outside
// (test/support/faults.ts), never through a hook in shipped code.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { applyAtomically, HostError, readLive, removeTable, type ApplyOptions } from "../provider/host/apply";
import { hostFile, liveTable } from "./support/applyLab";
import { connectionTo } from "./support/labConnection";
import { useLab } from "./support/useLab";
import { allowScript, SCRIPT_FACTS, TABLE } from "./support/applyScripts";
import { cutSshConnections } from "./support/faults";
import { requireDist } from "./support/dist";

const A = "org/project/stack-a";
const HOSTS = ["t1", "t2", "t3"];
const lab = useLab({ hosts: HOSTS.length, hostNames: HOSTS });

async function hostError(p: Promise<unknown>): Promise<HostError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(HostError);
    return e as HostError;
  }
  throw new Error("expected a HostError");
}

async function applyOk(host: string, script: string, opts: Partial<ApplyOptions> = {}) {
  return applyAtomically(connectionTo(lab, host), TABLE, script, { facts: SCRIPT_FACTS, owner: A, rollbackSeconds: 10, ...opts });
}

/** A ruleset whose listing is large and full of multibyte characters. */
function nonAsciiScript(rules: number): string {
  const body = ["\tchain input {", "\t\ttype filter hook input priority filter; policy accept;", "\t\ttcp dport 22 accept"];
  for (let i = 0; i < rules; i++) {
    body.push(`\t\ttcp dport ${10000 + i} accept comment "règle ${i}: 日本語のせつめい — ünïcödé ✓"`);
  }
  body.push("\t}");
  return [`table inet ${TABLE} {}`, `delete table inet ${TABLE}`, `table inet ${TABLE} {`, `\tcomment "${A}"`, ...body, "}", ""].join("\n");
}

describe("connection lost after the host accepted CONFIRM", () => {
  it("says the new ruleset is live, and it is", async () => {
    await applyOk("t1", allowScript(A, 80));
    // Persisting blocks on a FIFO where the owner file is written, so the host
    // sits after "committed"; then the connection is cut from the host's side.
    const fifo = `/etc/nftsg/${TABLE}.owner.tmp`;
    expect((await lab.exec("t1", `mkfifo ${fifo}`)).code).toBe(0);
    try {
      const pending = hostError(applyOk("t1", allowScript(A, 81)));
      let cut = 0;
      for (let i = 0; i < 100 && cut === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        // The confirmed ruleset was moved into place: the shell is persisting.
        const persisting = await lab.exec("t1", `grep -c 'dport 81 ' /etc/nftsg/${TABLE}.nft`);
        if (persisting.stdout.trim() === "1") cut = await cutSshConnections(lab, "t1");
      }
      expect(cut).toBeGreaterThan(0);
      const e = await pending;
      expect(e.message).toMatch(/new ruleset is live/);
      expect(e.message).not.toMatch(/restores its previous ruleset/);
      expect(await liveTable(lab, "t1")).toContain("tcp dport 81 accept");
    } finally {
      // Unblock the waiting shell (a reader on the FIFO), then put a plain owner file back.
      await lab.exec("t1", `timeout 2 cat ${fifo} >/dev/null; sleep 0.5; rm -f ${fifo} /etc/nftsg/${TABLE}.owner; printf '%s\\n' ${A} > /etc/nftsg/${TABLE}.owner`);
    }
  });
});

describe("SSH output decoded as a stream", () => {
  it("a large listing of non-ASCII descriptions reads back byte-identical", async () => {
    const script = nonAsciiScript(1500);
    const r = await applyOk("t2", script, { rollbackSeconds: 30 });
    expect(Buffer.byteLength(r.listing)).toBeGreaterThan(100_000);
    expect(r.listing).not.toContain("\uFFFD");
    expect(r.listing).toBe(await liveTable(lab, "t2"));
    const live = await readLive(connectionTo(lab, "t2"), TABLE, {});
    expect(live.listing).not.toContain("\uFFFD");
    expect(live.listing).toBe(await liveTable(lab, "t2"));
    await removeTable(connectionTo(lab, "t2"), TABLE, { owner: A });
  });
});

describe("a table nftsg did not create", () => {
  const DEBIAN_FILTER = [
    "table inet filter {",
    "\tchain input {",
    "\t\ttype filter hook input priority filter; policy accept;",
    "\t}",
    "\tchain forward {",
    "\t\ttype filter hook forward priority filter; policy accept;",
    "\t}",
    "}",
    "",
  ].join("\n");
  const filterScript = () => allowScript(A, 80).replaceAll(`inet ${TABLE}`, "inet filter");
  const listFilter = async () => (await lab.exec("t3", "nft list table inet filter")).stdout;

  it("is refused without takeover, naming the table and the option; delete leaves it; takeover replaces it", async () => {
    expect((await lab.exec("t3", "nft -f -", { input: DEBIAN_FILTER })).code).toBe(0);
    const before = await listFilter();
    const e = await hostError(applyAtomically(connectionTo(lab, "t3"), "filter", filterScript(), { facts: SCRIPT_FACTS, owner: A, rollbackSeconds: 10 }));
    expect(e.kind).toBe("owner");
    expect(e.message).toMatch(/table inet filter already exists and was not created by nftsg/);
    expect(e.message).toMatch(/takeover/);
    expect(await listFilter()).toBe(before);

    const removed = await removeTable(connectionTo(lab, "t3"), "filter", { owner: A });
    expect(removed.notes.join("\n")).toMatch(/not created by nftsg; left in place/);
    expect(await listFilter()).toBe(before);

    await applyAtomically(connectionTo(lab, "t3"), "filter", filterScript(), { facts: SCRIPT_FACTS, owner: A, rollbackSeconds: 10, takeover: true });
    expect(await listFilter()).toContain(`comment "${A}"`);
    await removeTable(connectionTo(lab, "t3"), "filter", { owner: A });
    expect((await lab.exec("t3", "nft list table inet filter")).code).not.toBe(0);
  });
});

describe("the lockout probe logs in", () => {
  // sshd still sends its banner on a new connection, but nothing after it
  // gets out: a stand-in for egress rules that break the login (LDAP, SSSD,
  // PAM) while the banner still appears. Connections that existed before the
  // apply (the running apply's own) carry no mark and are unaffected. Written
  // as nft lists it: the host compares the read-back before confirming.
  const bannerOnly = () =>
    [
      `table inet ${TABLE} {}`,
      `delete table inet ${TABLE}`,
      `table inet ${TABLE} {`,
      `\tcomment "${A}"`,
      "\tchain input {",
      "\t\ttype filter hook input priority filter; policy accept;",
      "\t\ttcp dport 22 ct state new ct mark set 0x00000002",
      "\t}",
      "\tchain output {",
      "\t\ttype filter hook output priority filter; policy accept;",
      "\t\ttcp sport 22 ct mark 0x00000002 ct reply packets > 2 drop",
      "\t}",
      "}",
      "",
    ].join("\n");

  it("a ruleset under which sshd answers but no new login completes is rolled back as a lockout", async () => {
    expect((await lab.exec("t2", "sysctl -qw net.netfilter.nf_conntrack_acct=1")).code).toBe(0);
    await applyOk("t2", allowScript(A, 80));
    const before = await liveTable(lab, "t2");
    const e = await hostError(applyOk("t2", bannerOnly()));
    expect(e.kind).toBe("lockout");
    expect(e.message).toMatch(/a new SSH login, key exchange and authentication, failed/);
    expect(await liveTable(lab, "t2")).toBe(before);
  });
});

/** A script with its real hash: an Attachment refuses a script that does not match its hash. */
function scripted(script: string): { script: string; hash: string } {
  return { script, hash: createHash("sha256").update(script).digest("hex") };
}

describe("jump host keys are recorded on first use and then enforced", () => {
  it("the Attachment records the jump host's key and refuses a changed one; a pinned key still wins", async () => {
    // The handler loads its modules lazily with require(): use the built code.
    const { attachmentHandlers } = requireDist<typeof import("../provider/handlers/attachment")>("provider/handlers/attachment.js");
    const handlers = attachmentHandlers();
    const jump = lab.host("t1");
    const connection = connectionTo(lab, "t3", { proxy: connectionTo(lab, "t1") });
    const props = {
      fleet: "f", hostName: "t3", address: lab.host("t3").ipv4, port: 22, connection, table: TABLE, owner: `${A}/host=t3`,
      takeover: true, rollbackSeconds: 10, rules: "", ...scripted(allowScript(`${A}/host=t3`, 80)),
    };
    const created = await handlers.create(props);
    expect(created.outs.proxyHostKey).toBe(`${jump.ipv4}:22 ${jump.hostPublicKey}`);

    // The jump host now presents another key (here: t2's recorded in its place).
    const tampered = { ...created.outs, proxyHostKey: `${jump.ipv4}:22 ${lab.host("t2").hostPublicKey}` };
    const next = { ...props, ...scripted(allowScript(`${A}/host=t3`, 81)) };
    const before = await liveTable(lab, "t3");
    await expect(handlers.update(created.id, tampered, next)).rejects.toThrow(/host key for .* changed.*jump host's key was recorded on first use/s);
    await expect(handlers.read(created.id, tampered)).rejects.toThrow(/changed/);
    expect(await liveTable(lab, "t3")).toBe(before);

    // Recorded right: accepted; a pin of the real key overrides the record.
    const updated = await handlers.update(created.id, created.outs, next);
    expect(updated.outs.proxyHostKey).toBe(created.outs.proxyHostKey);
    const pinned = { ...next, connection: { ...connection, proxy: { ...connection.proxy!, hostKey: jump.hostPublicKey } } };
    await handlers.update(created.id, tampered, { ...pinned, ...scripted(allowScript(`${A}/host=t3`, 82)) });
    expect(await liveTable(lab, "t3")).toContain("tcp dport 82 accept");
    await handlers.delete(created.id, { ...updated.outs, ...pinned });
  });
});

describe("a failsafe port nothing listens on", () => {
  it("is refused before anything changes, pointing at failsafe.port", async () => {
    const withFailsafe = (port: number) =>
      allowScript(A, 80).replace('\t\ttcp dport 22 accept\n', `\t\ttcp dport ${port} accept comment "failsafe ssh"\n`);
    // Its facts, as the compiler would state them: the apply never reads the port out of the script.
    const facts = (port: number) => ({ failsafePort: port, localInterfaces: [] });
    expect(withFailsafe(2201)).toContain('tcp dport 2201 accept comment "failsafe ssh"');
    await applyOk("t2", withFailsafe(22), { facts: facts(22) });
    const before = await liveTable(lab, "t2");
    const e = await hostError(applyOk("t2", withFailsafe(2201), { facts: facts(2201) }));
    expect(e.kind).toBe("preflight");
    expect(e.message).toMatch(/failsafe opens tcp port 2201 for SSH, but nothing listens on that port.*set failsafe\.port/);
    expect(await liveTable(lab, "t2")).toBe(before);
  });
});

describe("a jump host's apply proves the path to the hosts managed through it (item 8)", () => {
  // t1 is the jump host of t3. Its new ruleset accepts SSH (so its own login
  // probe passes) but its egress drops new connections to t3's SSH port: the
  // provider would reach t1 and never t3 again.
  const JUMP = "t1";
  const TARGET = "t3";
  const blocksEgressTo = (address: string, port: number) =>
    allowScript(A, port).replace(
      /\n}\n$/,
      `\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\t\tip daddr ${address} tcp dport 22 ct state new drop\n\t}\n}\n`,
    );
  // The Attachment refuses a script that does not match its hash.
  const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
  const targets = () => [{ name: TARGET, host: lab.host(TARGET).ipv4, port: 22 }];
  const bootFile = () => hostFile(lab, JUMP, `/etc/nftsg/${TABLE}.nft`);
  const viaJump = () => connectionTo(lab, TARGET, { proxy: { host: lab.host(JUMP).ipv4, user: "root", privateKey: lab.privateKey } });

  it("a new ruleset whose egress blocks the jump host's target is rolled back as a lockout naming the target; the old ruleset stays", async () => {
    await applyOk(JUMP, allowScript(A, 80));
    const before = await liveTable(lab, JUMP);
    const bootBefore = await bootFile();
    expect(before).toContain("tcp dport 80 accept");
    expect(await lab.probe(JUMP, lab.host(TARGET).ipv4, { proto: "tcp", port: 22 })).toBe(true);

    const script = blocksEgressTo(lab.host(TARGET).ipv4, 81);
    expect(script).toContain(`ip daddr ${lab.host(TARGET).ipv4} tcp dport 22 ct state new drop`);
    const e = await hostError(applyOk(JUMP, script, { jumpTargets: targets() } as Partial<ApplyOptions>));
    expect(e.kind).toBe("lockout");
    expect(e.message).toMatch(new RegExp(`cut the management path from this host \\(their jump host\\) to ${TARGET} \\(${lab.host(TARGET).ipv4.replaceAll(".", "\\.")}:22\\), which nftsg reaches only through this host`));
    expect(e.message).toMatch(/the host was rolled back to its previous ruleset/);
    // The old ruleset is live, persisted as before, and the path works again.
    expect(await liveTable(lab, JUMP)).toBe(before);
    expect(await bootFile()).toBe(bootBefore);
    expect(await lab.probe(JUMP, lab.host(TARGET).ipv4, { proto: "tcp", port: 22 })).toBe(true);
    await applyAtomically(viaJump(), TABLE, allowScript(A, 90), { facts: SCRIPT_FACTS, owner: A, rollbackSeconds: 10 });
    expect(await liveTable(lab, TARGET)).toContain("tcp dport 90 accept");
  });

  it("through the jump host's Attachment (jumpTargets): the update fails as a lockout and the host keeps its table", async () => {
    const { attachmentHandlers } = requireDist<typeof import("../provider/handlers/attachment")>("provider/handlers/attachment.js");
    const handlers = attachmentHandlers();
    const owner = `${A}/host=${JUMP}`;
    const props = {
      fleet: "f", hostName: JUMP, address: lab.host(JUMP).ipv4, port: 22, connection: connectionTo(lab, JUMP), table: TABLE, owner,
      takeover: true, rollbackSeconds: 10, rules: "", script: allowScript(owner, 80), hash: sha256(allowScript(owner, 80)), jumpTargets: targets(),
    };
    const created = await handlers.create(props);
    const before = await liveTable(lab, JUMP);
    const bootBefore = await bootFile();
    const blocking = blocksEgressTo(lab.host(TARGET).ipv4, 81).replaceAll(`comment "${A}"`, `comment "${owner}"`);
    const next = { ...props, script: blocking, hash: sha256(blocking) };
    await expect(handlers.update(created.id, created.outs, next)).rejects.toThrow(
      new RegExp(`${JUMP} \\(.*management path from this host \\(their jump host\\) to ${TARGET}.*rolled back to its previous ruleset`, "s"),
    );
    expect(await liveTable(lab, JUMP)).toBe(before);
    expect(await bootFile()).toBe(bootBefore);
    // A ruleset that keeps the path open is confirmed.
    await handlers.update(created.id, created.outs, { ...props, script: allowScript(owner, 82), hash: sha256(allowScript(owner, 82)) });
    expect(await liveTable(lab, JUMP)).toContain("tcp dport 82 accept");
  });

  it("a target the jump host could not reach before the change either is reported, not required", async () => {
    // Nothing listens on t3:2999: refused under the old ruleset as under the new one.
    const r = await applyOk(JUMP, allowScript(A, 83), { jumpTargets: [...targets(), { name: "nobody", host: lab.host(TARGET).ipv4, port: 2999 }] } as Partial<ApplyOptions>);
    expect(await liveTable(lab, JUMP)).toContain("tcp dport 83 accept");
    const warnings = (r as { warnings?: string[] }).warnings ?? [];
    expect(warnings.join("\n")).toMatch(new RegExp(`nobody \\(${lab.host(TARGET).ipv4.replaceAll(".", "\\.")}:2999\\) was not reachable from this host before the change either`));
    expect(warnings).toHaveLength(1);
  });
});
