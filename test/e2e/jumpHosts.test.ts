// A jump host that is itself a fleet host (issue "Fail closed on every path",
// item 8), through the real CLI: the Fleet hands the jump host's Attachment
// the hosts managed through it (jumpTargets, which its apply probes before it
// confirms), and a declaration whose jump host egress closes the path to its
// target fails preview, `up` and `up --target` of the jump host's Attachment
// at the target's connection.proxy, before any host changes.
import { beforeAll, describe, expect, it } from "vitest";
import { useLab } from "../support/useLab";
import type { FleetArgs, RuleArgs } from "../../sdk/inputs";
import { fleetsStack, type FleetsStack } from "../support/stack";
import { hostFile } from "../support/applyLab";

const HOSTS = ["j1", "j2"] as const;
type HostName = (typeof HOSTS)[number];
const PORT = 8131;

const lab = useLab({ hosts: HOSTS.length, hostNames: [...HOSTS] });
let s: FleetsStack;

/** j1 is j2's jump host; its egress either allows SSH to the app group or only HTTPS. */
function fleet(bastionEgress: "ssh to app" | "https only"): Record<string, FleetArgs> {
  const egress: RuleArgs[] =
    bastionEgress === "ssh to app"
      ? [{ protocol: "tcp", ports: 22, securityGroups: ["app"], description: "ssh to app" }]
      : [{ protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0"], description: "https out" }];
  const key = { user: "root", privateKey: lab.privateKey };
  return {
    jh: {
      rollbackSeconds: 20,
      securityGroups: [
        { name: "bastion", egress },
        { name: "app", ingress: [{ protocol: "tcp", ports: PORT, cidrs: [`${lab.runnerIpv4}/32`], description: "http" }] },
      ],
      hosts: [
        { name: "j1", connection: { host: lab.host("j1").ipv4, ...key }, securityGroups: ["bastion"] },
        { name: "j2", connection: { host: lab.host("j2").ipv4, ...key, proxy: { host: lab.host("j1").ipv4, ...key } }, securityGroups: ["app"] },
      ],
    },
  };
}

async function snapshots(): Promise<Record<string, { live: string; boot: string | undefined }>> {
  const one = async (h: HostName) => {
    const live = await lab.exec(h, "nft list table inet nftsg");
    return [h, { live: live.code === 0 ? live.stdout : "", boot: await hostFile(lab, h, "/etc/nftsg/nftsg.nft") }] as const;
  };
  return Object.fromEntries(await Promise.all(HOSTS.map(one)));
}

async function attachment(host: string): Promise<{ urn: string; outputs: Record<string, unknown> }> {
  const state = await s.stack.exportStack();
  const r = (state.deployment.resources as { urn: string; type: string; outputs: Record<string, unknown> }[])
    .find((x) => x.type.endsWith("nftsg:Attachment") && x.urn.endsWith(`::jh-${host}`));
  if (!r) throw new Error(`no Attachment for ${host} in the state`);
  return r;
}

async function failure(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (err: Error) => err);
  expect(e, "the operation succeeded").toBeInstanceOf(Error);
  return e!.message;
}

beforeAll(async () => {
  s = await fleetsStack(fleet("ssh to app"), { project: "nftsg-jump-hosts", stackName: "jh" });
});


describe("a jump host in the fleet", () => {
  it("its Attachment carries the hosts managed through it; both hosts are applied", async () => {
    const r = await s.stack.up();
    expect(r.summary.result).toBe("succeeded");
    expect((await attachment("j1")).outputs.jumpTargets).toEqual([{ name: "j2", host: lab.host("j2").ipv4, port: 22 }]);
    expect((await attachment("j2")).outputs.jumpTargets).toBeUndefined();
    const now = await snapshots();
    expect(now.j1!.live).toMatch(/tcp dport 22 .*accept/);
    expect(now.j2!.live).toContain(`tcp dport ${PORT} accept`);
    expect(now.j2!.boot).toContain(`tcp dport ${PORT} accept`);
  });

  it("an egress of the jump host that closes the path to its target fails preview, up --target and up, and changes no host", async () => {
    const before = await snapshots();
    const j1 = (await attachment("j1")).urn;
    s.setFleets(fleet("https only"));
    const path = /hosts\[1\]\.connection\.proxy/;
    const why = /host "j2" is managed through jump host "j1".*allow tcp\/22 to j2 in the egress of jump host "j1"/s;
    const previewed = await failure(s.stack.preview());
    expect(previewed).toMatch(path);
    expect(previewed).toMatch(why);
    expect(await failure(s.stack.up({ target: [j1] }))).toMatch(path);
    expect(await snapshots()).toEqual(before);
    expect(await failure(s.stack.up())).toMatch(path);
    expect(await snapshots()).toEqual(before);
  });
});
