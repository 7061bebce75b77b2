// Preview with values not known yet: only the hosts whose rulesets depend on
// an unknown value may show as unknown; every other host shows its exact diff.
import { beforeAll, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import type { FleetArgs } from "../../sdk/inputs";
import { requireDist } from "../support/dist";
import { programStack, unknownAtPreview } from "../support/stack";
import { useLab } from "../support/useLab";
import { webDbFleet } from "../support/webDb";

type Sdk = typeof import("../../index");

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const lab = useLab({ hosts: 3 });
let stack: Stack;
let withNewHost = false;

function declaration(newHostAddress?: pulumi.Input<string>): FleetArgs {
  return webDbFleet(lab, {
    hosts: [["web-1", "h1"], ["db-1", "h2"], ["cache-1", "h3"]],
    extraGroups: [{ name: "cache", ingress: [{ protocol: "tcp", ports: withNewHost ? [6379, 6380] : 6379, cidrs: ["198.18.0.0/15"], description: "redis" }] }],
    newWebHost: newHostAddress,
  });
}

beforeAll(async () => {
  const program = async () => {
    const sdk = requireDist<Sdk>("index.js");
    new sdk.Fleet("lab", declaration(withNewHost ? unknownAtPreview("198.18.250.12") : undefined));
  };
  ({ stack } = await programStack(program, { project: "nftsg-preview", stackName: "preview" }));
  const up = await stack.up();
  expect(up.summary.result).toBe("succeeded");
});


describe("preview with unknown values", () => {
  it("marks unknown only the hosts that depend on the unknown address", async () => {
    withNewHost = true;
    const events: EngineEvent[] = [];
    await stack.preview({ onEvent: (e) => events.push(e) });
    const attachments = new Map<string, { op: string; script: unknown; rules: unknown }>();
    for (const e of events) {
      const m = e.resourcePreEvent?.metadata;
      if (!m || !m.type.endsWith("nftsg:Attachment")) continue;
      attachments.set(m.urn.split("::").pop()!, { op: m.op, script: m.new?.inputs?.scriptBrotli, rules: m.new?.inputs?.rules });
    }
    // db-1 allows postgres from web, and web gains a member whose address is unknown.
    expect(attachments.get("lab-db-1")?.op).toBe("update");
    expect(attachments.get("lab-db-1")?.script).toBe(UNKNOWN);
    // cache-1 changed too, and its new ruleset is known exactly.
    expect(attachments.get("lab-cache-1")?.op).toBe("update");
    expect(attachments.get("lab-cache-1")?.rules).toMatch(/6379-6380|6379, 6380/);
    expect(attachments.get("lab-cache-1")?.script).not.toBe(UNKNOWN);
    // web-1 does not depend on web's members: unchanged.
    expect(attachments.get("lab-web-1")?.op).toBe("same");
    expect(attachments.get("lab-web-2")?.op).toBe("create");
  });
});
