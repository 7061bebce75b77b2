// Through the real CLI: a host that would come up open after a reboot (here:
// the include line that loads its boot file removed) shows as drift on
// refresh, and the next up repairs it; a clean host shows none. Lab hosts run
// no systemd, so boot loading is the include line (docs/apply.md); the
// systemd unit path is checked by the same read program (boot_installed).
// Every way of breaking persistence (boot file removed or edited, boot
// loading removed) is drift to the handlers: test/unit/attachmentHandlers.test.ts,
// on fake hosts that test/hostContract.test.ts holds to a real one.
import { beforeAll, describe, expect, it } from "vitest";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { FleetArgs } from "../../sdk/inputs";
import { fleetStack, type FleetStack } from "../support/stack";
import { hostFile, removeIncludeLine } from "../support/applyLab";
import { connectionTo } from "../support/labConnection";
import { useLab } from "../support/useLab";

const lab = useLab({ hosts: 1, hostNames: ["p1"] });
let s: FleetStack;
const BOOT = "/etc/nftsg/nftsg.nft";
const INCLUDE = `include "${BOOT}" # nftsg`;
let applied = "";

function declaration(): FleetArgs {
  return {
    rollbackSeconds: 10,
    securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", ports: 8124, cidrs: [`${lab.runnerIpv4}/32`] }] }],
    hosts: [{ name: "p1", connection: connectionTo(lab, "p1"), securityGroups: ["web"] }],
  };
}

async function attachmentOp(): Promise<string | undefined> {
  const events: EngineEvent[] = [];
  await s.stack.preview({ onEvent: (e) => events.push(e) });
  return events.map((e) => e.resourcePreEvent?.metadata).find((m) => m?.type.endsWith("nftsg:Attachment"))?.op;
}

async function expectPersisted(): Promise<void> {
  expect(await hostFile(lab, "p1", BOOT)).toBe(applied);
  expect((await hostFile(lab, "p1", "/etc/nftables.conf"))?.split("\n")).toContain(INCLUDE);
}

beforeAll(async () => {
  s = await fleetStack(declaration(), { project: "nftsg-persist", stackName: "p" });
  const up = await s.stack.up();
  expect(up.summary.result).toBe("succeeded");
  applied = (await hostFile(lab, "p1", BOOT))!;
  expect(applied).toContain("tcp dport 8124 accept");
});


describe("refresh reports missing persistence and up repairs it", () => {
  it("the include line removed: drift on refresh; up repairs it; then no drift", async () => {
    expect((await removeIncludeLine(lab, "p1")).code).toBe(0);
    // The live table itself is untouched: only a reboot would show the hole.
    expect((await lab.exec("p1", "nft list table inet nftsg")).stdout).toContain("tcp dport 8124 accept");
    await s.stack.refresh();
    expect(await attachmentOp()).toBe("update");
    const up = await s.stack.up();
    expect(up.summary.result).toBe("succeeded");
    await expectPersisted();
    await s.stack.refresh();
    expect(await attachmentOp()).toBe("same");
  });
});
