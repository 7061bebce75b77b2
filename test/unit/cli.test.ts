// The `nftsg` command (dist/cli/nftsg.js, run as users run it) on the web-db
// example: golden outputs for explain, lint, test and flows.
//   npm run build && UPDATE_GOLDEN=1 npx vitest run test/unit/cli.test.ts   (then review the diff)
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/engine";

const UPDATE = process.env.UPDATE_GOLDEN === "1";
const CLI = path.join(repoRoot, "dist/cli/nftsg.js");
const SAMPLE = "dist/examples/web-db/sample.js";
const GOLDEN = path.join(repoRoot, "test/golden/cli");

function nftsg(args: string[]): { out: string; code: number } {
  try {
    return { out: execFileSync(process.execPath, [CLI, ...args], { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }), code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; status: number };
    return { out: err.stdout + err.stderr, code: err.status };
  }
}

describe("nftsg golden outputs (web-db example)", () => {
  it.each<[string, string[], number]>([
    ["explain-web-db-postgres", ["explain", SAMPLE, "--from", "web-1", "--to", "db-1", "--port", "5432/tcp"], 0],
    ["explain-internet-ssh", ["explain", SAMPLE, "--from", "0.0.0.0/0", "--to", "sg:db", "--port", "22/tcp"], 0],
    ["explain-db-calls-out", ["explain", SAMPLE, "--from", "db-2", "--to", "0.0.0.0/0", "--port", "tcp/443"], 0],
    ["explain-spare-unfiltered", ["explain", SAMPLE, "--from", "web-2", "--to", "spare", "--port", "6379/tcp", "--family", "4"], 0],
    ["lint-web-db", ["lint", SAMPLE], 0],
    ["lint-mistakes", ["lint", "test/golden/cli/mistakes.json"], 0],
    ["test-web-db", ["test", SAMPLE], 0],
    ["explain-unknown-host", ["explain", SAMPLE, "--from", "web-3", "--to", "db-1", "--port", "5432/tcp"], 2],
  ])("%s", (name, args, code) => {
    const r = nftsg(args);
    const file = path.join(GOLDEN, `${name}.txt`);
    const text = `$ nftsg ${args.join(" ")}\n${r.out}`;
    if (UPDATE) writeFileSync(file, text);
    expect(existsSync(file), `missing ${file}; run with UPDATE_GOLDEN=1 and review`).toBe(true);
    expect(text).toBe(readFileSync(file, "utf8"));
    expect(r.code).toBe(code);
  });

  it("a failing policy test exits 1", () => {
    const decl = JSON.parse(readFileSync(path.join(GOLDEN, "mistakes.json"), "utf8"));
    decl.tests = [{ from: "0.0.0.0/0", to: "db-1", protocol: "tcp", port: 6379, expect: "deny", description: "no public cache" }];
    const file = path.join(repoRoot, "dist/cli-failing-test.json");
    writeFileSync(file, JSON.stringify(decl));
    const r = nftsg(["test", file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('policy test tests[0] "no public cache" failed: tcp/6379 from 0.0.0.0/0 to db-1: expected deny, evaluated allow');
  });

  it("flows between two declarations: the Markdown summary", () => {
    const write = (name: string, extraWeb: string[]) => {
      const { sampleDeclaration } = require(path.join(repoRoot, SAMPLE)) as typeof import("../../examples/web-db/sample");
      const file = path.join(repoRoot, `dist/${name}.json`);
      writeFileSync(file, JSON.stringify(sampleDeclaration(extraWeb)));
      return file;
    };
    const r = nftsg(["flows", "--old", write("flows-old", []), "--new", write("flows-new", ["spare"])]);
    const file = path.join(GOLDEN, "flows-spare-joins-web.md");
    if (UPDATE) writeFileSync(file, r.out);
    expect(r.out).toBe(readFileSync(file, "utf8"));
  });
});
