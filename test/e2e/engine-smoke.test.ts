// The real Pulumi CLI, driven through the Automation API with a local file
// backend: up, preview (no changes), refresh, destroy.
import { describe, expect, it } from "vitest";
import { requireDist } from "../support/dist";
import { programStack } from "../support/stack";

type SmokeModule = typeof import("../support/smokeResource");

describe("engine smoke test", () => {
  it("runs up, preview, refresh and destroy through the real CLI", async () => {
    const { Smoke } = requireDist<SmokeModule>("test/support/smokeResource.js");
    let value = "one";
    const program = async () => {
      const r = new Smoke("smoke", { value });
      return { value: r.value };
    };
    const { stack } = await programStack(program, { project: "nftsg-smoke", stackName: "smoke" });

    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.summary.resourceChanges?.create).toBe(2); // stack + Smoke
    expect(up.outputs.value.value).toBe("one");

    const preview = await stack.preview();
    expect(preview.changeSummary.same).toBe(2);
    expect(Object.keys(preview.changeSummary).filter((k) => k !== "same")).toEqual([]);

    const refresh = await stack.refresh();
    expect(refresh.summary.result).toBe("succeeded");

    value = "two";
    const up2 = await stack.up();
    expect(up2.summary.resourceChanges?.update).toBe(1);

    const destroy = await stack.destroy();
    expect(destroy.summary.result).toBe("succeeded");
    expect(destroy.summary.resourceChanges?.delete).toBe(2);
    await stack.workspace.removeStack("smoke");
  });
});
