// The real Pulumi CLI, driven through the Automation API with a local file
// backend: up, preview (no changes), refresh, update, destroy.
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as pulumiType from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { requireDist } from "../support/dist";
import { repoRoot } from "../support/engine";
import { programStack } from "../support/stack";

/** The @pulumi/pulumi the product itself loads (the inline program runs against it). */
const pulumi = createRequire(path.join(repoRoot, "package.json"))("@pulumi/pulumi") as typeof pulumiType;

type SmokeModule = typeof import("../support/smokeResource");

describe("engine smoke test", () => {
  // One stack through up, preview, a no-op up, refresh, an update and
  // destroy. The stacks the tests make answer up/refresh/destroy's follow-up
  // questions from the operation's engine events (test/support/eventAnswers.ts):
  // after each step those answers are compared with what the CLI itself says
  // (`stack history`, `stack output`).
  it("runs up, preview, refresh and destroy through the real CLI; the answers from the engine's events are what `stack history` and `stack output` say", async () => {
    const { Smoke } = requireDist<SmokeModule>("test/support/smokeResource.js");
    let value = "one";
    let secret = false;
    const program = async () => {
      const r = new Smoke("smoke", { value });
      const out: Record<string, unknown> = { value: r.value, nested: { list: [value, 2], flag: true } };
      if (secret) out.token = pulumi.secret("s3cr3t");
      return out;
    };
    const { stack } = await programStack(program, { project: "nftsg-smoke", stackName: "smoke" });
    const cliSays = async () => ({ changes: (await stack.history(1))[0]!.resourceChanges, outputs: await stack.workspace.stackOutputs("smoke") });

    const created = await stack.up();
    expect(created.summary.result).toBe("succeeded");
    expect(created.summary.resourceChanges).toEqual({ create: 2 }); // stack + Smoke
    expect(created.outputs.value.value).toBe("one");
    expect(created.outputs.nested).toEqual({ value: { list: ["one", 2], flag: true }, secret: false });
    let cli = await cliSays();
    expect(created.summary.resourceChanges).toEqual(cli.changes);
    expect(created.outputs).toEqual(cli.outputs);
    expect(() => created.summary.version).toThrow(/not recorded here/);

    const preview = await stack.preview();
    expect(preview.changeSummary.same).toBe(2);
    expect(Object.keys(preview.changeSummary).filter((k) => k !== "same")).toEqual([]);

    const noop = await stack.up();
    expect(noop.summary.resourceChanges).toEqual({ same: 2 });
    cli = await cliSays();
    expect(noop.summary.resourceChanges).toEqual(cli.changes);
    expect(noop.outputs).toEqual(cli.outputs);

    const refreshed = await stack.refresh();
    expect(refreshed.summary.result).toBe("succeeded");
    expect(refreshed.summary.resourceChanges).toEqual((await cliSays()).changes);

    value = "two";
    secret = true; // the events mask a secret: the CLI is asked, and says it is one
    const updated = await stack.up();
    expect(updated.summary.resourceChanges?.update).toBe(1);
    cli = await cliSays();
    expect(updated.summary.resourceChanges).toEqual(cli.changes);
    expect(updated.outputs).toEqual(cli.outputs);
    expect(updated.outputs.token).toEqual({ value: "s3cr3t", secret: true });
    expect(updated.outputs.value).toEqual({ value: "two", secret: false });

    const destroyed = await stack.destroy();
    expect(destroyed.summary.result).toBe("succeeded");
    expect(destroyed.summary.resourceChanges).toEqual({ delete: 2 });
    expect(destroyed.summary.resourceChanges).toEqual((await cliSays()).changes);
    await stack.workspace.removeStack("smoke");
  });
});
