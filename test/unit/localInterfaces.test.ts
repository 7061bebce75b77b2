// The host-side check of local (container) interface patterns (item 10,
// provider/host/remoteLib.ts SH_LOCAL_IFACES), run by the local shells with
// a fake `ip` that prints what a host's iproute2 would. The real thing, on
// real interfaces over SSH: test/lab-local-interfaces.test.ts.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
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
  // NFTSG_TEST_SH=bash runs the same cases under bash (/bin/sh on RHEL and its kin).
  const r = spawnSync(process.env.NFTSG_TEST_SH ?? "sh", ["-c", STUBS + SH_LOCAL_IFACES + program], {
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
    expect(sh(`printf '%s\\n' '${routes}' | route_devs`)).toBe("eth0 br-a br-b wg0 ");
  });
});

describe("match_local", () => {
  it("matches nft's prefix wildcard and exact names; a file named like a pattern in the working directory changes nothing", () => {
    const cwd = mkdtempSync(join(dir, "cwd-"));
    writeFileSync(join(cwd, "br-file"), "");
    const out = sh(
      `LOCAL_IFACES='br-* docker0 cali*'; for d in br-mgmt br- docker0 docker01 cali1 eth0 br; do match_local "$d"; printf '%s=%s\\n' "$d" "\${PAT:--}"; done`,
      { cwd },
    );
    expect(out.trim().split("\n")).toEqual(["br-mgmt=br-*", "br-=br-*", "docker0=docker0", "docker01=-", "cali1=cali*", "eth0=-", "br=-"]);
  });
});

/** One line of `ip -d -o link show`. */
const link = (index: number, name: string, head: string, details: string) =>
  `${index}: ${name}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue ${head}state UP mode DEFAULT group default qlen 1000\\    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff promiscuity 0 minmtu 68 maxmtu 65535 ${details}`;

describe("link_table (ip -d -o link show)", () => {
  it.each([
    ["a veth", link(3, "veth1@if2", "", "\\    veth addrgenmode eui64 numtxqueues 1"), "veth1 veth -"],
    ["a veth in a bridge", link(4, "veth2@if3", "master br-0123456789ab ", "\\    veth \\    bridge_slave state forwarding priority 32"), "veth2 veth br-0123456789ab"],
    ["a tap in a bridge", link(5, "vnet0", "master virbr0 ", "\\    tun type tap pi off vnet_hdr on persist off \\    bridge_slave state forwarding"), "vnet0 tap virbr0"],
    ["a tun", link(6, "tun0", "", "\\    tun type tun pi off vnet_hdr off persist on addrgenmode eui64"), "tun0 tun -"],
    ["a bridge", link(7, "br-lan", "", "\\    bridge forward_delay 0 hello_time 200 max_age 2000"), "br-lan bridge -"],
    ["a vxlan", link(8, "vxlan42", "master br-vxlan ", "\\    vxlan id 42 srcport 0 0 dstport 4789 ttl auto \\    bridge_slave state forwarding"), "vxlan42 vxlan br-vxlan"],
    ["a physical device", link(2, "eth0", "", "addrgenmode eui64 numtxqueues 1 parentbus virtio parentdev virtio2"), "eth0 physical -"],
    ["a physical device with an altname", link(2, "eth0", "", "addrgenmode eui64 \\    altname enp1s0"), "eth0 physical -"],
    ["a bond's physical slave", link(9, "eno1", "master bond0 ", "\\    bond_slave state ACTIVE mii_status UP"), "eno1 physical bond0"],
  ])("%s", (_what, line, row) => {
    expect(sh(`printf '%s\\n' '${line}' | link_table`)).toBe(`${row}\n`);
  });
});

describe("check_local_ifaces", () => {
  const LINKS = [
    "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00 promiscuity 0",
    link(2, "eth0", "", "addrgenmode eui64 parentbus pci"),
    link(3, "br-0123456789ab", "", "\\    bridge forward_delay 0"),
    link(4, "veth1@if3", "master br-0123456789ab ", "\\    veth \\    bridge_slave state forwarding"),
    link(5, "br-lan", "", "\\    bridge forward_delay 0"),
    link(6, "lan1", "master br-lan ", "addrgenmode eui64 parentbus pci \\    bridge_slave state forwarding"),
    link(7, "docker0", "", "\\    bridge forward_delay 0"),
    link(8, "cali123", "", "\\    veth addrgenmode eui64"),
  ].join("\n");
  const ADDRS = [
    "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
    "2: eth0    inet 192.0.2.10/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever preferred_lft forever",
    "3: br-0123456789ab    inet 172.18.0.1/16 brd 172.18.255.255 scope global br-0123456789ab\\       valid_lft forever",
    "3: br-0123456789ab    inet6 2a01:4f8:1::1/64 scope global \\       valid_lft forever",
    "8: cali123    inet6 fe80::ecee:eeff:feee:eeee/64 scope link \\       valid_lft forever",
    "8: cali123    inet 8.8.4.4/32 scope global cali123\\       valid_lft forever",
  ].join("\n");
  const ip = (defaultDev: string) =>
    fakeIp({
      "-d -o link show": LINKS + "\n",
      "route get 192.0.2.50": "192.0.2.50 via 192.0.2.1 dev eth0 src 192.0.2.10 uid 0 \\    cache\n",
      "-o addr show": ADDRS + "\n",
      "-4 route show table all default": `default via 10.9.0.1 dev ${defaultDev}\n`,
      "-6 route show table all default": "",
    });
  const env = { SSH_CONNECTION: "192.0.2.50 50000 192.0.2.10 22" };

  it("refuses a bridge with a physical port and names the fix; a Docker bridge with a routed public prefix passes", () => {
    const out = sh("LOCAL_IFACES='br-* docker0'; check_local_ifaces; echo passed", { path: ip("eth0"), env });
    expect(out).toContain('interface br-lan (matched by "br-*") bridges lan1, a physical device that connects other machines');
    expect(out).not.toContain("br-0123456789ab");
    expect(out).not.toContain("docker0 (");
    expect(out).toContain("Set containers.interfaces to this host's container and VM bridges only");
    expect(out).toContain("@@fail:preflight");
    expect(out).not.toContain("passed");
  });

  it("the management path, the address connected to and a default route, each named; a veth with a public address", () => {
    const out = sh("LOCAL_IFACES='eth0 br-0123456789ab cali*'; check_local_ifaces; echo passed", { path: ip("br-0123456789ab"), env });
    expect(out).toContain('interface eth0 (matched by "eth0") carries the SSH connection (the route to 192.0.2.50); holds 192.0.2.10, the address this SSH connection arrived at; is a physical device, not a bridge of local guests, a veth or a tap');
    expect(out).toContain('interface br-0123456789ab (matched by "br-0123456789ab") carries a default route');
    expect(out).toContain('interface cali123 (matched by "cali*") carries the public address 8.8.4.4');
    expect(out).not.toContain("fe80");
  });

  it("passes when nothing matches badly, and does nothing without patterns", () => {
    expect(sh("LOCAL_IFACES='br-0* docker0'; check_local_ifaces; echo passed", { path: ip("eth0"), env })).toBe("passed\n");
    expect(sh("LOCAL_IFACES=; check_local_ifaces; echo passed", { path: fakeIp({}) })).toBe("passed\n");
  });

  it("fails closed when the interfaces cannot be listed", () => {
    const out = sh("LOCAL_IFACES='docker0'; check_local_ifaces; echo passed", { path: fakeIp({ "route get 192.0.2.50": "" }), env });
    expect(out).toContain("cannot list the interfaces");
    expect(out).not.toContain("passed");
  });

  // (Only where no ancestor of this test has SSH_CONNECTION: the walk up the process tree would find it.)
  it.skipIf(process.env.SSH_CONNECTION !== undefined)("fails closed when the SSH connection cannot be found", () => {
    const out = sh("LOCAL_IFACES='docker0'; check_local_ifaces; echo passed", { path: ip("eth0") });
    expect(out).toContain("cannot find the SSH connection");
    expect(out).not.toContain("passed");
  });

  it("costs a fixed number of processes, not one per interface", () => {
    const many = Array.from({ length: 300 }, (_, i) => link(100 + i, `cali${i}@if2`, "", "\\    veth addrgenmode eui64")).join("\n");
    const bin = fakeIp({
      "-d -o link show": `${LINKS}\n${many}\n`,
      "route get 192.0.2.50": "192.0.2.50 dev eth0 src 192.0.2.10\n",
      "-o addr show": "",
      "-4 route show table all default": "default via 192.0.2.1 dev eth0\n",
      "-6 route show table all default": "",
    });
    const t0 = Date.now();
    expect(sh("LOCAL_IFACES='cali* docker0'; check_local_ifaces; echo passed", { path: bin, env })).toBe("passed\n");
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});

describe("the apply program gets the compiled ruleset's patterns", () => {
  const decl = (interfaces?: string[]) => ({
    ...(interfaces ? { containers: { interfaces } } : {}),
    securityGroups: [{ name: "a", ingress: [{ protocol: "tcp" as const, ports: 80, cidrs: ["0.0.0.0/0"] }] }],
    hosts: [{ name: "h", connection: { host: "198.18.0.1" }, securityGroups: ["a"] }],
  });
  it("several, one, none: the compiled ruleset's facts, which the handler passes to the apply", () => {
    expect(compileFleet(decl(["docker0", "br-*"]))["h"]!.facts.localInterfaces).toEqual(["br-*", "docker0"]);
    expect(compileFleet(decl(["docker0"]))["h"]!.facts.localInterfaces).toEqual(["docker0"]);
    expect(compileFleet(decl([]))["h"]!.facts.localInterfaces).toEqual([]);
  });
  it("checks them after the preflight, before the lock and anything else", () => {
    const p = applyProgram({ table: "nftsg", owner: "o/p/s", script: "table inet nftsg {}\n", rollbackSeconds: 30, nonce: "n", localInterfaces: ["br-*", "docker0"] });
    expect(p).toContain("LOCAL_IFACES='br-* docker0'");
    expect(p.indexOf("\ncheck_local_ifaces\n")).toBeGreaterThan(p.indexOf("\npreflight\n"));
    expect(p.indexOf("\ncheck_local_ifaces\n")).toBeLessThan(p.indexOf("\nlock\n"));
    expect(() => applyProgram({ table: "nftsg", owner: "o/p/s", script: "", rollbackSeconds: 30, nonce: "n", localInterfaces: ["br-*; reboot"] })).toThrow(/invalid local interface pattern/);
  });
});
