// An invalid declaration never reaches a host, through the real CLI, on every
// path: `up --target` of a single Attachment (which skips the FleetModel's
// check) with a malformed CIDR, a misspelt group or a failing policy test,
// and a plain `up` whose new host would record an owner too long for the
// host. After every step each host runs exactly the table it ran before and
// boots the same file.
import { beforeAll, describe, expect, it } from "vitest";
import { connectionTo } from "../support/labConnection";
import { useLab } from "../support/useLab";
import type { FleetArgs } from "../../sdk/inputs";
import { fleetsStack, type FleetsStack } from "../support/stack";
import { hostFile } from "../support/applyLab";

const HOSTS = ["f1", "f2", "f3"] as const;
type HostName = (typeof HOSTS)[number];
/** With the stack name, organisation and host name, long enough that a 45-character host name overflows the owner. */
const PROJECT = `nftsg-fail-closed-${"p".repeat(44)}`;
const LONG_NAME = `f3-${"x".repeat(42)}`;
const PORT = 8124;

const lab = useLab({ hosts: HOSTS.length, hostNames: [...HOSTS] });
let s: FleetsStack;

interface Variant {
  hosts?: HostName[];
  cidr?: string;
  f1Group?: string;
  test?: "deny-allowed";
  longName?: boolean;
  port?: number;
}

function fleet(v: Variant = {}): Record<string, FleetArgs> {
  const hosts = v.hosts ?? ["f1", "f2"];
  return {
    fc: {
      rollbackSeconds: 20,
      securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", ports: v.port ?? PORT, cidrs: [v.cidr ?? `${lab.runnerIpv4}/32`], description: "http" }] }],
      hosts: hosts.map((h) => ({
        name: h === "f3" && v.longName ? LONG_NAME : h,
        connection: connectionTo(lab, h),
        securityGroups: [h === "f1" && v.f1Group ? v.f1Group : "web"],
      })),
      tests: v.test === "deny-allowed"
        ? [{ from: `${lab.runnerIpv4}/32`, to: "f1", protocol: "tcp", port: v.port ?? PORT, expect: "deny", description: "the runner is kept out" }]
        : undefined,
    },
  };
}

/** What a host runs and boots: the whole table listing and the boot file. */
async function snapshot(h: HostName): Promise<{ live: string; boot: string | undefined }> {
  const live = await lab.exec(h, "nft list table inet nftsg");
  return { live: live.code === 0 ? live.stdout : "", boot: await hostFile(lab, h, "/etc/nftsg/nftsg.nft") };
}

async function snapshots(): Promise<Record<string, { live: string; boot: string | undefined }>> {
  return Object.fromEntries(await Promise.all(HOSTS.map(async (h) => [h, await snapshot(h)] as const)));
}

async function attachmentUrn(host: string): Promise<string> {
  const state = await s.stack.exportStack();
  const urn = (state.deployment.resources as { urn: string; type: string }[])
    .find((r) => r.type.endsWith("nftsg:Attachment") && r.urn.endsWith(`::fc-${host}`))?.urn;
  if (!urn) throw new Error(`no Attachment for ${host} in the state`);
  return urn;
}

async function failure(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (err: Error) => err);
  expect(e, "the operation succeeded").toBeInstanceOf(Error);
  return e!.message;
}

let before: Awaited<ReturnType<typeof snapshots>>;

beforeAll(async () => {
  s = await fleetsStack(fleet(), { project: PROJECT, stackName: "fc" });
  const r = await s.stack.up();
  expect(r.summary.result).toBe("succeeded");
  before = await snapshots();
  for (const h of ["f1", "f2"] as const) {
    expect(before[h]!.live).toContain(`tcp dport ${PORT} accept`);
    expect(before[h]!.boot).toContain(`tcp dport ${PORT} accept`);
  }
  expect(before.f3!.live).toBe("");
});


describe("an invalid declaration changes no host", () => {
  it.each<[string, Variant, RegExp]>([
    ["a malformed CIDR", { cidr: "10.0.0.1/33" }, /securityGroups\[0\]\.ingress\[0\]\.cidrs\[0\]/],
    ["the host's only group misspelt", { f1Group: "webb" }, /hosts\[0\]\.securityGroups\[0\]/],
    ["a failing policy test", { test: "deny-allowed", port: PORT + 1 }, /tests\[0\]/],
  ])("up --target of one Attachment with %s fails and leaves every host as it was", async (_what, variant, path) => {
    s.setFleets(fleet(variant));
    const message = await failure(s.stack.up({ target: [await attachmentUrn("f1")] }));
    expect(message).toMatch(path);
    expect(await snapshots()).toEqual(before);
    // The same declaration fails at preview, with the path, contacting no host.
    expect(await failure(s.stack.preview())).toMatch(path);
  });

  it("a new host whose owner would be too long fails `up` before any host changes", async () => {
    s.setFleets(fleet({ hosts: ["f1", "f2", "f3"], longName: true, port: PORT + 2 }));
    const message = await failure(s.stack.up());
    expect(message).toMatch(/hosts\[2\]\.name/);
    expect(message).toMatch(/shorten the host name/);
    expect(await snapshots()).toEqual(before);
  });

  it("control: a valid change through --target updates that host only", async () => {
    s.setFleets(fleet({ port: PORT + 3 }));
    const r = await s.stack.up({ target: [await attachmentUrn("f1")] });
    expect(r.summary.result).toBe("succeeded");
    const now = await snapshots();
    expect(now.f1!.live).toContain(`tcp dport ${PORT + 3} accept`);
    expect(now.f1!.boot).toContain(`tcp dport ${PORT + 3} accept`);
    expect(now.f2).toEqual(before.f2);
    expect(now.f3).toEqual(before.f3);
  });
});
