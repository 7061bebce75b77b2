// What one run of the engine knows across Attachments, and what state keeps,
// on fake hosts: a host's table declared twice is refused; an Attachment that
// is no longer declared does not remove a table whose successor has not
// applied; a failure after the host confirmed still records state; tables an
// update leaves behind are removed, or kept as pending removals until they
// are; a table left in place by a delete is reported.
import { beforeEach, describe, expect, it } from "vitest";
import { compileFleet } from "../../provider/compiler/compile";
import type { AttachmentEnv, AttachmentProps } from "../../provider/handlers/attachment";
import { ATTACHMENT_FORMAT, encodeScript } from "../../provider/handlers/scriptEncoding";
import { FakeHosts, type FakeMachine } from "../support/fakeHost";
import { requireDist } from "../support/dist";

const { attachmentHandlers } = requireDist<typeof import("../../provider/handlers/attachment")>("provider/handlers/attachment.js");
const { RunRegistry } = requireDist<typeof import("../../provider/handlers/runRegistry")>("provider/handlers/runRegistry.js");

const OWNER = "o/p/s/host=db-1";
const ADDRESS = "198.18.0.21";

function inputs(opts: { fleet?: string; address?: string; table?: string; port?: number; hostKey?: string } = {}): AttachmentProps {
  const table = opts.table ?? "nftsg";
  const r = compileFleet(
    {
      table,
      securityGroups: [{ name: "db", ingress: [{ protocol: "tcp", ports: opts.port ?? 5432, cidrs: ["198.18.0.0/16"] }] }],
      hosts: [{ name: "db-1", connection: { host: ADDRESS }, securityGroups: ["db"] }],
    },
    { owners: { "db-1": OWNER }, lineStyle: "groups" },
  )["db-1"]!;
  const address = opts.address ?? ADDRESS;
  return {
    fleet: opts.fleet ?? "lab", hostName: "db-1", address, port: 22,
    connection: { host: address, user: "root", ...(opts.hostKey ? { hostKey: opts.hostKey } : {}) },
    table, owner: OWNER, takeover: false, rollbackSeconds: 30,
    format: ATTACHMENT_FORMAT, rules: r.lines.join("\n"), scriptBrotli: encodeScript(r.script), hash: r.hash, verdict: "valid",
  };
}

let hosts: FakeHosts;
let m: FakeMachine;
let warnings: string[];

/** The handlers of one engine operation (one provider process, one registry). */
function run() {
  const env: AttachmentEnv = { host: () => hosts, warn: async (w) => void warnings.push(w), run: new RunRegistry() };
  return attachmentHandlers(env);
}

beforeEach(() => {
  hosts = new FakeHosts();
  m = hosts.add(ADDRESS, { name: "db-1" });
  warnings = [];
});

describe("one run, many Attachments", () => {
  it("a host's table declared by two Fleets is refused at the second check, naming the first", async () => {
    const h = run();
    expect((await h.check({} as AttachmentProps, inputs({ fleet: "a" }))).failures).toEqual([]);
    const { failures } = await h.check({} as AttachmentProps, inputs({ fleet: "b" }));
    expect(failures).toEqual([{ property: "connection.host", reason: expect.stringMatching(/also declared by Fleet a, host db-1/) }]);
    // Another table on the same host is another declaration.
    expect((await h.check({} as AttachmentProps, inputs({ fleet: "c", table: "other" }))).failures).toEqual([]);
  });

  it("a moved host whose new Attachment failed keeps its table: the old delete waits (continue-on-error)", async () => {
    const old = (await run().create(inputs({ fleet: "a" }))).outs;
    const before = m.tables.get("nftsg")!.listing;
    // The next run declares the host in Fleet b; its create fails at the host.
    const h = run();
    await h.check({} as AttachmentProps, inputs({ fleet: "b", port: 6432 }));
    m.lockoutNext = true;
    await expect(h.create(inputs({ fleet: "b", port: 6432 }))).rejects.toThrow(/would have cut SSH/);
    await expect(h.delete("id", old)).rejects.toThrow(/Fleet b, host db-1 declares it again and has not applied it yet/);
    expect(m.tables.get("nftsg")!.listing).toBe(before);
    // A later run where the successor applies: then the old delete leaves the new table alone.
    const later = run();
    await later.check({} as AttachmentProps, inputs({ fleet: "b", port: 6432 }));
    await later.create(inputs({ fleet: "b", port: 6432 }));
    await later.delete("id", old);
    expect(m.tables.get("nftsg")!.listing).toContain("6432");
    expect(warnings.join("\n")).toMatch(/another resource instance; left in place/);
  });

  it("a host removed from the declaration (no successor) is removed as before", async () => {
    const old = (await run().create(inputs())).outs;
    await run().delete("id", old);
    expect(m.tables.size).toBe(0);
  });
});

describe("state never loses a table", () => {
  it("a create that confirmed and then failed still records its state (id, instance, the table)", async () => {
    m.failAfterConfirmNext = true;
    const err = (await run().create(inputs()).catch((e) => e)) as Error & { id?: string; properties?: AttachmentProps };
    expect(err.message).toMatch(/saving it for boot/);
    expect(err.id).toBe("db-1@198.18.0.21:22/inet nftsg");
    expect(err.properties?.instance).toBe(m.instanceFiles.get("nftsg"));
    // So destroy finds and removes it.
    await run().delete("id", err.properties!);
    expect(m.tables.size).toBe(0);
  });

  it("a table rename whose old-table removal failed keeps the old table as a pending removal, retried by the next up and by delete", async () => {
    const first = (await run().create(inputs())).outs;
    m.failNext = { op: "remove", kind: "unreachable" };
    const err = (await run().update("id", first, inputs({ table: "nftsg2" })).catch((e) => e)) as Error & { properties?: AttachmentProps };
    expect(err.message).toMatch(/table inet nftsg2 is applied, but table inet nftsg on .* could not be removed/);
    expect(err.properties?.table).toBe("nftsg2");
    expect(err.properties?.pendingRemovals?.map((r) => r.table)).toEqual(["nftsg"]);
    expect([...m.tables.keys()].sort()).toEqual(["nftsg", "nftsg2"]);
    // Nothing else changed, but the pending removal makes it an update, which removes it.
    const state = err.properties!;
    expect((await run().diff("id", state, inputs({ table: "nftsg2" }))).changes).toBe(true);
    const done = (await run().update("id", state, inputs({ table: "nftsg2" }))).outs;
    expect([...m.tables.keys()]).toEqual(["nftsg2"]);
    expect(done.pendingRemovals).toBeUndefined();
  });

  it("delete removes pending tables too; one it cannot remove fails the delete (the resource stays)", async () => {
    const first = (await run().create(inputs())).outs;
    m.failNext = { op: "remove", kind: "unreachable" };
    const err = (await run().update("id", first, inputs({ table: "nftsg2" })).catch((e) => e)) as Error & { properties?: AttachmentProps };
    m.reachable = false;
    await expect(run().delete("id", err.properties!)).rejects.toThrow(/could not be removed/);
    m.reachable = true;
    await run().delete("id", err.properties!);
    expect(m.tables.size).toBe(0);
  });

  it("pointing an Attachment at another machine (a new pin) removes its table from the machine it left", async () => {
    const first = (await run().create(inputs())).outs;
    const other = hosts.add("198.18.0.99", { name: "new" });
    await run().update("id", first, inputs({ address: "198.18.0.99", hostKey: other.hostKey }));
    expect(other.tables.has("nftsg")).toBe(true);
    expect(m.tables.size).toBe(0);
  });

  it("the same machine under a new address keeps its table (its key is the one recorded)", async () => {
    const first = (await run().create(inputs())).outs;
    hosts.alias("2001:db8::21", m);
    await run().update("id", first, inputs({ address: "2001:db8::21" }));
    expect(m.tables.has("nftsg")).toBe(true);
  });

  it("a delete that leaves a table in place says so", async () => {
    const first = (await run().create(inputs())).outs;
    await run().create(inputs({ fleet: "b" }));
    await run().delete("id", first);
    expect(m.tables.has("nftsg")).toBe(true);
    expect(warnings).toEqual([expect.stringMatching(/db-1.*another resource instance; left in place/)]);
  });
});
