// The example projects install pulumi-nftsg from the tarball that `npm pack`
// writes next to their package.json (the package is not on the npm registry
// yet; examples/quickstart/README.md): the file name must follow the
// package's name and version, or a newcomer's `npm install` fails.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");
const read = (p: string) => JSON.parse(readFileSync(join(ROOT, p), "utf8")) as { name: string; version: string; dependencies?: Record<string, string> };

describe("example projects", () => {
  const ours = read("package.json");
  it.each(["examples/quickstart", "examples/web-db", "examples/multistack/platform", "examples/multistack/team"])("%s depends on the tarball npm pack writes", (dir) => {
    expect(read(`${dir}/package.json`).dependencies?.[ours.name]).toBe(`file:${ours.name}-${ours.version}.tgz`);
    const readme = readFileSync(join(ROOT, dir, "README.md"), "utf8");
    expect(readme).toContain(`npm pack --pack-destination`);
    expect(readme).toContain(`${ours.name}-${ours.version}.tgz`);
  });
});
