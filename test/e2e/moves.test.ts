// Moves, duplicates and owners through the real CLI, checking each host's
// live table and boot file after every step:
// - a host's table declared by two Fleets of one stack is refused at preview
//   and at up, whichever the program declares first;
// - a host moved between Fleets whose new Attachment fails to apply, under
//   `--continue-on-error`, keeps its firewall: the old Attachment's delete
//   waits until the new one has applied;
// - two unrelated stacks with the same organisation, project and stack names
//   (two self-managed backends) are two owners.
import { beforeAll, describe, expect, it } from "vitest";
import { connectionTo } from "../support/labConnection";
import { useLab } from "../support/useLab";
import type { FleetArgs } from "../../sdk/inputs";
import { fleetsStack, type FleetsStack } from "../support/stack";
import { hostFile } from "../support/applyLab";

const HOSTS = ["m1", "m2"] as const;
type HostName = (typeof HOSTS)[number];
const PORT = 8125;
const lab = useLab({ hosts: HOSTS.length, hostNames: [...HOSTS] });
let s: FleetsStack;

function fleet(hosts: HostName[], opts: { port?: number; failsafe?: boolean; hostName?: (h: HostName) => string } = {}): FleetArgs {
  return {
    rollbackSeconds: 20,
    failsafe: { ssh: opts.failsafe ?? true },
    securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", ports: opts.port ?? PORT, cidrs: [`${lab.runnerIpv4}/32`], description: "http" }] }],
    hosts: hosts.map((h) => ({
      name: opts.hostName?.(h) ?? h,
      connection: connectionTo(lab, h),
      securityGroups: ["web"],
    })),
  };
}

async function snapshot(h: HostName): Promise<{ live: string; boot: string | undefined }> {
  const live = await lab.exec(h, "nft list table inet nftsg");
  return { live: live.code === 0 ? live.stdout : "", boot: await hostFile(lab, h, "/etc/nftsg/nftsg.nft") };
}

async function failure(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (err: Error) => err);
  expect(e, "the operation succeeded").toBeInstanceOf(Error);
  return e!.message;
}

async function attachments(): Promise<string[]> {
  const state = await s.stack.exportStack();
  return (state.deployment.resources as { urn: string; type: string }[])
    .filter((r) => r.type.endsWith("nftsg:Attachment")).map((r) => r.urn.split("::").pop()!).sort();
}

beforeAll(async () => {
  s = await fleetsStack({ a: fleet(["m1", "m2"]) }, { project: "nftsg-moves", stackName: "dev" });
  const up = await s.stack.up();
  expect(up.summary.result).toBe("succeeded");
});


describe("moves and duplicates keep every host firewalled", () => {
  // Both orders: the engine registers and checks the Attachments as the
  // program declares them, and `up` (as the Automation API runs it, with
  // --skip-preview) must refuse both before either reaches the host.
  it.each([["a", "b"], ["b", "a"]] as const)("a host's table declared by two Fleets (%s declared first) is refused at preview and at up, before any host is touched", async (first, second) => {
    const before = await Promise.all(HOSTS.map(snapshot));
    const fleets = { a: fleet(["m1", "m2"]), b: fleet(["m2"], { port: PORT + 1 }) };
    s.setFleets({ [first]: fleets[first], [second]: fleets[second] });
    const message = await failure(s.stack.preview());
    expect(message).toMatch(/also declared by Fleet (a|b), host m2/);
    const upMessage = await failure(s.stack.up());
    expect(upMessage).toMatch(/also declared by Fleet (a|b), host m2/);
    expect(await Promise.all(HOSTS.map(snapshot))).toEqual(before);
    expect(await attachments()).toEqual(["a-m1", "a-m2"]);
  });

  it("a host moved to another Fleet whose new Attachment fails (continue-on-error) keeps its table until the new one applies", async () => {
    const before = await snapshot("m2");
    expect(before.live).toContain(`tcp dport ${PORT} accept`);
    // The new Fleet's ruleset would cut SSH (failsafe off): its create is rolled back.
    s.setFleets({ a: fleet(["m1"]), b: fleet(["m2"], { port: PORT + 2, failsafe: false }) });
    const message = await failure(s.stack.up({ continueOnError: true }));
    // Either interleaving is a refusal: the lockout probe finds no new login (rolled back at once), or
    // the ruleset cuts the applying session first (the host's armed rollback restores it).
    expect(message).toMatch(/would have cut SSH access|the SSH connection was lost while the ruleset was being applied/);
    expect(message).toMatch(/was not removed: Fleet b, host m2 declares it again and has not applied it yet/);
    // The host's own rollback timer may be what restored it (the lockout can cut the session).
    const deadline = Date.now() + 40_000;
    let now = await snapshot("m2");
    while (now.live !== before.live && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      now = await snapshot("m2");
    }
    expect(now).toEqual(before);
    expect(await attachments()).toEqual(["a-m1", "a-m2"]);

    s.setFleets({ a: fleet(["m1"]), b: fleet(["m2"], { port: PORT + 2 }) });
    const up = await s.stack.up();
    expect(up.summary.result).toBe("succeeded");
    const after = await snapshot("m2");
    expect(after.live).toContain(`tcp dport ${PORT + 2} accept`);
    expect(after.boot).toContain(`tcp dport ${PORT + 2} accept`);
    expect(await attachments()).toEqual(["a-m1", "b-m2"]);
  });
});

describe("owners", () => {
  it("a stack with the same organisation, project and stack names in another backend is another owner", async () => {
    const before = await snapshot("m1");
    const twin = await fleetsStack({ a: fleet(["m1"], { port: PORT + 3 }) }, { project: "nftsg-moves", stackName: "dev" });
    try {
      const message = await failure(twin.stack.up());
      expect(message).toMatch(/owned by another stack that has the same organisation, project and stack names/);
      expect(message).toMatch(/takeover/);
      expect(await snapshot("m1")).toEqual(before);
    } finally {
      await twin.stack.workspace.removeStack("dev", { force: true }).catch(() => undefined);
    }
  });
});
