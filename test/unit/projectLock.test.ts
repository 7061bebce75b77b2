import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as fs from "node:fs";
import * as path from "node:path";
import { locate, projectLock, type LockEntry, type LockFile } from "../support/projectLock";

const source: LockFile = {
  lockfileVersion: 3,
  packages: {
    "": { name: "repo" },
    "node_modules/a": { version: "1.0.0", dependencies: { b: "^1" }, optionalDependencies: { gone: "^1" } },
    "node_modules/b": { version: "1.0.0", dev: true },
    "node_modules/c": { version: "2.0.0", dependencies: { b: "^2" }, peerDependencies: { a: "^1", p: "^1" }, peerDependenciesMeta: { p: { optional: true } } },
    "node_modules/c/node_modules/b": { version: "2.0.0", optional: true },
    "node_modules/@s/d": { version: "1.0.0", dependencies: { b: "^1" } },
    "node_modules/unused": { version: "1.0.0" },
  },
};

describe("locate", () => {
  it.each([
    ["", "a", "node_modules/a"],
    ["node_modules/c", "b", "node_modules/c/node_modules/b"],
    ["node_modules/c/node_modules/b", "a", "node_modules/a"],
    ["node_modules/@s/d", "b", "node_modules/b"],
    ["node_modules/a", "missing", undefined],
  ])("from %j, %s is at %j", (from, name, expected) => {
    expect(locate(source.packages, from, name)).toBe(expected);
  });
});

describe("projectLock", () => {
  it("keeps what the project needs, where it was, without the repository's tree flags", () => {
    const lock = projectLock(source, { name: "p", version: "1.0.0", dependencies: { c: "^2" } });
    expect(Object.keys(lock.packages).sort()).toEqual(["", "node_modules/a", "node_modules/b", "node_modules/c", "node_modules/c/node_modules/b"]);
    expect(lock.packages[""]).toEqual({ name: "p", version: "1.0.0", dependencies: { c: "^2" } });
    expect(lock.packages["node_modules/b"]).not.toHaveProperty("dev");
    expect(lock.packages["node_modules/c/node_modules/b"]).toHaveProperty("optional", true);
  });

  it("takes packages missing from the repository from extra", () => {
    const extra: Record<string, LockEntry> = { "node_modules/x": { version: "0.1.0", resolved: "file:x.tgz", dependencies: { "@s/d": "^1" } } };
    const lock = projectLock(source, { name: "p", dependencies: { x: "file:x.tgz" } }, extra);
    expect(Object.keys(lock.packages).sort()).toEqual(["", "node_modules/@s/d", "node_modules/b", "node_modules/x"]);
  });

  it("names every required package it cannot find", () => {
    expect(() => projectLock(source, { name: "p", dependencies: { nope: "1" }, devDependencies: { never: "1" } }))
      .toThrow(/nope \(needed by p\).*never \(needed by p\)/);
  });

  it("cuts a complete lock for the examples out of this repository's", () => {
    const repo = JSON.parse(fs.readFileSync(path.join(__dirname, "../../package-lock.json"), "utf8")) as LockFile;
    const lock = projectLock(repo, { name: "web-db", dependencies: { "@pulumi/pulumi": "^3.260.0", zod: "^3" }, devDependencies: { typescript: "~5.9.3" } });
    expect(lock.packages["node_modules/@pulumi/pulumi"]?.version).toBe(repo.packages["node_modules/@pulumi/pulumi"].version);
    expect(lock.packages["node_modules/vitest"]).toBeUndefined();
  });
});

describe("projectLock (property)", () => {
  // Random trees: packages p0..pN at the top, some nested copies, random dependencies among them.
  const tree = fc.integer({ min: 1, max: 8 }).chain((n) => fc.record({
    deps: fc.array(fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 3 }), { minLength: n, maxLength: n }),
    nested: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n - 1 })), { maxLength: 4 }),
    roots: fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: n }),
  }));

  it("the result is closed: every package in it finds what it requires in it, at the place it had", () => {
    fc.assert(fc.property(tree, ({ deps, nested, roots }) => {
      const entry = (i: number): LockEntry => ({ version: "1.0.0", dependencies: Object.fromEntries(deps[i].map((d) => [`p${d}`, "^1"])) });
      const packages: Record<string, LockEntry> = { "": { name: "repo" } };
      deps.forEach((_, i) => { packages[`node_modules/p${i}`] = entry(i); });
      for (const [parent, child] of nested) packages[`node_modules/p${parent}/node_modules/p${child}`] = entry(child);
      const lock = projectLock({ lockfileVersion: 3, packages }, { name: "p", dependencies: Object.fromEntries(roots.map((r) => [`p${r}`, "^1"])) });
      for (const [at, e] of Object.entries(lock.packages)) {
        for (const name of Object.keys(e.dependencies ?? {})) {
          const found = locate(lock.packages, at, name);
          expect(found, `${name} from ${at || "the project"}`).toBeDefined();
          expect(found).toBe(locate(packages, at, name));
        }
      }
    }), { numRuns: 200 });
  });
});
