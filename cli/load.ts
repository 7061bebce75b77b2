// Reading a declaration for the CLI: a JSON file, or a CommonJS module that
// exports `declaration` (or a default export): the declaration itself or a
// function returning it. Fields only the Pulumi SDK knows are dropped.
import * as fs from "node:fs";
import * as path from "node:path";

const SDK_ONLY = ["takeover", "rollbackSeconds"];

export function loadDeclaration(file: string): Record<string, unknown> {
  const full = path.resolve(file);
  let value: unknown;
  if (full.endsWith(".json")) {
    value = JSON.parse(fs.readFileSync(full, "utf8"));
  } else {
    const mod = require(full) as Record<string, unknown>;
    value = mod.declaration ?? mod.default ?? mod;
    if (typeof value === "function") value = (value as () => unknown)();
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${file}: expected a fleet declaration (an object with securityGroups and hosts)`);
  }
  const out = { ...(value as Record<string, unknown>) };
  for (const k of SDK_ONLY) delete out[k];
  return out;
}
