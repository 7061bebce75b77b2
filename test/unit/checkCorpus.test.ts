// Bad input through the provider's check, as the engine calls it during
// `pulumi preview`: every case of the corpus fails with the path of the
// offending field and the reason, and no SSH connection is attempted.
import { describe, expect, it } from "vitest";
import { badCases, base } from "../support/badDeclarations";
import { requireDist } from "../support/dist";

type Handlers = typeof import("../../provider/index");
type Fleet = typeof import("../../sdk/fleet");
type Ssh = typeof import("../../provider/host/ssh");

const { model } = requireDist<Handlers>("provider/index.js");
const { formatDeclaration } = requireDist<Fleet>("sdk/fleet.js");
const { transportStats } = requireDist<Ssh>("provider/host/ssh.js");

describe("the fleet's check on a corpus of invalid declarations", () => {
  it("has at least 60 cases", () => {
    expect(badCases.length).toBeGreaterThanOrEqual(60);
  });

  it("accepts the valid base declaration", async () => {
    const r = await model.check({}, { fleet: "f", declaration: formatDeclaration(base() as never) });
    expect(r.failures ?? []).toEqual([]);
  });

  it.each(badCases)("%s", async (_name, breakIt, path, fragment) => {
    const before = { ...transportStats };
    const d = base();
    breakIt(d);
    const r = await model.check({}, { fleet: "f", declaration: formatDeclaration(d as never) });
    const atPath = (r.failures ?? []).filter((f) => f.property === path).map((f) => f.reason);
    expect(atPath.join("\n"), JSON.stringify(r.failures, null, 1)).toContain(fragment);
    expect(transportStats).toEqual(before);
  });
});
