// An Attachment refuses, in its own check and again before it contacts a
// host, anything that is not a compiled ruleset of a valid declaration: a
// placeholder, no script where the compiler did not say "no table", a script
// that does not match its hash, an invalid verdict, an owner the host cannot
// record, a value still unknown. `pulumi up --target` of one Attachment runs
// that Attachment's check and nothing else, so this is what keeps an invalid
// declaration from reaching a host as "no table".
import { beforeEach, describe, expect, it } from "vitest";
import type { AttachmentEnv, AttachmentProps } from "../../provider/handlers/attachment";
import { encodeScript } from "../../provider/handlers/scriptEncoding";
import { UNKNOWN } from "../../provider/handlers/unknown";
import { FakeHosts, type FakeMachine } from "../support/fakeHost";
import { dbAttachment, DB_ADDRESS } from "../support/dbAttachment";
import { requireDist } from "../support/dist";

const { attachmentHandlers } = requireDist<typeof import("../../provider/handlers/attachment")>("provider/handlers/attachment.js");
const { verdictText } = requireDist<typeof import("../../provider/handlers/verdict")>("provider/handlers/verdict.js");
const { attachmentContent } = requireDist<typeof import("../../sdk/fleet")>("sdk/fleet.js");

/** What the SDK gives an Attachment when the compile of its host failed (sdk/fleet.ts): never a rejected registration. */
function contentOfFailedCompile(error: Error): Partial<AttachmentProps> {
  const c = attachmentContent(error);
  return { hash: c.hash, scriptBrotli: c.scriptBrotli, rules: c.rules, flows: c.flows, facts: undefined };
}
const compilerBug = Object.assign(new Error("Cannot read properties of undefined (reading 'ports')"), { name: "TypeError" });
const invalidDeclaration = Object.assign(new Error("invalid declaration"), { name: "FleetValidationError" });

const ADDRESS = DB_ADDRESS;
const EMPTY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const valid = (): AttachmentProps => dbAttachment().props;

let hosts: FakeHosts;
let m: FakeMachine;
let handlers: ReturnType<typeof attachmentHandlers>;

beforeEach(() => {
  hosts = new FakeHosts();
  m = hosts.add(ADDRESS);
  const env: AttachmentEnv = { host: () => hosts, warn: async () => undefined };
  handlers = attachmentHandlers(env);
});

const invalidVerdict = verdictText([
  { path: "securityGroups[0].ingress[0].cidrs[0]", message: "\"10.0.0.1/33\" is not a CIDR" },
  { path: "tests[1]", message: "expected deny, got allow:\n  web-1 -> db-1: allow" },
]);

describe("an Attachment refuses what is not a compiled ruleset of a valid declaration", () => {
  it.each<[string, Partial<AttachmentProps>, string[]]>([
    ["a placeholder of an invalid declaration", { hash: "invalid declaration", scriptBrotli: "", rules: "(invalid declaration)" }, ["hash"]],
    ["the SDK's content for an invalid declaration", contentOfFailedCompile(invalidDeclaration), ["hash"]],
    ["the SDK's content when the compiler failed for this host (a bug, not the declaration)", contentOfFailedCompile(compilerBug), ["hash"]],
    ["no script where the compiler did not say no table", { scriptBrotli: "" }, ["scriptBrotli"]],
    ["a script that does not match its hash", { scriptBrotli: encodeScript("table inet nftsg {}\n") }, ["scriptBrotli"]],
    ["an undecodable script", { scriptBrotli: "not brotli" }, ["scriptBrotli"]],
    ["an invalid verdict", { verdict: invalidVerdict }, ["securityGroups[0].ingress[0].cidrs[0]", "tests[1]"]],
    ["something that is not a verdict", { verdict: "ok" }, ["verdict"]],
    ["an owner too long to record", { owner: `o/${"p".repeat(80)}/stack/host=${"h".repeat(45)}` }, ["owner"]],
  ])("%s: check fails, create and update contact no host", async (_what, change, properties) => {
    const news = { ...valid(), ...change };
    const { failures } = await handlers.check({} as AttachmentProps, news);
    expect(failures.map((f: { property: string }) => f.property)).toEqual(properties);
    await expect(handlers.create(news)).rejects.toThrow(/refused before contacting the host/);
    const first = await handlers.create(valid());
    const before = m.tables.get("nftsg")!.listing;
    await expect(handlers.update("id", first.outs, news)).rejects.toThrow(/refused before contacting the host/);
    expect(m.calls.filter((c) => c.startsWith("apply") || c.startsWith("remove"))).toEqual(["apply nftsg"]);
    expect(m.tables.get("nftsg")!.listing).toBe(before);
  });

  it("the verdict's problems keep their paths and multi-line messages", async () => {
    const { failures } = await handlers.check({} as AttachmentProps, { ...valid(), verdict: invalidVerdict });
    expect(failures[1]).toEqual({ property: "tests[1]", reason: "expected deny, got allow:\n  web-1 -> db-1: allow" });
  });

  it("valid content passes; so does an explicit no-table, which removes the table", async () => {
    expect((await handlers.check({} as AttachmentProps, valid())).failures).toEqual([]);
    const noTable = { ...valid(), scriptBrotli: "", hash: EMPTY_HASH, rules: "" };
    expect((await handlers.check({} as AttachmentProps, noTable)).failures).toEqual([]);
    const first = await handlers.create(valid());
    await handlers.update("id", first.outs, noTable);
    expect(m.tables.size).toBe(0);
  });

  it("values unknown at preview pass check; if they ever reached create, nothing is applied", async () => {
    const preview = { ...valid(), scriptBrotli: UNKNOWN, hash: UNKNOWN, rules: UNKNOWN, verdict: UNKNOWN };
    expect((await handlers.check({} as AttachmentProps, preview)).failures).toEqual([]);
    await expect(handlers.create(preview)).rejects.toThrow(/still unknown/);
    expect(m.calls).toEqual([]);
  });

  it("state written before verdicts existed still updates", async () => {
    const { verdict: _v, ...old } = valid();
    const first = await handlers.create(old);
    expect((await handlers.diff("id", first.outs, valid())).changes).toBe(false);
  });
});
