// The package users install: what `npm pack` ships, and its types as a plain
// TypeScript program sees them after installing the tarball (with the real
// @pulumi/command types for a connection a user already has).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { installPacked, nodeEnv, packPackage, type PackedPackage } from "./support/packedProject";

const run = promisify(execFile);
let base: string;
let consumer: string;
let packed: PackedPackage;

/** A user's program: their @pulumi/command connection, given to a Fleet as is. */
const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { types } from "@pulumi/command";
import * as nftsg from "pulumi-nftsg";

const config = new pulumi.Config();
// As written for @pulumi/command's remote.Command.
const plain: types.input.remote.ConnectionArgs = {
  host: "203.0.113.10", user: "root", privateKey: config.requireSecret("privateKey"),
  proxy: { host: "203.0.113.1", user: "jump", agentSocketPath: "/run/ssh-agent.sock" },
};
const asInput: command.remote.CommandArgs["connection"] = pulumi.output(plain);
new command.remote.Command("uptime", { connection: plain, create: "uptime" });

const fleet = new nftsg.Fleet("f", {
  securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", ports: [80, 443], cidrs: ["0.0.0.0/0"] }] }],
  hosts: [
    { name: "a", connection: plain, securityGroups: ["web"] },
    { name: "b", connection: asInput, securityGroups: ["web"] },
  ],
});
export const hashes: pulumi.Output<string>[] = Object.values(fleet.attachments).map((a) => a.hash);
const compiled: nftsg.CompiledFleet = nftsg.compileFleet({ securityGroups: [], hosts: [] });
export const hosts: number = Object.keys(compiled.hosts).length;
`;

/** The same with a misspelt field: must not compile (proves the types are really checked). */
const MISTAKE = `
import * as nftsg from "pulumi-nftsg";
new nftsg.Fleet("f", { securityGroups: [], hosts: [{ name: "a", connection: { hots: "203.0.113.10" }, securityGroups: [] }] });
`;

async function tsc(options: Record<string, unknown>, files: string[]): Promise<{ code: number; output: string }> {
  fs.writeFileSync(path.join(consumer, "tsconfig.json"), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: "es2022", skipLibCheck: false, ...options },
    files,
  }));
  try {
    const r = await run(path.join(consumer, "node_modules/.bin/tsc"), ["-p", "."], { cwd: consumer, env: nodeEnv(), encoding: "utf8", timeout: 120_000 });
    return { code: 0, output: `${r.stdout}${r.stderr}` };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

beforeAll(async () => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), "nftsg-package-"));
  packed = await packPackage(base);
  consumer = path.join(base, "consumer");
  fs.mkdirSync(consumer);
  fs.writeFileSync(path.join(consumer, "package.json"), JSON.stringify({
    name: "consumer", version: "1.0.0", private: true,
    dependencies: { "@pulumi/pulumi": "^3.260.0", "@pulumi/command": "^1.2.1" },
    devDependencies: { typescript: "~5.9.3", "@types/node": "^22.10.0" },
  }));
  await installPacked(consumer, packed);
  fs.writeFileSync(path.join(consumer, "index.ts"), PROGRAM);
  fs.writeFileSync(path.join(consumer, "mistake.ts"), MISTAKE);
}, 300_000);

afterAll(() => {
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

describe("npm pack", () => {
  it("ships the SDK, the provider and the nftsg command only", () => {
    console.log(`pulumi-nftsg tarball: ${packed.files.length} files, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked`);
    const allowed = /^(package\.json|README\.md|LICENSE|dist\/index\.(js|d\.ts)|dist\/(sdk|provider)\/.+\.(js|d\.ts)|dist\/cli\/.+\.js)$/;
    expect(packed.files.filter((f) => !allowed.test(f))).toEqual([]);
    expect(packed.files.filter((f) => /\.test\./.test(f))).toEqual([]);
    // The lab, the tests, the benchmarks and the examples are this repository's, never the package's.
    expect(packed.files.filter((f) => /^(dist\/)?(lab|test|bench|examples)\//.test(f))).toEqual([]);
    expect(packed.files).toEqual(expect.arrayContaining(["package.json", "dist/index.js", "dist/index.d.ts", "dist/provider/index.js", "dist/sdk/providers.js", "dist/cli/nftsg.js"]));
  });

  it("ships every file its files require, and its bin", () => {
    const root = path.join(consumer, "node_modules/pulumi-nftsg");
    const shipped = new Set(packed.files);
    const missing: string[] = [];
    for (const file of packed.files.filter((f) => f.endsWith(".js"))) {
      const text = fs.readFileSync(path.join(root, file), "utf8");
      for (const m of text.matchAll(/require\("(\.{1,2}\/[^"]*)"\)/g)) {
        const target = path.posix.join(path.posix.dirname(file), m[1]);
        if (![target, `${target}.js`, `${target}/index.js`].some((t) => shipped.has(t))) missing.push(`${file} requires ${m[1]}`);
      }
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { bin?: string | Record<string, string> };
    const bins = typeof manifest.bin === "string" ? [manifest.bin] : Object.values(manifest.bin ?? {});
    for (const bin of bins) if (!shipped.has(path.posix.normalize(bin))) missing.push(`bin ${bin}`);
    expect(missing).toEqual([]);
  });

  it("keeps @pulumi/pulumi a peer dependency", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(consumer, "node_modules/pulumi-nftsg/package.json"), "utf8"));
    expect(Object.keys(manifest.peerDependencies)).toEqual(["@pulumi/pulumi"]);
    expect(Object.keys(manifest.dependencies ?? {})).not.toContain("@pulumi/pulumi");
  });
});

describe("types from a plain TypeScript program", () => {
  // One tsc run per module setting; the CommonJS run also compiles the
  // program with the misspelt field, whose errors must be all there is.
  it("CommonJS, node resolution (Pulumi's template): a @pulumi/command connection is accepted as is; a misspelt connection field is rejected", async () => {
    const r = await tsc({ module: "commonjs", moduleResolution: "node" }, ["index.ts", "mistake.ts"]);
    expect(r.code).not.toBe(0);
    const errors = r.output.split("\n").filter((l) => /error TS\d+/.test(l));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.filter((l) => !l.startsWith("mistake.ts("))).toEqual([]);
    expect(r.output).toMatch(/hots/);
  });

  it("node16: a @pulumi/command connection is accepted as is", async () => {
    const r = await tsc({ module: "node16", moduleResolution: "node16" }, ["index.ts"]);
    expect(r.output).toBe("");
    expect(r.code).toBe(0);
  });

  it("loads at run time from the user's node_modules, provider entry point included", async () => {
    const r = await run(process.execPath, ["-e", `
      const nftsg = require("pulumi-nftsg");
      const provider = require.resolve("pulumi-nftsg/provider");
      console.log(JSON.stringify({ fleet: typeof nftsg.Fleet, compile: typeof nftsg.compileFleet, provider }));
    `], { cwd: consumer, env: nodeEnv(), encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({
      fleet: "function", compile: "function",
      provider: path.join(fs.realpathSync(consumer), "node_modules/pulumi-nftsg/dist/provider/index.js"),
    });
  });
});
