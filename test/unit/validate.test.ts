import { describe, expect, it } from "vitest";
import { compileFleet } from "../../provider/compiler/compile";
import { FleetValidationError, validateFleet } from "../../provider/declaration/validate";

import { badCases, base, dbRule, host0, web, webRule, type Any } from "../support/badDeclarations";

describe("bad declarations: exact path and message", () => {
  it("has at least 40 cases", () => {
    expect(badCases.length).toBeGreaterThanOrEqual(40);
  });

  it("the base declaration is valid", () => {
    const r = validateFleet(base());
    expect(r.ok ? [] : r.issues).toEqual([]);
  });

  it.each(badCases)("%s", (_name, breakIt, path, fragment) => {
    const d = base();
    breakIt(d);
    const r = validateFleet(d);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const atPath = r.issues.filter((i) => i.path === path);
    expect(atPath.map((i) => i.message).join("\n"), `issues: ${JSON.stringify(r.issues, null, 1)}`).toContain(fragment);
    // compileFleet throws the same problems.
    expect(() => compileFleet(d)).toThrow(FleetValidationError);
  });
});

describe("reporting", () => {
  it("collects every problem at once, sorted by path, one per line", () => {
    const d: Any = base();
    d.table = "counter";
    webRule(d).cidrs = ["10.0.0.1/8"];
    webRule(d).ports = [0];
    dbRule(d).securityGroups = ["nope"];
    d.hosts[1].securityGroups = ["dbb"];
    d.hosts[1].name = "web-1";
    let err: unknown;
    try {
      compileFleet(d);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FleetValidationError);
    const e = err as FleetValidationError;
    expect(e.issues.map((i) => i.path)).toEqual([
      "hosts[1].name",
      "hosts[1].securityGroups[0]",
      "securityGroups[0].ingress[0].cidrs[0]",
      "securityGroups[0].ingress[0].ports[0]",
      "securityGroups[1].ingress[0].securityGroups[0]",
      "table",
    ]);
    const lines = e.message.split("\n");
    expect(lines[0]).toBe("invalid nftsg fleet declaration (6 problems):");
    expect(lines.slice(1)).toEqual(e.issues.map((i) => `${i.path}: ${i.message}`));
  });

  it("never echoes secret connection fields", () => {
    const d: Any = base();
    host0(d).connection.password = 123456789;
    host0(d).connection.privateKey = { pem: "-----BEGIN SECRET-----" };
    const r = validateFleet(d);
    expect(r.ok).toBe(false);
    const text = JSON.stringify(r);
    expect(text).not.toContain("123456789");
    expect(text).not.toContain("BEGIN SECRET");
    expect(text).toContain("hosts[0].connection.password");
  });

  it("never throws, whatever the input", () => {
    for (const input of [null, undefined, 42, "fleet", [], { securityGroups: null, hosts: "x" }, { securityGroups: [null, 1], hosts: [null, { name: 5 }] }]) {
      const r = validateFleet(input);
      expect(r.ok).toBe(false);
    }
    const r = validateFleet(null);
    expect(!r.ok && r.issues[0]).toEqual({ path: "", message: expect.stringContaining("must be an object") });
  });

  it("rejects an invalid owner option", () => {
    expect(() => compileFleet(base(), { owner: 'bad "owner"' })).toThrow(/options\.owner: owner "bad \\"owner\\"" is invalid/);
    expect(() => compileFleet(base(), { owner: "acme/web/prod" })).not.toThrow();
  });
});

describe("accepted on purpose", () => {
  it.each<[string, (d: Any) => void]>([
    ["a rule mixing IPv4 and IPv6 peers", (d) => (webRule(d).cidrs = ["0.0.0.0/0", "::/0"])],
    ["multicast as an egress destination", (d) => (web(d).egress = [{ protocol: "udp", ports: 5353, cidrs: ["224.0.0.251", "ff02::fb"] }])],
    ["a loopback connection host (port-forward) with explicit addresses", (d) => Object.assign(host0(d), { connection: { host: "127.0.0.1", port: 2201 }, addresses: ["198.18.0.11"] })],
    ["two hosts behind one NAT address, not members of a peer group", (d) => { d.hosts[1].connection = { host: "203.0.113.5", port: 2202 }; d.hosts.push({ name: "db-2", connection: { host: "203.0.113.5", port: 2203 }, securityGroups: ["db"] }); }],
    ["an IPv4 failsafe on IPv4-managed hosts, with the port sshd listens on", (d) => (d.failsafe = { cidrs: ["198.18.0.0/15"], port: 22 })],
    ["icmp from a group whose members are IPv6-only", (d) => Object.assign(dbRule(d), { protocol: "icmp", ports: undefined })],
    ["a self-referencing group", (d) => (dbRule(d).securityGroups = ["db"])],
    ["mutually referencing groups", (d) => web(d).ingress.push({ protocol: "tcp", ports: 8080, securityGroups: ["db"] })],
    ["a peer group with no members", (d) => (d.hosts = [d.hosts[1]])],
    ["a host attached to no group", (d) => (host0(d).securityGroups = [])],
    ["a bare address as a CIDR", (d) => (webRule(d).cidrs = ["192.0.2.7", "2001:db8::7"])],
    ["duplicate CIDRs and ports", (d) => Object.assign(webRule(d), { ports: [80, 80, "80-81"], cidrs: ["10.0.0.0/8", "10.0.0.0/8"] })],
    ["a DNS name as connection host when the group is not a peer", (d) => (d.hosts[1].connection.host = "db-1.example.com")],
    ["null for optional fields", (d) => Object.assign(webRule(d), { description: null, icmpType: null })],
    ["all nine protocols", (d) => (web(d).ingress = ["tcp", "udp", "sctp", "icmp", "icmpv6", "all", "esp", "ah", "gre"].map((protocol) => ({ protocol, cidrs: protocol === "icmp" ? ["0.0.0.0/0"] : protocol === "icmpv6" ? ["::/0"] : ["0.0.0.0/0", "::/0"] })))],
  ])("%s", (_name, change) => {
    const d = base();
    change(d);
    const r = validateFleet(d);
    expect(r.ok ? [] : r.issues).toEqual([]);
  });
});
