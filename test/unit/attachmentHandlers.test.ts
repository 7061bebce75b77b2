// The Attachment's handlers on fake hosts (test/support/fakeHost.ts, held to
// a real host by test/hostContract.test.ts): what each operation does to the
// host and records in state — trust on first use, drift of the table and of
// its boot loading, bookkeeping-only updates, new addresses, table renames,
// instances, removal. Milliseconds, no root. The engine's side of these
// paths (create-before-delete, the CLI's output) stays proven end to end in
// test/e2e/replacement.test.ts, persistence.test.ts and bookkeeping.test.ts.
import { createHash } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import type { AttachmentEnv, AttachmentProps } from "../../provider/handlers/attachment";
import { compileFleet } from "../../provider/compiler/compile";
import type { ConnectionDeclaration, FleetDeclaration, RulesetFacts } from "../../provider/declaration/declaration";
import { CONTAINER_INTERFACES_DEFAULT } from "../../provider/vocabulary/containers";
import type { ApplyOptions, HostOps } from "../../provider/host/ops";
import { ATTACHMENT_FORMAT, encodeScript } from "../../provider/handlers/scriptEncoding";
import { FakeHosts, type FakeMachine } from "../support/fakeHost";
import { requireDist } from "../support/dist";

// From dist: the handlers load their modules lazily with require(), as in the provider process.
const { attachmentHandlers } = requireDist<typeof import("../../provider/handlers/attachment")>("provider/handlers/attachment.js");

const OWNER = "o/p/s/host=db-1";
const ADDRESS = "198.18.0.21";

function fleet(port = 5432): FleetDeclaration {
  return {
    securityGroups: [{ name: "db", ingress: [{ protocol: "tcp", ports: port, cidrs: ["198.18.0.0/16"], description: "postgres" }] }],
    hosts: [{ name: "db-1", connection: { host: ADDRESS }, securityGroups: ["db"] }],
  };
}

/**
 * The inputs the SDK would send for db-1; with `legacy`, as a version from
 * before facts existed sent them (no `facts`: the handler derives them).
 */
function inputs(opts: { port?: number; table?: string; address?: string; hostKey?: string; empty?: boolean; legacy?: boolean; decl?: FleetDeclaration } = {}): AttachmentProps {
  const table = opts.table ?? "nftsg";
  const r = compileFleet({ ...(opts.decl ?? fleet(opts.port)), table }, { owners: { "db-1": OWNER }, lineStyle: "groups" })["db-1"]!;
  const script = opts.empty ? "" : r.script;
  const address = opts.address ?? ADDRESS;
  return {
    fleet: "lab", hostName: "db-1", address, port: 22,
    connection: { host: address, user: "root", privateKey: "KEY", ...(opts.hostKey ? { hostKey: opts.hostKey } : {}) },
    table, owner: OWNER, takeover: false, rollbackSeconds: 30,
    format: ATTACHMENT_FORMAT, rules: opts.empty ? "" : r.lines.join("\n"), scriptBrotli: encodeScript(script),
    hash: opts.empty ? "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" : r.hash,
    ...(opts.legacy ? {} : { facts: opts.empty ? { localInterfaces: [] } : r.facts }),
  };
}

let hosts: FakeHosts;
let m: FakeMachine;
let warnings: string[];
let handlers: ReturnType<typeof attachmentHandlers>;

beforeEach(() => {
  hosts = new FakeHosts();
  m = hosts.add(ADDRESS, { name: "db-1" });
  warnings = [];
  const env: AttachmentEnv = { host: () => hosts, warn: async (w) => void warnings.push(w) };
  handlers = attachmentHandlers(env);
});

async function created(i = inputs()) {
  return (await handlers.create(i)).outs;
}

describe("Attachment handlers on fake hosts", () => {
  it("create applies, persists and records the host key (trust on first use) and instance", async () => {
    const outs = await created();
    expect(m.tables.get("nftsg")?.listing).toContain("tcp dport 5432 accept");
    expect(m.bootLoaded.has("nftsg")).toBe(true);
    expect(outs.hostKey).toBe(m.hostKey);
    expect(outs.instance).toMatch(/^[a-f0-9]{32}$/);
    expect(m.instanceFiles.get("nftsg")).toBe(outs.instance);
    expect(outs).not.toHaveProperty("scriptBrotli");
  });

  it("refresh of an untouched host reports nothing; a hand edit, a missing table or boot file is drift that `up` repairs", async () => {
    const outs = await created();
    const same = await handlers.read("id", outs);
    expect(same.props).toEqual(outs);

    m.tables.get("nftsg")!.listing = m.tables.get("nftsg")!.listing.replace("5432", "5433");
    const edited = (await handlers.read("id", outs)).props!;
    expect(edited.rules).toMatch(/^# nftsg: the live table differs/);
    expect((await handlers.diff("id", edited, inputs())).changes).toBe(true);
    const repaired = (await handlers.update("id", edited, inputs())).outs;
    expect(m.tables.get("nftsg")?.listing).toContain("5432");
    expect((await handlers.read("id", repaired)).props).toEqual(repaired);

    m.tables.clear();
    expect((await handlers.read("id", repaired)).props!.rules).toContain("the table is missing");

    await handlers.update("id", (await handlers.read("id", repaired)).props!, inputs());
    m.bootFiles.delete("nftsg");
    expect((await handlers.read("id", repaired)).props!.rules).toContain("not loaded at boot");
    m.reboot();
    expect(m.tables.has("nftsg")).toBe(false);
  });

  it("a bookkeeping-only update (rotated key, rollbackSeconds) contacts no host", async () => {
    const outs = await created();
    const calls = m.calls.length;
    const news = { ...inputs(), connection: { ...inputs().connection, privateKey: "ROTATED" }, rollbackSeconds: 60 };
    expect((await handlers.diff("id", outs, news)).changes).toBe(true);
    const after = (await handlers.update("id", outs, news)).outs;
    expect(m.calls.length).toBe(calls);
    expect(after.instance).toBe(outs.instance);
    expect(after.hostKey).toBe(outs.hostKey);
  });

  it("the next real change after a bookkeeping-only update is applied with the recorded settings", async () => {
    const applies: { conn: ConnectionDeclaration; opts: ApplyOptions }[] = [];
    const spy: HostOps = {
      applyAtomically: (conn, table, script, opts) => (applies.push({ conn, opts }), hosts.applyAtomically(conn, table, script, opts)),
      readLive: (conn, table, opts) => hosts.readLive(conn, table, opts),
      removeTable: (conn, table, opts) => hosts.removeTable(conn, table, opts),
    };
    const spied = attachmentHandlers({ host: () => spy, warn: async () => undefined });
    const outs = (await spied.create(inputs())).outs;
    const settings = (i: AttachmentProps): AttachmentProps => ({ ...i, connection: { ...i.connection, dialErrorLimit: 3, perDialTimeout: 7 }, rollbackSeconds: 20 });
    const recorded = (await spied.update("id", outs, settings(inputs()))).outs;
    expect(applies).toHaveLength(1);
    await spied.update("id", recorded, settings(inputs({ port: 5433 })));
    expect(applies).toHaveLength(2);
    expect(applies[1]!.conn).toMatchObject({ dialErrorLimit: 3, perDialTimeout: 7 });
    expect(applies[1]!.opts).toMatchObject({ rollbackSeconds: 20, expectedHostKey: outs.hostKey, instance: outs.instance });
    expect(m.tables.get("nftsg")?.listing).toContain("tcp dport 5433 accept");
  });

  it.each<[string, (m: FakeMachine) => void]>([
    ["the boot file removed", (host) => void host.bootFiles.delete("nftsg")],
    ["its boot loading removed (the include line or the unit)", (host) => void host.bootLoaded.delete("nftsg")],
    ["the boot file edited", (host) => void host.bootFiles.set("nftsg", `${host.bootFiles.get("nftsg")}add rule inet nftsg input tcp dport 9999 accept\n`)],
  ])("a host that would come up open after a reboot (%s) is drift on refresh that update repairs", async (_what, breakIt) => {
    const outs = await created();
    const live = m.tables.get("nftsg")!.listing;
    const boot = m.bootFiles.get("nftsg");
    breakIt(m);
    // The live table is untouched: only a reboot would show the hole.
    expect(m.tables.get("nftsg")!.listing).toBe(live);
    const drifted = (await handlers.read("id", outs)).props!;
    expect(drifted.rules).toMatch(/^# nftsg: the live table differs.*: (the table is not loaded at boot|the file loaded at boot differs)/);
    expect((await handlers.diff("id", drifted, inputs())).changes).toBe(true);
    const repaired = (await handlers.update("id", drifted, inputs())).outs;
    expect(m.bootFiles.get("nftsg")).toBe(boot);
    expect(m.bootLoaded.has("nftsg")).toBe(true);
    expect((await handlers.read("id", repaired)).props).toEqual(repaired);
    expect((await handlers.diff("id", repaired, inputs())).changes).toBe(false);
  });

  it("a new address is an update checked against the recorded key: the same machine passes, another is refused until pinned", async () => {
    const outs = await created();
    // The same machine under its IPv6 address: an update, never a replacement (whose create would trust any key).
    hosts.alias("2001:db8::21", m);
    const viaV6 = inputs({ address: "2001:db8::21", port: 5433 });
    expect((await handlers.diff("id", outs, viaV6)).replaces).toEqual([]);
    const moved = (await handlers.update("id", outs, viaV6)).outs;
    expect(moved.instance).toBe(outs.instance);
    expect(m.tables.get("nftsg")?.listing).toContain("tcp dport 5433 accept");

    // The entry now points at another machine: its key is not the recorded one.
    const other = hosts.add("198.18.0.99", { name: "impostor" });
    const elsewhere = inputs({ address: "198.18.0.99", port: 5434 });
    expect((await handlers.diff("id", moved, elsewhere)).replaces).toEqual([]);
    await expect(handlers.update("id", moved, elsewhere)).rejects.toThrow(/host key/);
    expect(other.tables.size).toBe(0);
    expect(m.tables.get("nftsg")?.listing).toContain("tcp dport 5433 accept");
    await handlers.update("id", moved, inputs({ address: "198.18.0.99", hostKey: other.hostKey }));
    expect(other.tables.has("nftsg")).toBe(true);
  });

  it("a table rename applies the new table before removing the old; a failed removal leaves both and fails loudly", async () => {
    const outs = await created();
    const renamed = (await handlers.update("id", outs, inputs({ table: "nftsg2" }))).outs;
    expect([...m.tables.keys()]).toEqual(["nftsg2"]);

    m.failNext = { op: "remove", kind: "unreachable" };
    await expect(handlers.update("id", renamed, inputs({ table: "nftsg3" }))).rejects.toThrow(/table inet nftsg3 is applied, but table inet nftsg2 on 198\.18\.0\.21:22 \(renamed to nftsg3\) could not be removed/);
    expect([...m.tables.keys()].sort()).toEqual(["nftsg2", "nftsg3"]);
  });

  it("a lockout leaves the host on its previous ruleset and names the host", async () => {
    const outs = await created();
    const before = m.tables.get("nftsg")!.listing;
    m.lockoutNext = true;
    await expect(handlers.update("id", outs, inputs({ port: 6432 }))).rejects.toThrow(/db-1.*would have cut SSH access/s);
    expect(m.tables.get("nftsg")!.listing).toBe(before);
  });

  it("a host attached to no group keeps no table", async () => {
    const outs = await created();
    await handlers.update("id", outs, inputs({ empty: true }));
    expect(m.tables.size).toBe(0);
    expect(m.bootLoaded.size).toBe(0);
  });

  it("delete removes what this instance applied, and leaves a table another instance confirmed since", async () => {
    const first = await created();
    // The same host declared anew (a moved host): the new Attachment applies first.
    const second = await created();
    expect(second.instance).not.toBe(first.instance);
    await handlers.delete("id", first);
    expect(m.tables.has("nftsg")).toBe(true);
    await handlers.delete("id", second);
    expect(m.tables.has("nftsg")).toBe(false);
  });

  it("errors never carry the private key", async () => {
    m.reachable = false;
    const err = await handlers.create({ ...inputs(), connection: { ...inputs().connection, privateKey: "SECRET-KEY-TEXT" } }).catch((e: Error) => e);
    expect(String(err)).toMatch(/db-1/);
    expect(String(err)).not.toContain("SECRET-KEY-TEXT");
  });
});

describe("the script's facts (failsafe port, local interfaces) and state written before they existed", () => {
  /** What the compiler says of db-1's script: the default failsafe and container interfaces. */
  const COMPILED: RulesetFacts = { failsafePort: 22, localInterfaces: [...CONTAINER_INTERFACES_DEFAULT] };
  /** State as a version from before facts wrote it: the same outputs, without facts. */
  const withoutFacts = (p: AttachmentProps): AttachmentProps => {
    const { facts: _facts, ...rest } = p;
    return rest as AttachmentProps;
  };

  it("create hands the host the facts input as given: the script is not parsed for them", async () => {
    const outs = await created();
    expect(m.appliedFacts).toEqual([{ table: "nftsg", facts: COMPILED }]);
    expect(outs.facts).toEqual(COMPILED);
    // Facts that differ from what the script says reach the host as they are (the compiler is their only source).
    await handlers.update("id", outs, { ...inputs({ port: 5433 }), facts: { failsafePort: 2201, localInterfaces: ["docker0"] } });
    expect(m.appliedFacts[1]).toEqual({ table: "nftsg", facts: { failsafePort: 2201, localInterfaces: ["docker0"] } });
  });

  it("an upgrade shows no change: old state without facts against inputs with them, same script", async () => {
    const old = withoutFacts(await created());
    expect(old).not.toHaveProperty("facts");
    expect((await handlers.diff("id", old, inputs())).changes).toBe(false);
    // Nor do facts alone, in either direction: they follow from the script, whose hash is compared.
    const outs = await created();
    expect((await handlers.diff("id", outs, { ...inputs(), facts: { localInterfaces: [] } })).changes).toBe(false);
    expect((await handlers.diff("id", outs, inputs({ legacy: true }))).changes).toBe(false);
  });

  it("old state without facts still applies: an update from it sends the new inputs' facts", async () => {
    const old = withoutFacts(await created());
    const outs = (await handlers.update("id", old, inputs({ port: 5433 }))).outs;
    expect(m.tables.get("nftsg")?.listing).toContain("tcp dport 5433 accept");
    expect(m.appliedFacts.at(-1)).toEqual({ table: "nftsg", facts: COMPILED });
    expect(outs.facts).toEqual(COMPILED);
  });

  it("inputs without facts (format 2) still apply: derived once from the script, equal to the compiler's, and recorded", async () => {
    const outs = await created(inputs({ legacy: true }));
    expect(m.appliedFacts).toEqual([{ table: "nftsg", facts: COMPILED }]);
    expect(outs.facts).toEqual(COMPILED);
    const updated = (await handlers.update("id", withoutFacts(outs), inputs({ legacy: true, port: 5433 }))).outs;
    expect(m.appliedFacts.at(-1)).toEqual({ table: "nftsg", facts: COMPILED });
    expect(updated.facts).toEqual(COMPILED);
    expect(m.tables.get("nftsg")?.listing).toContain("tcp dport 5433 accept");
  });

  it("a bookkeeping-only update of old state records the derived facts without contacting the host", async () => {
    const old = withoutFacts(await created(inputs({ legacy: true })));
    const calls = m.calls.length;
    const news = { ...inputs({ legacy: true }), rollbackSeconds: 60 };
    const outs = (await handlers.update("id", old, news)).outs;
    expect(m.calls.length).toBe(calls);
    expect(outs.facts).toEqual(COMPILED);
  });

  it("format 1 state (the script in plain text, no facts) still applies, with the facts derived from it", async () => {
    const { scriptBrotli: _gz, format: _f, ...rest } = inputs({ legacy: true, port: 5433 });
    const format1: AttachmentProps = { ...rest, script: compileFleet(fleet(5433), { owners: { "db-1": OWNER } })["db-1"]!.script };
    format1.hash = createHash("sha256").update(format1.script!).digest("hex");
    const outs = (await handlers.create(format1)).outs;
    expect(m.tables.get("nftsg")?.listing).toContain("tcp dport 5433 accept");
    expect(m.appliedFacts).toEqual([{ table: "nftsg", facts: COMPILED }]);
    expect(outs.facts).toEqual(COMPILED);
    expect(outs.script).toBe(format1.script);
  });

  it.each<[string, Partial<FleetDeclaration>, RulesetFacts]>([
    ["an observed host (its failsafe rule carries a counter)", { observe: { mode: "staged" } }, COMPILED],
    ["no failsafe, one container interface", { failsafe: { ssh: false }, containers: { interfaces: ["docker0"] } }, { localInterfaces: ["docker0"] }],
    ["several container patterns, no container paths", { containers: { interfaces: ["virbr0", "br-*"], publishedPorts: false, egress: false } }, { failsafePort: 22, localInterfaces: ["br-*", "virbr0"] }],
  ])("old inputs of %s: the derived facts are the compiler's", async (_what, extra, expected) => {
    const decl = { ...fleet(), ...extra };
    const compiled = inputs({ decl });
    expect(compiled.facts).toEqual(expected);
    const outs = await created(inputs({ decl, legacy: true }));
    expect(m.appliedFacts).toEqual([{ table: "nftsg", facts: expected }]);
    expect(outs.facts).toEqual(expected);
  });

  it.each<[string, unknown]>([
    ["a pattern the shell must not see", { failsafePort: 22, localInterfaces: ["br-*; reboot"] }],
    ["a port that is none", { failsafePort: 0, localInterfaces: [] }],
    ["no interface list", { failsafePort: 22 }],
    ["not an object", "22"],
  ])("malformed facts (%s) are refused in check and before contacting the host", async (_what, facts) => {
    const bad = { ...inputs(), facts } as unknown as AttachmentProps;
    const { failures } = await handlers.check({} as AttachmentProps, bad);
    expect(failures.map((f: { property: string }) => f.property)).toEqual(["facts"]);
    await expect(handlers.create(bad)).rejects.toThrow(/refused before contacting the host: facts/);
    expect(m.calls).toEqual([]);
  });

  it("a drift record carries no facts (they are the compiled script's, not the live listing's); up repairs with the inputs' facts", async () => {
    const outs = await created();
    m.tables.get("nftsg")!.listing = m.tables.get("nftsg")!.listing.replace("5432", "5433");
    const drifted = (await handlers.read("id", outs)).props!;
    expect(drifted.rules).toMatch(/^# nftsg: the live table differs/);
    expect(drifted).not.toHaveProperty("facts");
    const repaired = (await handlers.update("id", drifted, inputs())).outs;
    expect(m.appliedFacts.at(-1)).toEqual({ table: "nftsg", facts: COMPILED });
    expect(repaired.facts).toEqual(COMPILED);
  });
});
