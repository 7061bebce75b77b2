// A jump host that is itself a fleet host (issue "Fail closed on every path",
// item 8): its own lockout probe tests only provider -> jump host, so a
// declaration whose rulesets close jump host -> target (the jump host's
// egress, or the target's ingress from the jump host's address) must be
// refused before any host is touched, with the path of the target's
// connection.proxy and the fix; by the FleetModel and in the verdict every
// Attachment carries.
import { describe, expect, it } from "vitest";
import type { FleetDeclaration, HostDeclaration, SecurityGroupDeclaration } from "../../provider/declaration/declaration";
import type { AttachmentProps } from "../../provider/handlers/attachment";
import { compileFleet } from "../../provider/compiler/compile";
import { ATTACHMENT_FORMAT, encodeScript } from "../../provider/handlers/scriptEncoding";
import { formatDeclaration } from "../../sdk/fleet";
import { jumpEdges } from "../../provider/declaration/jumpHosts";
import { requireDist } from "../support/dist";

// From dist: the handlers load their modules with require() (needs the build).
const { fleetProblems, verdictText } = requireDist<typeof import("../../provider/handlers/verdict")>("provider/handlers/verdict.js");
const { modelHandlers } = requireDist<typeof import("../../provider/handlers/model")>("provider/handlers/model.js");
const { attachmentHandlers } = requireDist<typeof import("../../provider/handlers/attachment")>("provider/handlers/attachment.js");

const BASTION = "198.18.0.10";
const APP = "198.18.0.11";
const APP_V6 = "2001:db8::11";

const web: SecurityGroupDeclaration = { name: "app", ingress: [{ protocol: "tcp", ports: 80, cidrs: ["0.0.0.0/0"], description: "http" }] };
/** The jump host: its egress allows HTTPS only, so tcp/22 to its targets is dropped. */
const httpsOnlyBastion: SecurityGroupDeclaration = { name: "bastion", egress: [{ protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0"], description: "https out" }] };
/** The jump host: its egress allows SSH to the app group. */
const sshBastion: SecurityGroupDeclaration = {
  name: "bastion",
  egress: [
    { protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0"], description: "https out" },
    { protocol: "tcp", ports: 22, securityGroups: ["app"], description: "ssh to app" },
  ],
};

const bastionHost = (extra: Partial<HostDeclaration> = {}): HostDeclaration => ({
  name: "bastion", connection: { host: BASTION, user: "root" }, securityGroups: ["bastion"], ...extra,
});
const appHost = (extra: Partial<HostDeclaration["connection"]> = {}, host: Partial<HostDeclaration> = {}): HostDeclaration => ({
  name: "app-1", connection: { host: APP, user: "root", proxy: { host: BASTION, user: "root" }, ...extra }, securityGroups: ["app"], ...host,
});

function fleet(groups: SecurityGroupDeclaration[], hosts: HostDeclaration[], extra: Partial<FleetDeclaration> = {}): FleetDeclaration {
  return { securityGroups: [web, ...groups], hosts, ...extra };
}

const paths = (decl: FleetDeclaration) => fleetProblems(decl).map((p) => p.path);
const messages = (decl: FleetDeclaration) => fleetProblems(decl).map((p) => p.message).join("\n---\n");

describe("the management path from a jump host in the fleet to its targets is checked before any host is touched", () => {
  it("a jump host whose egress drops tcp/22 to its target: a problem at the target's connection.proxy, with the fix", () => {
    const decl = fleet([httpsOnlyBastion], [bastionHost(), appHost()]);
    expect(paths(decl)).toEqual(["hosts[1].connection.proxy"]);
    const m = messages(decl);
    expect(m).toMatch(/jump host "bastion" \(hosts\[0\]\)/);
    expect(m).toMatch(/host "app-1"/);
    expect(m).toContain(`tcp/22`);
    expect(m).toContain(`bastion (${BASTION}) -> app-1 (${APP}): deny`);
    expect(m).toMatch(/egress bastion: dropped/);
    // The fix names the jump host's egress.
    expect(m).toMatch(/allow tcp\/22 to app-1 in the egress of jump host "bastion"/);
  });

  it("a target whose ingress drops tcp/22 from its jump host (failsafe.cidrs narrowed to the provider's network): the fix names failsafe.cidrs", () => {
    const decl = fleet([sshBastion], [bastionHost(), appHost()], { failsafe: { cidrs: ["203.0.113.0/24"] } });
    expect(paths(decl)).toEqual(["hosts[1].connection.proxy"]);
    const m = messages(decl);
    expect(m).toMatch(/ingress app-1: dropped/);
    expect(m).toMatch(/failsafe\.cidrs/);
    expect(m).toContain(BASTION);
  });

  it("a target's connection.port other than the failsafe's is checked at connection.port", () => {
    // sshd behind a port-forward on the provider's side: failsafe.port 22, but
    // the jump host connects to the target's connection.port 2222 directly.
    const decl = fleet([{ name: "bastion" }], [bastionHost(), appHost({ port: 2222 })], { failsafe: { port: 22 } });
    expect(paths(decl)).toEqual(["hosts[1].connection.proxy"]);
    expect(messages(decl)).toContain("tcp/2222");
  });

  it("failsafe.ssh false and no ingress rule for SSH: the target's ingress drops it", () => {
    const decl = fleet([sshBastion], [bastionHost(), appHost()], { failsafe: { ssh: false } });
    expect(paths(decl)).toEqual(["hosts[1].connection.proxy"]);
    expect(messages(decl)).toMatch(/failsafe/);
  });

  it("the jump host is found by one of its addresses, and a target named by DNS by its addresses (each family)", () => {
    const decl = fleet(
      [httpsOnlyBastion],
      [
        bastionHost({ connection: { host: "bastion.example.net", user: "root" }, addresses: [BASTION, "2001:db8::10"] }),
        appHost({ host: "app-1.example.net", proxy: { host: "2001:db8::10", user: "root" } }, { addresses: [APP, APP_V6] }),
      ],
    );
    expect(paths(decl)).toEqual(["hosts[1].connection.proxy"]);
    const m = messages(decl);
    expect(m).toContain(`bastion (${BASTION}) -> app-1 (${APP}): deny`);
    expect(m).toContain(`bastion (2001:db8::10) -> app-1 (${APP_V6}): deny`);
  });

  it("a jump host without a usable address cannot be checked against a narrowed failsafe: declare its addresses", () => {
    const decl = fleet(
      [sshBastion],
      [bastionHost({ connection: { host: "bastion.example.net", user: "root" } }), appHost({ proxy: { host: "bastion.example.net", user: "root" } })],
      { failsafe: { cidrs: [`${BASTION}/32`] } },
    );
    expect(paths(decl)).toEqual(["hosts[1].connection.proxy"]);
    expect(messages(decl)).toMatch(/set addresses on jump host "bastion"/);
  });

  it.each<[string, FleetDeclaration]>([
    ["the failsafe covers the target and the jump host's egress allows SSH to it", fleet([sshBastion], [bastionHost(), appHost()])],
    ["the jump host restricts no egress", fleet([{ name: "bastion" }], [bastionHost(), appHost()])],
    ["the jump host is attached to no group", fleet([httpsOnlyBastion], [bastionHost({ securityGroups: [] }), appHost()])],
    ["failsafe.cidrs covers the jump host's address", fleet([sshBastion], [bastionHost(), appHost()], { failsafe: { cidrs: ["203.0.113.0/24", `${BASTION}/32`] } })],
    [
      "an ingress rule lets the jump host in although the failsafe is off",
      fleet(
        [sshBastion, { name: "admin", ingress: [{ protocol: "tcp", ports: 22, securityGroups: ["bastion"] }] }],
        [bastionHost(), appHost({}, { securityGroups: ["app", "admin"] })],
        { failsafe: { ssh: false } },
      ),
    ],
    ["the jump host is not a fleet host", fleet([httpsOnlyBastion], [bastionHost(), appHost({ proxy: { host: "198.18.0.99", user: "root" } })])],
    [
      "a jump host by DNS name without addresses, when neither side depends on its address",
      fleet([sshBastion], [bastionHost({ connection: { host: "bastion.example.net", user: "root" } }), appHost({ proxy: { host: "bastion.example.net" } })]),
    ],
  ])("no problem when %s", (_what, decl) => {
    expect(fleetProblems(decl)).toEqual([]);
  });

  it("the FleetModel's check reports it, and every Attachment carrying the verdict refuses it", async () => {
    const decl = fleet([httpsOnlyBastion], [bastionHost(), appHost()]);
    const model = await modelHandlers().check({}, { fleet: "f", declaration: formatDeclaration(decl as unknown as Record<string, unknown>) });
    expect(model.failures?.map((f) => f.property)).toEqual(["hosts[1].connection.proxy"]);
    expect(model.failures?.[0]?.reason).toMatch(/jump host "bastion"/);

    // The verdict the program computes is what every Attachment (the jump host's included) carries.
    const verdict = verdictText(fleetProblems(decl));
    const r = compileFleet(decl, { owners: { bastion: "o/p/s/host=bastion", "app-1": "o/p/s/host=app-1" }, lineStyle: "groups" });
    const handlers = attachmentHandlers({ host: () => { throw new Error("no host may be contacted"); }, warn: async () => undefined });
    for (const [name, address] of [["bastion", BASTION], ["app-1", APP]] as const) {
      const props: AttachmentProps = {
        fleet: "f", hostName: name, address, port: 22, connection: decl.hosts.find((h) => h.name === name)!.connection,
        table: "nftsg", owner: `o/p/s/host=${name}`, takeover: false, rollbackSeconds: 30,
        format: ATTACHMENT_FORMAT, rules: r[name]!.lines.join("\n"), scriptBrotli: encodeScript(r[name]!.script), hash: r[name]!.hash, verdict,
      };
      const { failures } = await handlers.check({} as AttachmentProps, props);
      expect(failures.map((f: { property: string }) => f.property)).toEqual(["hosts[1].connection.proxy"]);
      await expect(handlers.create(props)).rejects.toThrow(/refused before contacting the host/);
    }
  });
});

describe("the jump host's Attachment hands the hosts managed through it to its apply", () => {
  const decl = fleet([sshBastion], [bastionHost(), appHost()]);
  const r = compileFleet(decl, { owners: { bastion: "o/p/s/host=bastion" }, lineStyle: "groups", only: ["bastion"] });
  const props = (jumpTargets: unknown): AttachmentProps => ({
    fleet: "f", hostName: "bastion", address: BASTION, port: 22, connection: { host: BASTION, user: "root" },
    table: "nftsg", owner: "o/p/s/host=bastion", takeover: false, rollbackSeconds: 30,
    format: ATTACHMENT_FORMAT, rules: r.bastion!.lines.join("\n"), scriptBrotli: encodeScript(r.bastion!.script), hash: r.bastion!.hash,
    verdict: verdictText(fleetProblems(decl)), jumpTargets: jumpTargets as AttachmentProps["jumpTargets"],
  });

  it("create passes jumpTargets to applyAtomically and shows the apply's warnings", async () => {
    const seen: unknown[] = [];
    const warnings: string[] = [];
    const host = {
      applyAtomically: async (_c: unknown, _t: string, _s: string, opts: { jumpTargets?: unknown }) => {
        seen.push(opts.jumpTargets);
        return { hostKey: "ssh-ed25519 AAAA", listing: "", connections: 2, roundTrips: 2, warnings: ["app-2 (198.18.0.12:22) was not reachable from this host before the change either"] };
      },
      readLive: async () => { throw new Error("unused"); },
      removeTable: async () => { throw new Error("unused"); },
    };
    const handlers = attachmentHandlers({ host: () => host as never, warn: async (m: string) => void warnings.push(m) });
    const targets = [{ name: "app-1", host: APP, port: 22 }];
    const created = await handlers.create(props(targets));
    expect(seen).toEqual([targets]);
    expect(warnings).toEqual(["nftsg: host bastion: app-2 (198.18.0.12:22) was not reachable from this host before the change either"]);
    // Not compared by diff: a new target alone changes nothing on the host.
    const diff = await handlers.diff(created.id, created.outs, props([...targets, { name: "app-2", host: "198.18.0.12", port: 22 }]));
    expect(diff.changes).toBe(false);
  });

  it.each<[string, unknown]>([
    ["not a list", "app-1"],
    ["an entry without a host", [{ name: "app-1", port: 22 }]],
    ["a port out of range", [{ name: "app-1", host: APP, port: 0 }]],
  ])("jumpTargets %s: refused in check and before contacting the host", async (_what, jumpTargets) => {
    const handlers = attachmentHandlers({ host: () => { throw new Error("no host may be contacted"); }, warn: async () => undefined });
    const { failures } = await handlers.check({} as AttachmentProps, props(jumpTargets));
    expect(failures.map((f: { property: string }) => f.property)).toEqual(["jumpTargets"]);
    await expect(handlers.create(props(jumpTargets))).rejects.toThrow(/refused before contacting the host: jumpTargets/);
  });
});

describe("which host is a jump host", () => {
  const h = (name: string, host: string, extra: Record<string, unknown> = {}, proxy?: Record<string, unknown>) => ({
    name, connection: { host, ...extra, ...(proxy ? { proxy } : {}) }, securityGroups: [],
  });

  it("matches connection.host as an address (any spelling) or a DNS name (case, final dot), else declared addresses", () => {
    expect(jumpEdges([h("j", "2001:db8::10"), h("t", APP, {}, { host: "2001:DB8:0::10" })])).toEqual([{ target: 1, jump: 0 }]);
    expect(jumpEdges([h("j", "Bastion.Example.net."), h("t", APP, {}, { host: "bastion.example.net" })])).toEqual([{ target: 1, jump: 0 }]);
    expect(jumpEdges([{ ...h("j", "bastion.example.net"), addresses: [BASTION] }, h("t", APP, {}, { host: BASTION })])).toEqual([{ target: 1, jump: 0 }]);
    expect(jumpEdges([h("j", BASTION), h("t", APP, {}, { host: "198.18.0.99" })])).toEqual([]);
  });

  it("among hosts behind one NAT address, the one on the proxy's port; a host is never its own jump host", () => {
    const nat = "203.0.113.5";
    const hosts = [h("a", nat, { port: 2201 }), h("b", nat, { port: 2202 }), h("t", APP, {}, { host: nat, port: 2202 }), h("self", nat, { port: 2203 }, { host: nat, port: 2203 })];
    expect(jumpEdges(hosts)).toEqual([{ target: 2, jump: 1 }]);
  });

  it("1,000 hosts behind one jump host: linear, and every closed path reported", () => {
    const targets = Array.from({ length: 1000 }, (_, i) => ({
      name: `app-${i}`, connection: { host: `198.18.${4 + Math.floor(i / 250)}.${1 + (i % 250)}`, proxy: { host: BASTION } }, securityGroups: ["app"],
    }));
    const decl = fleet([httpsOnlyBastion], [bastionHost(), ...targets]);
    const t0 = Date.now();
    const problems = fleetProblems(decl);
    const ms = Date.now() - t0;
    expect(problems).toHaveLength(1000);
    expect(problems[999]!.path).toBe("hosts[1000].connection.proxy");
    // Generous on a loaded 2-core machine; measured in the report.
    expect(ms).toBeLessThan(10_000);
    console.log(`fleetProblems, 1,000 targets behind one jump host: ${ms} ms`);
  });
});
