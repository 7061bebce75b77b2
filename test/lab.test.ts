// The lab itself: real namespaces with their own sshd and nftables, reachable
// from the runner, probed with real sockets, and gone without a trace after
// down(). Needs root (CI runs it as root; never skipped).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { Client } from "ssh2";
import { describe, expect, it } from "vitest";
import { attachLab, isLabAddress, labUp } from "../lab";
import { useLab } from "./support/useLab";

/** Runs a command over SSH with the ssh2 library, pinning the host key. */
function ssh2Exec(host: string, privateKey: string, pinnedKey: string, cmd: string): Promise<string> {
  const pinned = pinnedKey.split(" ")[1];
  return new Promise((resolve, reject) => {
    const conn = new Client();
    conn
      .on("ready", () => {
        conn.exec(cmd, (err, stream) => {
          if (err) return reject(err);
          let out = "";
          stream.on("data", (d: Buffer) => (out += d.toString()));
          stream.stderr.on("data", () => undefined);
          stream.on("close", (code: number) => {
            conn.end();
            if (code === 0) resolve(out);
            else reject(new Error(`${cmd} exited ${code}`));
          });
        });
      })
      .on("error", reject)
      .connect({
        host,
        port: 22,
        username: "root",
        privateKey,
        readyTimeout: 10_000,
        hostVerifier: (key: Buffer) => key.toString("base64") === pinned,
      });
  });
}

function rootNamespaces(): string {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
}

function rootLinks(): string {
  return execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
}

/** pgrep -f PATTERN: the matching pids (pgrep exits 1 when there are none). */
function pgrep(pattern: string): string {
  return spawnSync("pgrep", ["-a", "-f", pattern], { encoding: "utf8" }).stdout.trim();
}

describe("lab", () => {
  const lab = useLab({ hosts: 4 });

  it("gives every host its own namespace and addresses in the lab ranges", () => {
    expect(lab.id).toMatch(/^[0-9a-z]{4}$/);
    expect(lab.hosts.map((h) => h.name)).toEqual(["h1", "h2", "h3", "h4"]);
    const k = lab.slot;
    expect(lab.runnerIpv4).toBe(`198.18.${k}.1`);
    expect(lab.runnerIpv6).toBe(`2001:db8:${k}::1`);
    lab.hosts.forEach((h, i) => {
      expect(h.ns).toBe(`nftsg-${lab.id}-h${i + 1}`);
      expect(h.ipv4).toBe(`198.18.${k}.${11 + i}`);
      expect(h.ipv6).toBe(`2001:db8:${k}::${11 + i}`);
      expect(h.hostPublicKey).toMatch(/^ssh-ed25519 AAAA\S+$/);
      expect(h.hostKeyFingerprint).toMatch(/^SHA256:/);
      expect(isLabAddress(h.ipv4) && isLabAddress(h.ipv6)).toBe(true);
    });
    expect(new Set(lab.hosts.map((h) => h.hostPublicKey)).size).toBe(4);
    expect(lab.privateKey).toContain("BEGIN OPENSSH PRIVATE KEY");
    expect(readFileSync(lab.privateKeyPath, "utf8")).toBe(lab.privateKey);
    const names = rootNamespaces();
    for (const h of lab.hosts) expect(names).toContain(h.ns);
    expect(rootLinks()).toContain(`nftsg${lab.id}br`);
  });

  it("logs in to every host over SSH (pinned host key) and lands in that host's namespace", async () => {
    const results = await Promise.all(
      lab.hosts.map((h) => lab.ssh(h.name, "nft list ruleset && echo ---- && ip -o addr show dev nftsg0")),
    );
    results.forEach((r, i) => {
      const h = lab.hosts[i]!;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(h.ipv4);
      for (const other of lab.hosts.filter((o) => o !== h)) expect(r.stdout).not.toContain(`${other.ipv4}/`);
    });
    const v6 = await lab.ssh("h3", "echo ok", { family: 6 });
    expect(v6.code, v6.stderr).toBe(0);
    expect(v6.stdout.trim()).toBe("ok");
  });

  it("runs SSH commands without the runner's root ~/.bashrc, as on a stock host (sshd sets SHLVL)", async () => {
    // Without `SetEnv SHLVL=1` bash starts at SHLVL 1 and sources the rc.
    const r = await lab.ssh("h1", 'echo "shlvl=$SHLVL"');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("shlvl=2");
    expect(r.stderr).toBe("");
  });

  it("accepts the private key text with ssh2 and presents the advertised host key", async () => {
    const h1 = lab.host("h1");
    const out = await ssh2Exec(h1.ipv4, lab.privateKey, h1.hostPublicKey, "nft list ruleset; echo done");
    expect(out).toContain("done");
    // A wrong pin is refused.
    await expect(ssh2Exec(h1.ipv4, lab.privateKey, lab.host("h2").hostPublicKey, "true")).rejects.toThrow();
  });

  it("a TCP listener on h2 is reachable from h1 and the runner until h2 drops its port", async () => {
    const h2 = lab.host("h2");
    await lab.listen("h2", "tcp", [8080]);
    const reach = () =>
      lab.probeMany([
        { from: "h1", to: h2.ipv4, proto: "tcp", port: 8080 },
        { from: "h1", to: h2.ipv6, proto: "tcp", port: 8080 },
        { from: "runner", to: h2.ipv4, proto: "tcp", port: 8080 },
        { from: "runner", to: "h2", proto: "tcp", port: 8080, family: 6 },
      ]);
    expect(await reach()).toEqual([true, true, true, true]);
    expect(await lab.probe("h1", h2.ipv4, { proto: "tcp", port: 8081 })).toBe(false); // nothing listens

    const add = await lab.exec(
      "h2",
      "nft add table inet labtest && " +
        "nft add chain inet labtest input '{ type filter hook input priority 0; }' && " +
        "nft add rule inet labtest input tcp dport 8080 drop",
    );
    expect(add.code, add.stderr).toBe(0);
    try {
      expect(await reach()).toEqual([false, false, false, false]);
      expect(await lab.probe("h1", h2.ipv4, { proto: "tcp", port: 22 })).toBe(true);
      // The rule lives in h2's nftables only.
      const h3 = await lab.ssh("h3", "nft list ruleset");
      expect(h3.stdout).not.toContain("labtest");
      const h2Rules = await lab.ssh("h2", "nft list ruleset");
      expect(h2Rules.stdout).toContain("tcp dport 8080 drop");
    } finally {
      await lab.exec("h2", "nft delete table inet labtest");
    }
    expect(await reach()).toEqual([true, true, true, true]);
  });

  it("probes UDP echo and ICMP on both families and keeps probeMany results in order", async () => {
    const [h1, h3, h4] = [lab.host("h1"), lab.host("h3"), lab.host("h4")];
    await lab.listen("h3", "udp", [5353]);
    const unused = `198.18.${lab.slot}.250`;
    const results = await lab.probeMany([
      { from: "h1", to: h3.ipv4, proto: "udp", port: 5353 },
      { from: "h1", to: h3.ipv6, proto: "udp", port: 5353 },
      { from: "h1", to: h3.ipv4, proto: "udp", port: 5354 },
      { from: "runner", to: h4.ipv6, proto: "icmp" },
      { from: "h4", to: lab.runnerIpv4, proto: "icmp" },
      { from: "h4", to: h1.ipv6, proto: "icmp" },
      { from: "h1", to: unused, proto: "icmp", timeoutMs: 300 },
      { from: "h1", to: "127.0.0.1", proto: "icmp" },
      { from: "runner", to: h3.ipv4, proto: "udp", port: 5353 },
    ]);
    expect(results).toEqual([true, true, false, true, true, true, false, true, true]);

    // ICMP obeys each host's own firewall.
    await lab.exec("h4", "nft add table ip labtest; nft add chain ip labtest input '{ type filter hook input priority 0; }'; nft add rule ip labtest input icmp type echo-request drop");
    try {
      expect(await lab.probe("h1", h4.ipv4, { proto: "icmp", timeoutMs: 300 })).toBe(false);
      expect(await lab.probe("h1", h4.ipv6, { proto: "icmp" })).toBe(true);
    } finally {
      await lab.exec("h4", "nft delete table ip labtest");
    }
  });

  it("probes a 4x4 matrix in one batch", async () => {
    await Promise.all(lab.hosts.map((h) => lab.listen(h.name, "tcp", [9000])));
    const reqs = lab.hosts.flatMap((a) =>
      lab.hosts.flatMap((b) => [
        { from: a.name, to: b.name, proto: "tcp" as const, port: 9000 },
        { from: a.name, to: b.name, proto: "icmp" as const, family: 6 as const },
      ]),
    );
    expect(await lab.probeMany(reqs)).toEqual(reqs.map(() => true));
  });

  it("refuses to probe anything outside the lab ranges", async () => {
    for (const to of ["8.8.8.8", "10.0.0.1", "198.20.0.1", "2001:4860::1", "example.com", "::ffff:8.8.8.8"]) {
      await expect(lab.probe("h1", to, { proto: "icmp" })).rejects.toThrow(/refusing/);
    }
    await expect(lab.probe("nobody", lab.host("h1").ipv4, { proto: "icmp" })).rejects.toThrow(/no host/);
  });

  it("keeps /etc/nftsg and /etc/nftables.conf private per host", async () => {
    const marker = `nftsg-lab-test-${lab.id}`;
    const rootConf = readFileSync("/etc/nftables.conf", "utf8");
    const w = await lab.ssh("h1", `echo ${marker} > /etc/nftsg/${marker} && echo '# ${marker}' >> /etc/nftables.conf`);
    expect(w.code, w.stderr).toBe(0);
    expect((await lab.ssh("h1", `cat /etc/nftsg/${marker}`)).stdout.trim()).toBe(marker);
    expect((await lab.exec("h1", `cat /etc/nftsg/${marker}`)).stdout.trim()).toBe(marker);
    expect((await lab.ssh("h2", `test -e /etc/nftsg/${marker}`)).code).not.toBe(0);
    expect((await lab.ssh("h2", "cat /etc/nftables.conf")).stdout).not.toContain(marker);
    expect(existsSync(`/etc/nftsg/${marker}`)).toBe(false);
    expect(readFileSync("/etc/nftables.conf", "utf8")).toBe(rootConf);
  });

  it("stopSshd makes a host unreachable over SSH until startSshd", async () => {
    const h4 = lab.host("h4");
    await lab.stopSshd("h4");
    expect(await lab.probe("runner", h4.ipv4, { proto: "tcp", port: 22 })).toBe(false);
    expect((await lab.ssh("h4", "true")).code).not.toBe(0);
    expect(await lab.probe("runner", h4.ipv4, { proto: "icmp" })).toBe(true); // the host itself is up
    await lab.startSshd("h4");
    const r = await lab.ssh("h4", "echo back");
    expect(r.code, r.stderr).toBe(0);
  });

  it("re-attaches to a running lab from its state.json", async () => {
    const again = await attachLab(lab.id);
    expect(again.hosts).toEqual(lab.hosts);
    expect(again.privateKey).toBe(lab.privateKey);
    expect(await again.probe("runner", "h2", { proto: "tcp", port: 8080 })).toBe(true);
    expect((await again.exec("h2", "echo hi")).stdout).toBe("hi\n");
  });

  it("runs two labs at once on distinct subnets", async () => {
    const other = await labUp({ hosts: 2, hostNames: ["web-1", "db-1"] });
    try {
      expect(other.id).not.toBe(lab.id);
      expect(other.slot).not.toBe(lab.slot);
      expect(other.host("web-1").ipv4).toBe(`198.18.${other.slot}.11`);
      expect(other.host("db-1").ipv6).toBe(`2001:db8:${other.slot}::12`);
      const r = await other.ssh("db-1", "ip -o addr show dev nftsg0");
      expect(r.stdout).toContain(other.host("db-1").ipv4);
      const [mine, theirs, across] = await Promise.all([
        lab.probe("runner", lab.host("h1").ipv4, { proto: "icmp" }),
        other.probe("runner", other.host("web-1").ipv4, { proto: "icmp" }),
        // No route between lab subnets: hosts only know their own /24.
        lab.probe("h1", other.host("web-1").ipv4, { proto: "icmp", timeoutMs: 300 }),
      ]);
      expect([mine, theirs, across]).toEqual([true, true, false]);
    } finally {
      await other.down();
    }
    expect(rootNamespaces()).not.toContain(`nftsg-${other.id}-`);
  });

  it("down() leaves no namespace, link, process or file behind", async () => {
    const { id, dir } = lab;
    await lab.down();
    await lab.down(); // idempotent
    expect(rootNamespaces()).not.toContain(`nftsg-${id}-`);
    expect(rootLinks()).not.toContain(`nftsg${id}`);
    expect(pgrep(`nftsg-lab/${id}`)).toBe("");
    expect(pgrep(`nftsg-${id}-`)).toBe("");
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`/etc/netns/nftsg-${id}-h1`)).toBe(false);
    expect(existsSync("/etc/nftsg")).toBe(true); // mount target, deliberately left in place
  });
});
