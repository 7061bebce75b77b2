// The POSIX sh programs nftsg runs on hosts (provider/host/remoteScript.ts,
// built from the functions in provider/host/remoteLib.ts), rendered with
// representative parameters and checked by shellcheck as `sh` scripts: any
// finding fails the test. shellcheck is a Debian package that
// scripts/setup.sh installs; nothing is executed here.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { applyProgram, fireScript, readProgram, removeProgram } from "../../provider/host/remoteScript";

/**
 * Codes left out for every program, each for a reason that holds for all of
 * them. Anything else shellcheck reports is a finding.
 */
const EXCLUDED_EVERYWHERE: Record<string, string> = {
  // Every program carries the whole shared library (remoteLib.ts), and each
  // calls only the functions it needs: the read program never locks, the
  // apply program never uninstalls boot loading. shellcheck reports the
  // bodies of functions a program does not call as unreachable.
  SC2317: "functions of the shared library that this program does not call",
  // `write && mv ... || fail apply "..."` and `[ -f "$c" ] && grep ... ||
  // continue` mean exactly "C when A or B fails": the warning that C may run
  // when A succeeded and B failed describes the intent.
  SC2015: "A && B || C used on purpose: C when either A or B fails",
};

/**
 * The read and remove programs start with the same variable preamble as the
 * apply program (shellVars, preflight), which sets every path any program
 * uses; each uses only some of them.
 */
const EXCLUDED_PREAMBLE: Record<string, string> = {
  SC2034: "variables of the shared preamble that this program does not use",
};

interface Finding {
  line: number;
  column: number;
  level: string;
  code: number;
  message: string;
}

function shellcheckAvailable(): boolean {
  return spawnSync("shellcheck", ["--version"], { stdio: "ignore" }).status === 0;
}

/** shellcheck's findings on `program` as `sh`, minus the excluded codes, as readable lines. */
function shellcheck(program: string, excluded: Record<string, string>): string[] {
  const args = ["-s", "sh", "-f", "json1", "--severity=style"];
  const codes = Object.keys(excluded);
  if (codes.length > 0) args.push("-e", codes.join(","));
  const r = spawnSync("shellcheck", [...args, "-"], { input: program, encoding: "utf8" });
  if (r.error) throw r.error;
  // Exit 0: nothing found; 1: findings; anything else: shellcheck itself failed.
  if (r.status !== 0 && r.status !== 1) throw new Error(`shellcheck failed (exit ${r.status}): ${r.stderr}`);
  const { comments } = JSON.parse(r.stdout) as { comments: Finding[] };
  const lines = program.split("\n");
  return comments.map((c) => `line ${c.line}:${c.column} ${c.level} SC${c.code}: ${c.message}\n    ${lines[c.line - 1]?.trim() ?? ""}`);
}

const NONCE = "0123456789abcdef0123456789abcdef";
/** A compiled-looking script, with characters a shell would expand if it ever saw them unquoted. */
const SCRIPT = [
  "# nftsg: the firewall of a host in security groups db.",
  "table inet nftsg {}",
  "delete table inet nftsg",
  "table inet nftsg {",
  '\tcomment "acme/web/prod/host=db-1"',
  "\tset sg_web_v4 {",
  "\t\ttype ipv4_addr",
  "\t\tflags interval",
  "\t\telements = { 198.18.0.11, 198.18.0.12 }",
  "\t}",
  "\tchain ingress {",
  "\t\ttype filter hook input priority filter; policy drop;",
  '\t\tct state established,related accept comment "stateful: replies and related traffic"',
  '\t\ttcp dport 22 accept comment "failsafe ssh"',
  '\t\tip saddr @sg_web_v4 tcp dport 5432 accept comment "db: $(postgres) `from` web ${x}"',
  "\t}",
  "}",
  "",
].join("\n");

const PROGRAMS: { name: string; text: string; excluded: Record<string, string> }[] = [
  {
    name: "applyProgram (defaults)",
    text: applyProgram({ table: "nftsg", owner: "acme/web/prod/host=db-1", script: SCRIPT, rollbackSeconds: 30, nonce: NONCE }),
    excluded: EXCLUDED_EVERYWHERE,
  },
  {
    name: "applyProgram (takeover, instance, failsafe port, lock wait, other table)",
    text: applyProgram({
      table: "edge_fw",
      owner: "acme/web/prod/host=edge-1",
      takeover: true,
      instance: "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
      failsafePort: 2222,
      script: SCRIPT.replace(/nftsg/g, "edge_fw"),
      rollbackSeconds: 5,
      lockWaitSeconds: 120,
      nonce: NONCE,
    }),
    excluded: EXCLUDED_EVERYWHERE,
  },
  {
    name: "readProgram",
    text: readProgram({ table: "nftsg", nonce: NONCE }),
    excluded: { ...EXCLUDED_EVERYWHERE, ...EXCLUDED_PREAMBLE },
  },
  {
    name: "removeProgram (defaults)",
    text: removeProgram({ table: "nftsg", owner: "acme/web/prod/host=db-1", nonce: NONCE }),
    excluded: { ...EXCLUDED_EVERYWHERE, ...EXCLUDED_PREAMBLE },
  },
  {
    name: "removeProgram (takeover, instance, lock wait)",
    text: removeProgram({
      table: "edge_fw",
      owner: "acme/web/prod/host=edge-1",
      takeover: true,
      instance: "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
      lockWaitSeconds: 120,
      nonce: NONCE,
    }),
    excluded: { ...EXCLUDED_EVERYWHERE, ...EXCLUDED_PREAMBLE },
  },
  // The rollback timer is a file of its own, run by systemd-run or setsid: nothing excluded.
  { name: "fireScript (nftsg)", text: fireScript("nftsg"), excluded: {} },
  { name: "fireScript (edge_fw)", text: fireScript("edge_fw"), excluded: {} },
];

describe("shellcheck on the programs nftsg runs on hosts", () => {
  it("shellcheck is installed (scripts/setup.sh installs the Debian package)", () => {
    expect(shellcheckAvailable(), "shellcheck not found: run `bash scripts/setup.sh` or `apt-get install shellcheck`").toBe(true);
  });

  it("the check is not vacuous: an unquoted expansion is a finding", () => {
    expect(shellcheck('{\nrm -f $STATE/x\n}\n', EXCLUDED_EVERYWHERE).join("\n")).toMatch(/SC2086/);
  });

  it.each(PROGRAMS)("$name: no finding", ({ text, excluded }) => {
    expect(shellcheck(text, excluded)).toEqual([]);
  });
});
