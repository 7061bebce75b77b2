// The architecture as a test (docs/architecture.md): the product's folders
// are floors, and a folder imports only its own and lower floors: never a
// floor above it, never a sibling on its own floor, so no folder cycle can
// exist. Every relative import is checked, type-only and lazy `require`s
// included.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");

/** Bottom to top; folders on one floor may not import each other. */
export const FLOORS: readonly (readonly string[])[] = [
  ["provider/vocabulary"],
  ["provider/addressing"],
  ["provider/nft"],
  ["provider/declaration"],
  ["provider/compiler", "provider/evaluate"],
  ["provider/otherFirewalls"],
  ["provider/host"],
  ["provider/handlers"],
  ["provider"],
  ["sdk"],
  ["cli"],
  ["index.ts"],
];

const SPEC = /(?:from\s+|require\(|import\()\s*["'](\.{1,2}\/[^"']*)["']/g;

/** The floor folder a source file belongs to. */
export function folderOf(file: string): string {
  const parts = file.split("/");
  if (parts[0] === "provider" && parts.length > 2) return `provider/${parts[1]}`;
  if (parts.length === 1) return parts[0]!;
  return parts[0]!;
}

/** Every relative import of a file's text, as repository paths (without extension). */
export function importsOf(file: string, text: string): string[] {
  return [...text.matchAll(SPEC)].map((m) => normalize(join(dirname(file), m[1]!)));
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir))) {
    const p = join(dir, e);
    if (statSync(join(ROOT, p)).isDirectory()) out.push(...sources(p));
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

function floorOf(folder: string): number {
  const i = FLOORS.findIndex((f) => f.includes(folder));
  if (i < 0) throw new Error(`folder ${folder} is on no floor: add it to FLOORS (and docs/architecture.md)`);
  return i;
}

/** The imports that break the floors, as "file -> import (why)". */
export function violations(files: readonly { path: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    const from = folderOf(f.path);
    for (const target of importsOf(f.path, f.text)) {
      const to = folderOf(`${target}.ts`);
      if (to === from) continue;
      const a = floorOf(from);
      const b = floorOf(to);
      if (b > a) out.push(`${f.path} -> ${target} (${from} imports ${to}, a floor above it)`);
      else if (b === a) out.push(`${f.path} -> ${target} (${from} imports ${to}, a sibling on its floor)`);
    }
  }
  return out;
}

describe("layering", () => {
  it("no folder imports a floor above it or a sibling", () => {
    const files = [...sources("provider"), ...sources("sdk"), ...sources("cli"), "index.ts"].map((p) => ({
      path: relative(ROOT, join(ROOT, p)),
      text: readFileSync(join(ROOT, p), "utf8"),
    }));
    expect(files.length).toBeGreaterThan(80);
    expect(violations(files)).toEqual([]);
  });

  it("the checker finds an upward import, a sibling import and a lazy require", () => {
    expect(
      violations([
        { path: "provider/declaration/x.ts", text: 'import { nftName } from "../compiler/compile";' },
        { path: "provider/compiler/y.ts", text: 'const e = require("../evaluate/flow") as typeof import("../evaluate/flow");' },
        { path: "provider/host/z.ts", text: 'import type { Family } from "../vocabulary/families";' },
      ]),
    ).toEqual([
      "provider/declaration/x.ts -> provider/compiler/compile (provider/declaration imports provider/compiler, a floor above it)",
      "provider/compiler/y.ts -> provider/evaluate/flow (provider/compiler imports provider/evaluate, a sibling on its floor)",
      "provider/compiler/y.ts -> provider/evaluate/flow (provider/compiler imports provider/evaluate, a sibling on its floor)",
    ]);
  });
});
