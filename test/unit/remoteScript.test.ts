// The programs nftsg runs on hosts, checked as text and with the local
// shells' parsers (`sh -n`, `bash -n`: syntax only, nothing is executed).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { utils } from "ssh2";
import { describe, expect, it } from "vitest";
import { fingerprint, formatHostKey, hostKeyAlgorithms, hostKeyMatches, parseHostKey } from "../../provider/host/hostKey";
import { hasEvent, parseRemoteOutput } from "../../provider/host/remoteOutput";
import {
  applyProgram,
  assertOwner,
  assertTableName,
  fireScript,
  heredocTerminator,
  readProgram,
  remoteCommand,
  removeProgram,
  shQuote,
} from "../../provider/host/remoteScript";
import { SH_BASE, SH_BOOT, shellVars } from "../../provider/host/remoteLib";
import { assertScriptScope, ownerInScript, topLevelStatements } from "../../provider/host/remoteScriptScope";

const NONCE = "0123456789abcdef0123456789abcdef";
const SCRIPT = [
  "table inet nftsg {}",
  "delete table inet nftsg",
  "table inet nftsg {",
  '\tcomment "org/project/stack"',
  "\tchain input {",
  "\t\ttype filter hook input priority filter; policy drop;",
  '\t\tct state established,related accept comment "stateful"',
  '\t\ttcp dport 22 accept comment "failsafe ssh"',
  "\t}",
  "}",
  "",
].join("\n");

function parses(shell: "sh" | "bash", program: string): boolean {
  return spawnSync(shell, ["-n"], { input: program, stdio: ["pipe", "ignore", "ignore"] }).status === 0;
}

const apply = (over: Partial<Parameters<typeof applyProgram>[0]> = {}) =>
  applyProgram({ table: "nftsg", owner: "org/project/stack", script: SCRIPT, rollbackSeconds: 30, nonce: NONCE, ...over });

describe("shQuote", () => {
  it("property: the shell gets back exactly the string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }).filter((s) => !s.includes("\0")), (s) => {
        const out = execFileSync("sh", ["-c", `printf '%s' ${shQuote(s)}`]);
        expect(out.toString("utf8")).toBe(Buffer.from(s, "utf8").toString("utf8"));
      }),
      { numRuns: 60 },
    );
  });
  it("quotes metacharacters", () => {
    expect(shQuote(`a'b; rm -rf / $(x) \`y\``)).toBe(`'a'\\''b; rm -rf / $(x) \`y\`'`);
  });
});

describe("validation", () => {
  it("table names", () => {
    for (const ok of ["nftsg", "N", "a_b9", "a".repeat(32)]) expect(() => assertTableName(ok)).not.toThrow();
    for (const bad of ["", "9a", "a-b", "a b", "a".repeat(33), "x;reboot", "_a", "a\n"]) expect(() => assertTableName(bad)).toThrow();
  });
  it("owners", () => {
    for (const ok of ["org/project/stack", "o.p-s_1", "a@b:c=d+e"]) expect(() => assertOwner(ok)).not.toThrow();
    for (const bad of ["", "a b", 'a"b', "a;b", "a'b", "/x", "a".repeat(129)]) expect(() => assertOwner(bad)).toThrow();
  });
  it("applyProgram refuses bad inputs", () => {
    expect(() => apply({ table: "bad-name" })).toThrow(/table name/);
    expect(() => apply({ owner: "a b" })).toThrow(/owner/);
    expect(() => apply({ script: "table inet nftsg {}\0" })).toThrow(/NUL/);
    expect(() => apply({ rollbackSeconds: 1 })).toThrow(/rollbackSeconds/);
    expect(() => apply({ rollbackSeconds: 99999 })).toThrow(/rollbackSeconds/);
  });
});

describe("heredocTerminator", () => {
  it("is never a line of the body, even when the random source collides", () => {
    const seq = ["aa", "aa", "bb"];
    const body = "x\nNFTSG_EOF_aa\ny";
    expect(heredocTerminator(body, () => seq.shift()!)).toBe("NFTSG_EOF_bb");
  });
  it("property: random bodies never contain their terminator as a line", () => {
    fc.assert(
      fc.property(fc.string(), (body) => {
        const t = heredocTerminator(body);
        expect(body.split("\n")).not.toContain(t);
        expect(t).toMatch(/^NFTSG_EOF_[0-9a-f]{24}$/);
      }),
    );
  });
});

describe("applyProgram", () => {
  const p = apply();

  it("is one brace group, so a truncated program never runs", () => {
    expect(p.startsWith("{\n")).toBe(true);
    expect(p.endsWith("\n}\n")).toBe(true);
  });

  it("parses with dash and bash", () => {
    expect(parses("sh", p)).toBe(true);
    expect(parses("bash", p)).toBe(true);
  });

  it("every proper prefix is a syntax error (connection cut while sending)", () => {
    const cuts = [1, 10, 100, 1000, p.indexOf("NFTSG_EOF_"), p.indexOf(SCRIPT.slice(0, 20)) + 5, p.length - 3, p.length - 2];
    for (let i = 0; i < 12; i++) cuts.push(Math.floor((p.length * (i + 0.5)) / 12));
    for (const cut of cuts) expect(parses("sh", p.slice(0, cut)), `cut at ${cut}`).toBe(false);
  });

  it("carries the script verbatim inside a quoted heredoc", () => {
    const m = /cat > "\$NEW" <<'(NFTSG_EOF_[0-9a-f]+)'[^\n]*\n([\s\S]*?)\n\1\n/.exec(p);
    expect(m).not.toBeNull();
    expect(m![2] + "\n").toBe(SCRIPT);
  });

  it("carries scripts with shell metacharacters, no trailing newline and a fake terminator line", () => {
    const nasty = 'table inet nftsg {\n\tcomment "$(reboot) `id` \\\'\\" ${x}"\n}\nNFTSG_EOF_\nEOF';
    const q = apply({ script: nasty });
    expect(parses("sh", q)).toBe(true);
    const m = /cat > "\$NEW" <<'(NFTSG_EOF_[0-9a-f]+)'[^\n]*\n([\s\S]*?)\n\1\n/.exec(q);
    expect(m![2]).toBe(nasty);
  });

  it("quotes its inputs and uses the nonce in markers", () => {
    expect(p).toContain(`T='nftsg'`);
    expect(p).toContain(`OWNER='org/project/stack'`);
    expect(p).toContain(`NONCE='${NONCE}'`);
    expect(p).toContain("ROLLBACK_SECONDS=30");
    expect(p).toContain("TAKEOVER=0");
    expect(apply({ takeover: true })).toContain("TAKEOVER=1");
  });

  it("checks before applying, arms the rollback before applying, and persists only after CONFIRM", () => {
    const order = ["preflight\n", "lock\n", "resolve_stale\n", "check_owner ", `printf 'include "%s"\\ninclude "%s"\\n' "$PREV" "$NEW" | nft -c -f -`, 'nft -c -f "$NEW"', '> "$ARMED"', "setsid /bin/sh", 'nft -f "$NEW"', "say applied", "IFS= read -r REPLY", "CONFIRM)", 'mv -f "$NEW" "$LIVE"', "install_boot\n", "say confirmed"];
    let at = -1;
    for (const step of order) {
      const i = p.indexOf(step, at + 1);
      expect(i, step).toBeGreaterThan(at);
      at = i;
    }
  });

  it("the timer cannot hold the lock (fd 9 closed) and outlives the session (setsid, no stdio)", () => {
    expect(p).toMatch(/setsid \/bin\/sh "\$FIRE" "\$RUN" --sleep "\$ROLLBACK_SECONDS" <\/dev\/null >\/dev\/null 2>&1 9>&- &/);
    expect(p).toContain('systemd-run --quiet --collect --unit="$RB_UNIT" --on-active="$ROLLBACK_SECONDS"s');
  });

  it("only the final read consumes stdin", () => {
    const reads = p.split("\n").filter((l) => /(^|[;&|]\s*)read /.test(l.trim()) || /^\s*(IFS= )?read /.test(l));
    expect(reads.filter((l) => !l.includes("<"))).toEqual(["IFS= read -r REPLY || REPLY=EOF"]);
  });
});

describe("the library's owner and record readers, run by dash and bash", () => {
  // live_owner, stack_of and the record readers run in the shell itself (no
  // sed, head or tr on every apply): the same answers as the sed/head/tr
  // pipelines they replaced, on the same inputs.
  const run = (shell: "sh" | "bash", body: string, ...args: string[]): string =>
    execFileSync(shell, ["-c", shellVars({ table: "t", nonce: NONCE }) + SH_BASE + body, "sh", ...args], { encoding: "utf8" });
  const owners: [string, string][] = [
    ['table inet t {\n\tcomment "org/p/s/host=a"\n\tchain x {\n\t}\n}', "org/p/s/host=a"],
    ['table inet t {\n\tcomment "x owner=org/p/s/host=b; y"\n}', "org/p/s/host=b"],
    ['table inet t {\n\tcomment "owner=a owner=b,c"\n}', "b"],
    ['table inet t {\n\tcomment "owner=\ttab"\n}', ""],
    ['table inet t {\n\t\tcomment "nested"\n\tcomment "second"\n\tcomment "third"\n}', "second"],
    ['table inet t {\n\tcomment "has "quote" inside"\n}', ""],
    ['table inet t {\n\tcomment "a b"\n}', ""],
    ['table inet t {\n\tcomment "x"  \n}', ""],
    ["table inet t {\n}", ""],
    ["", ""],
    ['table inet t {\n\tcomment "$(echo pwned) `id` *"\n}', ""],
    ['NFTSG_LISTING\n\tcomment "after-terminator"', "after-terminator"],
  ];
  for (const shell of ["sh", "bash"] as const) {
    it(`live_owner and stack_of (${shell})`, () => {
      for (const [listing, owner] of owners) {
        expect(run(shell, 'OWNERF=/nonexistent; live_owner "$1"', listing), listing).toBe(owner);
      }
      expect(run(shell, 'stack_of "$1"', "org/p/s/host=a/host=b")).toBe("org/p/s");
      expect(run(shell, 'stack_of "$1"', "org/p/s")).toBe("org/p/s");
    });

    it(`first_line_hex (${shell})`, () => {
      const dir = mkdtempSync(join(tmpdir(), "nftsg-lib-"));
      try {
        const f = join(dir, "rec");
        const hex = (content: string | undefined) => {
          if (content === undefined) rmSync(f, { force: true });
          else writeFileSync(f, content);
          return run(shell, 'first_line_hex "$1"', f);
        };
        expect(hex("0123abcdef\n")).toBe("0123abcdef");
        expect(hex("0123abcdef")).toBe("0123abcdef");
        expect(hex("ab-CD ef\r\nff\n")).toBe("abef");
        expect(hex("\nabc\n")).toBe("");
        expect(hex(undefined)).toBe("");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("fireScript", () => {
  const f = fireScript("nftsg");
  it("parses, claims the token by rename, restores prev", () => {
    expect(parses("sh", f)).toBe(true);
    expect(f).toContain('mv "$RUN/$T.armed" "$RUN/$T.firing" 2>/dev/null || exit 0');
    expect(f).toContain("nft -f /etc/nftsg/$T.prev.nft");
    // systemd-run would expand "$…" in its argv: the script is a file, not an argument.
    expect(apply()).toContain('/bin/sh "$FIRE" "$RUN"');
  });
});

describe("boot unit (systemd hosts)", () => {
  // Runs only the pure text function of the shell library in a local shell.
  const unit = execFileSync("sh", ["-c", `${shellVars({ table: "nftsg", nonce: NONCE })}${SH_BASE}${SH_BOOT}\nwrite_unit`], {
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
  }).toString();
  it("is nftsg's own oneshot unit, early, not hung off nftables.service", () => {
    const lines = unit.split("\n");
    for (const l of [
      "DefaultDependencies=no",
      "Wants=network-pre.target",
      "Before=network-pre.target shutdown.target",
      "After=local-fs.target nftables.service",
      "Type=oneshot",
      "RemainAfterExit=yes",
      "WantedBy=sysinit.target",
    ]) {
      expect(lines, l).toContain(l);
    }
    expect(lines.find((l) => l.startsWith("ExecStart="))).toMatch(/^ExecStart=\/\S*\/nft -f \/etc\/nftsg\/nftsg\.nft$/);
    // Not PartOf: stopping nftables.service must not stop (or rate-limit) ours; the drop-in reloads instead.
    expect(unit).not.toMatch(/^(Requires|BindsTo|PartOf)=.*nftables/m);
  });

  const dropin = execFileSync("sh", ["-c", `${shellVars({ table: "nftsg", nonce: NONCE })}${SH_BASE}${SH_BOOT}\nwrite_dropin`], {
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
  }).toString();
  it.each(["ExecStartPost", "ExecReload", "ExecStopPost"])(
    "the nftables.service drop-in reloads the table after that unit's flush (%s)",
    (key) => {
      expect(dropin.split("\n")).toContain("[Service]");
      expect(dropin.split("\n").find((l) => l.startsWith(`${key}=`))).toMatch(new RegExp(`^${key}=/\\S*/nft -f /etc/nftsg/nftsg\\.nft$`));
    },
  );
});

describe("readProgram and removeProgram", () => {
  it("parse with dash and bash", () => {
    for (const prog of [readProgram({ table: "nftsg", nonce: NONCE }), removeProgram({ table: "nftsg", owner: "a/b/c", nonce: NONCE })]) {
      expect(parses("sh", prog)).toBe(true);
      expect(parses("bash", prog)).toBe(true);
      expect(prog.startsWith("{\n") && prog.endsWith("\n}\n")).toBe(true);
    }
  });
  it("readProgram changes nothing: no exclusive lock, no nft -f, no file writes; it waits on a shared hold of an existing lock", () => {
    const body = readProgram({ table: "nftsg", nonce: NONCE }).split("\npreflight\n")[1]!.replace(/#[^\n]*/g, "");
    expect(body).not.toMatch(/^\s*lock\s*$|nft -f|nft -c|rm -f|mkdir|> "|exec 9>/m);
    expect(body).toMatch(/\[ -e "\$RUN\/\$T\.lock" \] && .*exec 9<"\$RUN\/\$T\.lock"/);
    expect(body).toMatch(/flock -s -w "\$LOCK_WAIT" 9/);
  });
  it("the setsid rollback timer's pid is recorded by the arming shell, before it says armed", () => {
    const p = applyProgram({ table: "nftsg", owner: "a/b/c", script: SCRIPT, rollbackSeconds: 30, nonce: NONCE });
    const arm = p.indexOf('setsid /bin/sh "$FIRE"');
    expect(p.indexOf('echo "$!" > "$PIDF"', arm)).toBeGreaterThan(arm);
    expect(p.indexOf('echo "$!" > "$PIDF"', arm)).toBeLessThan(p.indexOf("say armed"));
    expect(fireScript("nftsg")).not.toMatch(/rollback\.pid"; sleep|echo \$\$ >/);
  });
  it("the systemd rollback timer is keyed by network namespace, and used only in PID 1's namespace", () => {
    const p = applyProgram({ table: "nftsg", owner: "a/b/c", script: SCRIPT, rollbackSeconds: 30, nonce: NONCE });
    expect(p).toContain("RB_UNIT=nftsg-rollback-net$NETNS-$T");
    // PID 1's namespace compared with this shell's (read once, for NETNS too).
    expect(p).toContain("NETNS_LINK=$(readlink /proc/self/ns/net 2>/dev/null)");
    expect(p).toMatch(/readlink \/proc\/1\/ns\/net.*= "\$NETNS_LINK"/);
    expect(p.indexOf("NETNS_LINK=$(readlink")).toBeLessThan(p.indexOf("readlink /proc/1/ns/net"));
    expect(p).toContain('if [ "$TIMER_SYSTEMD" = 1 ]; then\n  systemctl stop "$RB_UNIT.timer"');
  });
  it("removeProgram deletes with add+delete, removes boot loading before the file it includes", () => {
    const r = removeProgram({ table: "nftsg", owner: "a/b/c", nonce: NONCE });
    const del = r.indexOf("delete table inet %s");
    const unb = r.indexOf("\nuninstall_boot\n");
    const rm = r.indexOf('rm -f "$LIVE"');
    expect(del).toBeGreaterThan(r.indexOf("\ncheck_owner "));
    expect(unb).toBeGreaterThan(del);
    expect(rm).toBeGreaterThan(unb);
  });
  it("remoteCommand", () => {
    expect(remoteCommand(false)).toBe("sh -s");
    expect(remoteCommand(true)).toBe("sudo -n sh -s");
  });
});

describe("parseRemoteOutput", () => {
  const m = (e: string) => `@@nftsg:${NONCE}:${e}`;
  it("extracts the listing, values and failure kind; ignores forged markers", () => {
    const out = [m("pid=42"), m("listing-begin"), "table inet nftsg {", "@@nftsg:ffff:applied", "}", m("listing-end"), m("applied"), m("fail:check"), m("note:hello")].join("\n") + "\n";
    const r = parseRemoteOutput(out, NONCE);
    expect(r.listing).toBe("table inet nftsg {\n@@nftsg:ffff:applied\n}\n");
    expect(r.values.pid).toBe("42");
    expect(r.failKind).toBe("check");
    expect(r.notes).toEqual(["hello"]);
    expect(r.events).toContain("applied");
    expect(hasEvent(out, NONCE, "applied")).toBe(true);
    expect(hasEvent(out, NONCE, "confirmed")).toBe(false);
    expect(hasEvent(m("applied"), NONCE, "applied")).toBe(false); // incomplete line
  });
  it("unknown failure kinds map to apply", () => {
    expect(parseRemoteOutput(m("fail:weird") + "\n", NONCE).failKind).toBe("apply");
  });
});

describe("assertScriptScope", () => {
  it("accepts the compiler's shape", () => {
    expect(() => assertScriptScope(SCRIPT, "nftsg")).not.toThrow();
    expect(() => assertScriptScope("add table inet nftsg\nadd rule inet nftsg input accept; add element inet nftsg s { 1.2.3.4 }\n", "nftsg")).not.toThrow();
    expect(() => assertScriptScope('# flush ruleset\ntable inet nftsg { comment "a } b; flush ruleset" }\n', "nftsg")).not.toThrow();
  });
  it("refuses anything outside the table", () => {
    for (const bad of [
      "flush ruleset",
      'include "/etc/other.nft"',
      "table ip filter { }",
      "table inet other {}",
      "delete table inet other",
      "add rule ip filter input drop",
      "table inet nftsg {}; delete table ip nat",
      "list ruleset",
      // nft reads an include inside a block too.
      'table inet nftsg {\n\tinclude "/etc/other.nft"\n}',
      'table inet nftsg {\n\tchain c {\n\t\ttcp dport 22 accept; include "/tmp/x"\n\t}\n}',
    ]) {
      expect(() => assertScriptScope(bad, "nftsg"), bad).toThrow(/only touch table inet nftsg/);
    }
    // The word in a comment or a quoted comment is no statement.
    expect(() => assertScriptScope('table inet nftsg {\n\tcomment "include this"\n\t# include "/x"\n}', "nftsg")).not.toThrow();
  });
  it("splits top-level statements only outside blocks, strings and comments", () => {
    expect(topLevelStatements('a; b # c; d\ntable t { x; y }\n"q;r"')).toEqual(["a", "b", "table t {}", '"q;r"']);
  });
});

describe("ownerInScript", () => {
  it("reads the table comment: bare id or owner=<id>", () => {
    expect(ownerInScript(SCRIPT)).toBe("org/project/stack");
    expect(ownerInScript('table inet t {\n\tcomment "managed by nftsg owner=a/b/c"\n}')).toBe("a/b/c");
    expect(ownerInScript('table inet t {\n\tchain c {\n\t\tcomment "x/y"\n\t}\n}')).toBeUndefined();
    expect(ownerInScript("table inet t {\n}")).toBeUndefined();
  });
});

describe("hostKey", () => {
  const pub = utils.generateKeyPairSync("ed25519").public;
  const blob = Buffer.from(pub.split(" ")[1], "base64");
  it("formats and parses the known_hosts form", () => {
    expect(formatHostKey(blob)).toBe(pub.split(" ").slice(0, 2).join(" "));
    const k = parseHostKey(`198.18.1.11 ${pub} comment`);
    expect(k.form).toBe("key");
    expect(hostKeyMatches(k, blob)).toBe(true);
    expect(hostKeyAlgorithms(k)).toEqual(["ssh-ed25519"]);
  });
  it("fingerprints like ssh-keygen", () => {
    const out = execFileSync("ssh-keygen", ["-lf", "-"], { input: pub + "\n" }).toString();
    expect(out).toContain(fingerprint(blob));
    const f = parseHostKey(fingerprint(blob));
    expect(hostKeyMatches(f, blob)).toBe(true);
    expect(hostKeyAlgorithms(f)).toBeUndefined();
  });
  it("refuses known_hosts marker lines as pins: @revoked names a key never to trust, @cert-authority a CA", () => {
    for (const line of [`@revoked 198.18.1.11 ${pub}`, `@cert-authority *.example.com ${pub}`, `@revoked ${pub}`]) {
      expect(() => parseHostKey(line), line).toThrow(/marker @(revoked|cert-authority) is not a host key/);
    }
  });
  it("rejects garbage and mismatched keys", () => {
    expect(() => parseHostKey("ssh-ed25519 notbase64!!")).toThrow();
    expect(() => parseHostKey("hello")).toThrow();
    const other = Buffer.from(utils.generateKeyPairSync("ed25519").public.split(" ")[1], "base64");
    expect(hostKeyMatches(parseHostKey(pub), other)).toBe(false);
  });
});
