// Tests load the product from dist/ with Node's own require, not through
// vitest's module transform: Pulumi serialises dynamic providers from their
// function source, which must be plain CommonJS as users will run it.
import { createRequire } from "node:module";
import * as path from "node:path";
import { repoRoot } from "./engine";

const nodeRequire = createRequire(path.join(repoRoot, "package.json"));

export function requireDist<T>(relativePath: string): T {
  return nodeRequire(path.join(repoRoot, "dist", relativePath)) as T;
}
