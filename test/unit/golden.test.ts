// Golden scripts: the compiled scripts of a handful of fleets are pinned in
// test/golden/<fleet>.<host>.nft (and their lines in <fleet>.lines.txt).
// Every golden script then goes through the real nft:
//   - `nft -c -f` in the root namespace (check only, commits nothing);
//   - loaded for real in a scratch network namespace, twice (re-apply), and
//     read back with `nft list table`: the normaliser must make the listing
//     equal to the script's table definition — and on nft 1.0.6 the listing
//     must even be byte-identical to it.
//
// To regenerate after an intended change (then review the diff by eye):
//   UPDATE_GOLDEN=1 npx vitest run test/unit/golden.test.ts

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatIPv6 } from "../../provider/addressing/cidr";
import { compileFleet, tableRemovalScript } from "../../provider/compiler/compile";
import type { HostRuleset } from "../../provider/declaration/declaration";
import { describeDifference, normaliseNftListing, tableDefinition, tableOwner } from "../../provider/nft/listing";
import { GOLDEN_FLEETS } from "../golden/fleets";
import { makeRng } from "../support/fleetGen";

const GOLDEN_DIR = join(__dirname, "..", "golden");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

const compiled = GOLDEN_FLEETS.map((f) => ({
  fleet: f,
  hosts: Object.values(compileFleet(f.decl, f.owner ? { owner: f.owner } : {})),
}));

function linesFile(hosts: HostRuleset[]): string {
  return hosts.map((h) => `# ${h.host}\n${h.lines.map((l) => `${l}\n`).join("")}`).join("\n");
}

const isGoldenFile = (f: string) => /\.(nft|lines\.txt)$/.test(f);

describe("golden scripts", () => {
  const expectedFiles = new Set<string>();
  for (const { fleet, hosts } of compiled) {
    for (const h of hosts) if (h.script !== "") expectedFiles.add(`${fleet.name}.${h.host}.nft`);
    expectedFiles.add(`${fleet.name}.lines.txt`);
  }

  if (UPDATE) {
    for (const f of readdirSync(GOLDEN_DIR)) if (isGoldenFile(f) && !expectedFiles.has(f)) rmSync(join(GOLDEN_DIR, f));
    for (const { fleet, hosts } of compiled) {
      for (const h of hosts) if (h.script !== "") writeFileSync(join(GOLDEN_DIR, `${fleet.name}.${h.host}.nft`), h.script);
      writeFileSync(join(GOLDEN_DIR, `${fleet.name}.lines.txt`), linesFile(hosts));
    }
  }

  for (const { fleet, hosts } of compiled) {
    describe(fleet.name, () => {
      for (const h of hosts) {
        it(`${h.host}: script matches ${fleet.name}.${h.host}.nft`, () => {
          const file = join(GOLDEN_DIR, `${fleet.name}.${h.host}.nft`);
          if (h.script === "") {
            expect(existsSync(file), "a host attached to no group has no script").toBe(false);
            return;
          }
          expect(existsSync(file), `missing ${file}; run with UPDATE_GOLDEN=1 and review`).toBe(true);
          expect(h.script).toBe(readFileSync(file, "utf8"));
        });
      }
      it(`lines match ${fleet.name}.lines.txt`, () => {
        expect(linesFile(hosts)).toBe(readFileSync(join(GOLDEN_DIR, `${fleet.name}.lines.txt`), "utf8"));
      });
    });
  }

  it("no stale golden files", () => {
    const stale = readdirSync(GOLDEN_DIR).filter((f) => isGoldenFile(f) && !expectedFiles.has(f));
    expect(stale).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// The real nft

const NETNS = `nftsg-cc-${randomBytes(4).toString("hex")}`;
let workDir = "";

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
}

function nftIn(args: string[], input?: string): string {
  return run("ip", ["netns", "exec", NETNS, "nft", ...args], input);
}

function scriptFile(name: string, text: string): string {
  const file = join(workDir, name);
  writeFileSync(file, text);
  return file;
}

const NFT_VERSION = run("nft", ["--version"]).trim();
/** The compiler emits nft 1.0.6's listing format; other versions are compared normalised only. */
const BYTE_EXACT = /\bv1\.0\.6\b/.test(NFT_VERSION);

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), "nftsg-golden-"));
  run("ip", ["netns", "add", NETNS]);
});

afterAll(() => {
  try {
    run("ip", ["netns", "del", NETNS]);
  } finally {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }
});

describe(`real nft (${NFT_VERSION})`, () => {
  for (const { fleet, hosts } of compiled) {
    for (const h of hosts.filter((x) => x.script !== "")) {
      it(`${fleet.name}.${h.host}: nft -c accepts it; loads twice; reads back identically`, () => {
        const file = scriptFile(`${fleet.name}.${h.host}.nft`, h.script);
        // Check mode in the root namespace: parsed and validated by the kernel, not committed.
        run("nft", ["-c", "-f", file]);
        nftIn(["-f", file]); // first apply: the table did not exist
        nftIn(["-f", file]); // re-apply: the table is replaced
        const listing = nftIn(["list", "table", "inet", h.table]);
        const definition = tableDefinition(h.script);
        const expected = normaliseNftListing(definition);
        const actual = normaliseNftListing(listing);
        expect(actual, describeDifference(expected, actual)).toBe(expected);
        if (BYTE_EXACT) expect(listing).toBe(definition);
        // With handles (as `nft -a` prints them) it still compares equal.
        expect(normaliseNftListing(nftIn(["-a", "list", "table", "inet", h.table]))).toBe(expected);
        expect(tableOwner(listing)).toBe(fleet.owner);
      });
    }
  }

  it("applying one host's script over another's leaves nothing of the old one", () => {
    const scripts = compiled.flatMap((c) => c.hosts).filter((h) => h.script !== "" && h.table === "nftsg");
    for (const h of scripts) nftIn(["-f", scriptFile("seq.nft", h.script)]);
    const last = scripts[scripts.length - 1]!;
    expect(normaliseNftListing(nftIn(["list", "table", "inet", "nftsg"]))).toBe(normaliseNftListing(tableDefinition(last.script)));
  });

  it("never touches other tables; the removal script removes only its own table", () => {
    nftIn(["-f", "-"], "table inet nftsg_probe_other {\n\tchain c {\n\t\ttype filter hook input priority 10; policy accept;\n\t\ttcp dport 1 accept\n\t}\n}\n");
    nftIn(["-f", "-"], "table ip nftsg {\n\tchain c {\n\t\ttcp dport 2 accept\n\t}\n}\n");
    const h = compiled[0]!.hosts.find((x) => x.script !== "")!;
    nftIn(["-f", scriptFile("a.nft", h.script)]);
    const tables = () => new Set(nftIn(["list", "tables"]).trim().split("\n"));
    const others = tables();
    others.delete("table inet nftsg");
    expect(others).toContain("table inet nftsg_probe_other");
    expect(others).toContain("table ip nftsg");
    expect(tables()).toContain("table inet nftsg");
    nftIn(["-f", scriptFile("rm.nft", tableRemovalScript("nftsg"))]);
    nftIn(["-f", scriptFile("rm.nft", tableRemovalScript("nftsg"))]); // idempotent
    expect(tables()).toEqual(others);
    expect(nftIn(["list", "table", "inet", "nftsg_probe_other"])).toContain("tcp dport 1 accept");
    nftIn(["delete", "table", "inet", "nftsg_probe_other"]);
    nftIn(["delete", "table", "ip", "nftsg"]);
  });

  it("IPv6 text matches nft's own printing, for random addresses and the embedded-IPv4 forms", () => {
    const rng = makeRng(99);
    const values = new Set<bigint>([0n, 1n, 2n, 0x10000n, 0xffff00000000n, 0xffff00000001n, 0x0102_0304n, 1n << 112n, (1n << 128n) - 1n]);
    while (values.size < 300) {
      let v = 0n;
      for (let i = 0; i < 8; i++) {
        // Plenty of zero groups, to exercise where "::" goes.
        const r = rng();
        v = (v << 16n) | BigInt(r < 0.5 ? 0 : r < 0.7 ? 0xffff : Math.floor(rng() * 0x10000));
      }
      values.add(v);
    }
    const elements = [...values].map(formatIPv6);
    // A plain hash set keeps every element as given (no interval merging).
    const probe = `table inet nftsg_v6probe {\n\tset probe {\n\t\ttype ipv6_addr\n\t\telements = { ${elements.join(", ")} }\n\t}\n}\n`;
    nftIn(["-f", scriptFile("v6.nft", probe)]);
    const listing = nftIn(["list", "set", "inet", "nftsg_v6probe", "probe"]);
    nftIn(["delete", "table", "inet", "nftsg_v6probe"]);
    const listed = /elements = \{([^}]*)\}/.exec(listing)![1]!.split(",").map((e) => e.trim());
    expect([...listed].sort()).toEqual([...elements].sort());
  });
});
