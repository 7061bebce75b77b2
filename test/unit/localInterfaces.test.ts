// The host-side check of local (container) interface patterns (item 10,
// provider/host/remoteLib.ts SH_LOCAL_IFACES), run by the local shells with
// a fake `ip` that prints what a host's iproute2 would. The real thing, on
// real interfaces over SSH: test/lab-local-interfaces.test.ts.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { localInterfacesInScript } from "../../provider/host/apply";
import { SH_LOCAL_IFACES } from "../../provider/host/remoteLib";
import { applyProgram } from "../../provider/host/remoteScript";
import { compileFleet } from "../../provider/compiler/compile";

const dir = mkdtempSync(join(tmpdir(), "nftsg-ifaces-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fake ip: `ip <args>` prints the file named by its arguments, if any. */
function fakeIp(outputs: Record<string, string>): string {
  const bin = mkdtempSync(join(dir, "bin-"));
  const cases = Object.entries(outputs)
    .map(([args, out], i) => {
      writeFileSync(join(bin, `out${i}`), out);
      return `  ${JSON.stringify(args)}) cat ${JSON.stringify(join(bin, `out${i}`))} ;;`;
    })
    .join("\n");
  writeFileSync(join(bin, "ip"), `#!/bin/sh\ncase "$*" in\n${cases}\n  *) exit 1 ;;\nesac\n`);
  chmodSync(join(bin, "ip"), 0o755);
  return bin;
}

const STUBS = `say() { printf '@@%s\\n' "$*"; }\nfail() { k=$1; shift; printf '%s\\n' "$*"; say "fail:$k"; exit 3; }\n`;

function sh(program: string, opts: { path?: string; cwd?: string; env?: Record<string, string> } = {}): string {
  const r = spawnSync("sh", ["-c", STUBS + SH_LOCAL_IFACES + program], {
    cwd: opts.cwd ?? dir,
    env: { PATH: `${opts.path ? `${opts.path}:` : ""}/usr/bin:/bin`, ...(opts.env ?? {}) },
    encoding: "utf8",
  });
  return r.stdout;
}

describe("is_global_addr", () => {
  it.each([
    ["8.8.8.8", true], ["192.88.99.1", true], ["100.63.255.1", true], ["172.32.0.1", true], ["198.20.0.1", true],
    ["10.1.2.3", false], ["172.16.0.1", false], ["172.31.255.1", false], ["192.168.1.1", false], ["100.64.0.1", false],
    ["100.127.0.1", false], ["127.0.0.1", false], ["169.254.1.1", false], ["0.0.0.0", false], ["224.0.0.1", false],
    ["240.0.0.1", false], ["192.0.2.10", false], ["198.51.100.1", false], ["203.0.113.5", false], ["198.18.3.11", false],
    ["198.19.3.1", false], ["2a01:4f8::1", true], ["2001:4860:4860::8888", true], ["2001::1", true], ["3fff::1", true],
    ["2001:db8::1", false], ["2001:DB8:1::1", false], ["fd00::1", false], ["fe80::1", false], ["::1", false],
    ["::ffff:8.8.8.8", false], ["ff02::1", false], ["4000::1", false],
  ])("%s -> %s", (a, global) => {
    expect(sh(`if is_global_addr ${a}; then echo yes; else echo no; fi`).trim()).toBe(global ? "yes" : "no");
  });
});

describe("route_devs", () => {
  it("every device of single and multipath routes, in one-line and multi-line form", () => {
    const routes = [
      "default via 192.0.2.1 dev eth0 proto dhcp src 192.0.2.10 metric 100",
      "default proto bird metric 32 \\\tnexthop via 10.0.0.1 dev br-a weight 1 \\\tnexthop via 10.0.1.1 dev br-b weight 1",
      "default proto static metric 1024 pref medium",
      "\tnexthop via fe80::1 dev wg0 weight 1",
    ].join("\n");
    expect(sh(`printf '%s\\n' '${routes.replace(/'/g, "")}' | route_devs`).trim().split("\n")).toEqual(["eth0", "br-a", "br-b", "wg0"]);
  });
});

describe("local_pattern", () => {
  it("matches nft's prefix wildcard and exact names; a file named like a pattern in the working directory changes nothing", () => {
    const cwd = mkdtempSync(join(dir, "cwd-"));
    writeFileSync(join(cwd, "br-file"), "");
    const out = sh(
      `LOCAL_IFACES='br-* docker0 cali*'; for d in br-mgmt br- docker0 docker01 cali1 eth0 br; do printf '%s=%s\\n' "$d" "$(local_pattern "$d" || echo -)"; done`,
      { cwd },
    );
    expect(out.trim().split("\n")).toEqual(["br-mgmt=br-*", "br-=br-*", "docker0=docker0", "docker01=-", "cali1=cali*", "eth0=-", "br=-"]);
  });
});

describe("link_kind (ip -d -o link show dev X)", () => {
  const line = (rest: string) => `5: x: <BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state UP\\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff promiscuity 0 minmtu 68 maxmtu 65535 ${rest}\n`;
  it.each([
    ["a veth", "\\    veth addrgenmode eui64 numtxqueues 1", "veth"],
    ["a veth in a bridge", "\\    veth \\    bridge_slave state forwarding priority 32", "veth"],
    ["a tap in a bridge", "\\    tun type tap pi off vnet_hdr on persist off \\    bridge_slave state forwarding", "tap"],
    ["a tun", "\\    tun type tun pi off vnet_hdr off persist on addrgenmode eui64", "tun"],
    ["a bridge", "\\    bridge forward_delay 0 hello_time 200 max_age 2000", "bridge"],
    ["a vxlan", "\\    vxlan id 42 srcport 0 0 dstport 4789 ttl auto", "vxlan"],
    ["a physical device", "addrgenmode eui64 numtxqueues 1 parentbus virtio parentdev virtio2", ""],
    ["a physical device with an altname", "addrgenmode eui64 \\    altname enp1s0", ""],
    ["a bond's slave", "\\    bond_slave state ACTIVE mii_status UP", ""],
  ])("%s", (_what, rest, kind) => {
    const bin = fakeIp({ "-d -o link show dev x": line(rest) });
    expect(sh(`printf '[%s]' "$(link_kind x)"`, { path: bin })).toBe(`[${kind}]`);
  });
  it("unreadable: unknown (refused, fail closed)", () => {
    const bin = fakeIp({});
    expect(sh(`printf '[%s]' "$(link_kind x)"`, { path: bin })).toBe("[unknown]");
  });
});

describe("check_local_ifaces", () => {
  const LINKS = [
    "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536",
    "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500",
    "3: br-0123456789ab: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500",
    "4: veth1@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master br-0123456789ab",
    "5: br-lan: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500",
    "6: lan1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master br-lan",
  ].join("\n");
  const detail = (name: string, kind: string) => `9: ${name}: <UP> mtu 1500\\    link/ether 02:00:00:00:00:01 promiscuity 0 ${kind}\n`;
  const ip = (defaultDev: string) =>
    fakeIp({
      "-o link show": LINKS,
      "route get 192.0.2.50": "192.0.2.50 via 192.0.2.1 dev eth0 src 192.0.2.10 uid 0 \\    cache\n",
      "-o addr show": "2: eth0    inet 192.0.2.10/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever\n",
      "-4 route show table all default": `default via 10.9.0.1 dev ${defaultDev}\n`,
      "-6 route show table all default": "",
      "-d -o link show dev br-0123456789ab": detail("br-0123456789ab", "\\    bridge forward_delay 0"),
      "-d -o link show dev veth1": detail("veth1", "\\    veth \\    bridge_slave state forwarding"),
      "-d -o link show dev br-lan": detail("br-lan", "\\    bridge forward_delay 0"),
      "-d -o link show dev lan1": detail("lan1", "addrgenmode eui64 parentbus pci"),
      "-d -o link show dev eth0": detail("eth0", "addrgenmode eui64"),
      "-o link show master br-0123456789ab": "4: veth1@if3: <UP> mtu 1500 master br-0123456789ab\n",
      "-o link show master br-lan": "6: lan1: <UP> mtu 1500 master br-lan\n",
      "-o addr show dev veth1": "",
    });
  const env = { SSH_CONNECTION: "192.0.2.50 50000 192.0.2.10 22" };

  it("refuses a bridge with a physical port and names the fix; a Docker bridge passes", () => {
    const out = sh("LOCAL_IFACES='br-* docker0'; check_local_ifaces; echo passed", { path: ip("eth0"), env });
    expect(out).toContain('interface br-lan (matched by "br-*") bridges lan1, a physical device that connects other machines');
    expect(out).not.toContain("br-0123456789ab");
    expect(out).toContain("Set containers.interfaces to this host's container and VM bridges only");
    expect(out).toContain("@@fail:preflight");
    expect(out).not.toContain("passed");
  });

  it("the management path, the address connected to and a default route, each named", () => {
    const out = sh("LOCAL_IFACES='eth0 br-0123456789ab'; check_local_ifaces; echo passed", { path: ip("br-0123456789ab"), env });
    expect(out).toContain('interface eth0 (matched by "eth0") carries the SSH connection (the route to 192.0.2.50); holds 192.0.2.10, the address this SSH connection arrived at; is a physical device');
    expect(out).toContain('interface br-0123456789ab (matched by "br-0123456789ab") carries a default route');
  });

  it("passes when nothing matches badly, and does nothing without patterns", () => {
    expect(sh("LOCAL_IFACES='br-0* docker0'; check_local_ifaces; echo passed", { path: ip("eth0"), env })).toBe("passed\n");
    expect(sh("LOCAL_IFACES=; check_local_ifaces; echo passed", { path: fakeIp({}) })).toBe("passed\n");
  });

  // (Only where no ancestor of this test has SSH_CONNECTION: the walk up the process tree would find it.)
  it.skipIf(process.env.SSH_CONNECTION !== undefined)("fails closed when the SSH connection cannot be found", () => {
    const out = sh("LOCAL_IFACES='docker0'; check_local_ifaces; echo passed", { path: ip("eth0") });
    expect(out).toContain("cannot find the SSH connection");
    expect(out).not.toContain("passed");
  });
});

describe("the apply program gets the compiled ruleset's patterns", () => {
  const decl = (interfaces?: string[]) => ({
    ...(interfaces ? { containers: { interfaces } } : {}),
    securityGroups: [{ name: "a", ingress: [{ protocol: "tcp" as const, ports: 80, cidrs: ["0.0.0.0/0"] }] }],
    hosts: [{ name: "h", connection: { host: "198.18.0.1" }, securityGroups: ["a"] }],
  });
  it("several, one, none", () => {
    expect(localInterfacesInScript(compileFleet(decl(["docker0", "br-*"]))["h"]!.script)).toEqual(["br-*", "docker0"]);
    expect(localInterfacesInScript(compileFleet(decl(["docker0"]))["h"]!.script)).toEqual(["docker0"]);
    expect(localInterfacesInScript(compileFleet(decl([]))["h"]!.script)).toEqual([]);
  });
  it("checks them after the preflight, before the lock and anything else", () => {
    const p = applyProgram({ table: "nftsg", owner: "o/p/s", script: "table inet nftsg {}\n", rollbackSeconds: 30, nonce: "n", localInterfaces: ["br-*", "docker0"] });
    expect(p).toContain("LOCAL_IFACES='br-* docker0'");
    expect(p.indexOf("\ncheck_local_ifaces\n")).toBeGreaterThan(p.indexOf("\npreflight\n"));
    expect(p.indexOf("\ncheck_local_ifaces\n")).toBeLessThan(p.indexOf("\nlock\n"));
    expect(() => applyProgram({ table: "nftsg", owner: "o/p/s", script: "", rollbackSeconds: 30, nonce: "n", localInterfaces: ["br-*; reboot"] })).toThrow(/invalid local interface pattern/);
  });
});
