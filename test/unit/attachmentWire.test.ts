// The Attachment's wire form (issue 18, provider/handlers/attachmentWire.ts):
// the SDK registers two inputs (the secret connection, and everything else in
// one `declared` object) and the Attachment's check returns the flat inputs
// state has always held, the same as for flat inputs, with secrets kept.
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import type { AttachmentEnv, AttachmentProps } from "../../provider/handlers/attachment";
import { CONTENT_FIELDS, fromWire, sealed } from "../../provider/handlers/attachmentWire";
import { UNKNOWN } from "../../provider/handlers/unknown";
import { FakeHosts } from "../support/fakeHost";
import { dbAttachment, DB_ADDRESS } from "../support/dbAttachment";
import { requireDist } from "../support/dist";

const { attachmentHandlers } = requireDist<typeof import("../../provider/handlers/attachment")>("provider/handlers/attachment.js");
const { VALID } = requireDist<typeof import("../../provider/handlers/verdict")>("provider/handlers/verdict.js");

const ADDRESS = DB_ADDRESS;

function flat(): AttachmentProps {
  const { compiled, props } = dbAttachment();
  return { ...props, facts: compiled.facts, flows: "in tcp/5432 from 198.18.0.0/16", verdict: VALID, stackId: "0123456789abcdef" };
}

/** The same inputs as the SDK sends them. */
function wire(p: AttachmentProps, secret?: string[]): AttachmentProps {
  const { connection, format, rules, scriptBrotli, flows, hash, facts, observe, ...declared } = p;
  const content = Object.fromEntries(Object.entries({ format, rules, scriptBrotli, flows, hash, facts, observe }).filter(([, v]) => v !== undefined));
  return { connection, declared: { ...declared, content, ...(secret ? { secret } : {}) } } as unknown as AttachmentProps;
}

const SIG = "4dabf18193072939515e22adb298388d";

/** Values with Pulumi's secret wrappers removed, as the engine hands them to a provider that does not accept secrets. */
function plain<T>(v: T): T {
  if (Array.isArray(v)) return v.map(plain) as T;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (SIG in o) return plain(o.value) as T;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)])) as T;
  }
  return v;
}

function handlers() {
  const hosts = new FakeHosts();
  hosts.add(ADDRESS);
  const env: AttachmentEnv = { host: () => hosts, warn: async () => undefined };
  return attachmentHandlers(env);
}

describe("the Attachment's wire form", () => {
  it("flat inputs (an older SDK) pass through unchanged", () => {
    const p = flat();
    expect(fromWire(p)).toEqual({ flat: p, secret: [] });
  });

  it("the wire form flattens to the very same inputs", () => {
    const p = flat();
    expect(fromWire(wire(p)).flat).toEqual(p);
  });

  it("check returns the same flat inputs for the wire form as for the flat one, for a create and against old state", async () => {
    const h = handlers();
    const p = flat();
    const fromFlat = await h.check({} as AttachmentProps, p);
    const fromWireForm = await h.check({} as AttachmentProps, wire(p));
    expect(fromWireForm).toEqual(fromFlat);
    expect(Object.keys(fromWireForm.inputs)).not.toContain("declared");
    expect(fromWireForm.failures).toEqual([]);
    // Against state written by an older version (flat, no facts, no stackId): the same diff as before.
    const { facts: _f, stackId: _s, ...older } = p;
    const { outs } = await h.create(older as AttachmentProps);
    expect(await h.diff("id", outs, fromWireForm.inputs)).toEqual(await h.diff("id", outs, fromFlat.inputs));
    expect((await h.diff("id", outs, fromWireForm.inputs)).changes).toBe(false);
    expect((await h.diff("id", outs, (await h.check(outs, wire({ ...p, rules: `${p.rules}\nx` }))).inputs)).changes).toBe(true);
  });

  it("content unknown at preview: every content field is unknown, the rest stays known", async () => {
    const p = flat();
    const w = wire(p) as unknown as { declared: Record<string, unknown> };
    w.declared.content = UNKNOWN;
    const { inputs, failures } = await handlers().check({} as AttachmentProps, w as unknown as AttachmentProps);
    for (const f of CONTENT_FIELDS) expect((inputs as unknown as Record<string, unknown>)[f]).toBe(UNKNOWN);
    expect(inputs.address).toBe(ADDRESS);
    expect(inputs.hostName).toBe("db-1");
    expect(failures).toEqual([]);
  });

  it("fields that were secrets in the program are returned as secrets (Pulumi's wire form), unknown ones left as they are", async () => {
    const p = flat();
    const { inputs } = await handlers().check({} as AttachmentProps, wire(p, ["rules", "hash", "verdict"]));
    const secret = (v: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: v });
    expect(inputs.rules).toEqual(secret(p.rules));
    expect(inputs.hash).toEqual(secret(p.hash));
    expect(inputs.verdict).toEqual(secret(p.verdict));
    expect(inputs.scriptBrotli).toBe(p.scriptBrotli);
    expect(sealed({ ...p, rules: UNKNOWN }, ["rules"]).rules).toBe(UNKNOWN);
  });

  it("the SDK registers the connection (secret), one declared object and the output-only keys; the content's secrecy is listed", async () => {
    const inputs: Record<string, Record<string, unknown>> = {};
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          inputs[args.name] = args.inputs;
          return { id: `${args.name}-id`, state: args.type.endsWith("Attachment") ? fromWire(plain(args.inputs) as never).flat : args.inputs };
        },
        call: (args) => args.inputs,
      },
      "project", "stack", false, "organization",
    );
    const { Fleet } = requireDist<typeof import("../../sdk/fleet")>("sdk/fleet.js");
    const f = new Fleet("f", {
      securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", ports: 443, securityGroups: ["web"] }] }],
      hosts: [
        { name: "a", connection: { host: "198.18.0.1", user: "root", privateKey: pulumi.secret("KEY") }, addresses: ["198.18.0.1"], securityGroups: ["web"] },
        { name: "b", connection: { host: "198.18.0.2", user: "root" }, addresses: pulumi.secret(["198.18.0.2"]) as never, securityGroups: ["web"] },
      ],
    });
    const hash = await new Promise<string>((resolve) => f.attachments.a!.hash.apply(resolve));
    await new Promise<unknown>((resolve) => pulumi.all(Object.values(f.attachments).map((a) => a.urn)).apply(resolve));
    const a = inputs["f-a"]!;
    expect(Object.keys(a).sort()).toEqual(["__provider", "connection", "declared"]);
    // The mocks see secrets in their wire form; the dynamic provider gets them plain (it does not accept secrets).
    expect(a.connection).toHaveProperty([SIG]);
    const { flat: fa, secret: sa } = fromWire(plain(a) as never);
    expect(fa.hash).toBe(hash);
    expect(fa.hostName).toBe("a");
    expect(fa.connection.privateKey).toBe("KEY");
    for (const k of ["fleet", "hostName", "address", "port", "table", "owner", "takeover", "rollbackSeconds", "format", "rules", "scriptBrotli", "flows", "hash", "facts", "verdict"]) {
      expect(fa, k).toHaveProperty(k);
    }
    // b's address is a secret: every host's content depends on it (a and b are peers), and so does the verdict.
    expect(sa).toEqual(expect.arrayContaining([...CONTENT_FIELDS, "verdict"]));
    const { secret: sb } = fromWire(plain(inputs["f-b"]) as never);
    expect(sb).toEqual(expect.arrayContaining(["rules", "scriptBrotli", "hash"]));
  });
});
