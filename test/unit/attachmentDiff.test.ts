// The Attachment's diff across input formats: state written by earlier
// versions (plain script, one rule line per peer address, no format marker)
// must read as unchanged when the compiled script is byte-identical, and
// never as a replacement.
import { describe, expect, it } from "vitest";
import { attachmentHandlers, type AttachmentProps } from "../../provider/handlers/attachment";
import { decodeScript, encodeScript, ATTACHMENT_FORMAT } from "../../provider/handlers/scriptEncoding";
import { compileFleet } from "../../provider/compiler/compile";
import type { FleetDeclaration } from "../../provider/declaration/declaration";
import { UNKNOWN } from "../../provider/handlers/unknown";

const decl: FleetDeclaration = {
  securityGroups: [
    { name: "web", ingress: [{ protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0"], description: "https" }] },
    { name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["web"], description: "postgres from web" }] },
  ],
  hosts: [
    { name: "web-1", connection: { host: "198.18.0.11" }, securityGroups: ["web"] },
    { name: "web-2", connection: { host: "198.18.0.12" }, securityGroups: ["web"] },
    { name: "db-1", connection: { host: "198.18.0.21" }, securityGroups: ["db"] },
  ],
};
const owner = "o/p/s/host=db-1";

const base = {
  fleet: "lab", hostName: "db-1", address: "198.18.0.21", port: 22,
  connection: { host: "198.18.0.21", user: "root" }, table: "nftsg", owner, takeover: false, rollbackSeconds: 30,
};

/** Outputs as the previous version wrote them: script in plain text, one rule line per peer address. */
function formatOne(d: FleetDeclaration): AttachmentProps {
  const r = compileFleet(d, { owner })["db-1"]!;
  return { ...base, rules: r.lines.join("\n"), script: r.script, hash: r.hash, hostKey: "ssh-ed25519 AAAA" };
}

/** Inputs as this version sends them. */
function formatTwo(d: FleetDeclaration): AttachmentProps {
  const r = compileFleet(d, { owners: { "db-1": owner }, lineStyle: "groups" })["db-1"]!;
  return { ...base, format: ATTACHMENT_FORMAT, rules: r.lines.join("\n"), scriptBrotli: encodeScript(r.script), hash: r.hash };
}

function withNewWebMember(): FleetDeclaration {
  return { ...decl, hosts: [...decl.hosts, { name: "web-3", connection: { host: "198.18.0.13" }, securityGroups: ["web"] }] };
}

const { diff } = attachmentHandlers();

describe("Attachment diff", () => {
  it.each<[string, AttachmentProps, AttachmentProps, boolean, string[]]>([
    ["format 1 state, same script: no change", formatOne(decl), formatTwo(decl), false, []],
    ["format 1 state, new peer member: update", formatOne(decl), formatTwo(withNewWebMember()), true, []],
    ["format 2, same: no change", formatTwo(decl), formatTwo(decl), false, []],
    ["format 2, new peer member: update", formatTwo(decl), formatTwo(withNewWebMember()), true, []],
    ["format 2, script unknown at preview: update", formatTwo(decl), { ...formatTwo(decl), scriptBrotli: UNKNOWN, hash: UNKNOWN, rules: UNKNOWN }, true, []],
    ["format 2, same script, other rule lines: update", formatTwo(decl), { ...formatTwo(decl), rules: "changed" }, true, []],
    ["format 1 state, new owner: update", formatOne(decl), { ...formatTwo(decl), owner: "x/y/z" }, true, []],
    // A new address or port is an update, so the recorded host key is checked.
    ["format 1 state, new address: update, not replace", formatOne(decl), { ...formatTwo(decl), address: "198.18.0.99" }, true, []],
    ["format 2, new port: update, not replace", formatTwo(decl), { ...formatTwo(decl), port: 2222 }, true, []],
    ["format 2, address unknown at preview: update", formatTwo(decl), { ...formatTwo(decl), address: UNKNOWN }, true, []],
    ["format 2, new table: update, not replace", formatTwo(decl), { ...formatTwo(decl), table: "nftsg2" }, true, []],
  ])("%s", async (_what, olds, news, changes, replaces) => {
    const d = await diff("id", olds, news);
    expect(d.changes).toBe(changes);
    expect(d.replaces).toEqual(replaces);
  });

  it("the compressed script decodes to the compiled script, deterministically", () => {
    const r = compileFleet(decl, { owner })["db-1"]!;
    expect(decodeScript(encodeScript(r.script))).toBe(r.script);
    expect(encodeScript(r.script)).toBe(encodeScript(r.script));
    expect(encodeScript("")).toBe("");
    expect(decodeScript("")).toBe("");
  });
});
