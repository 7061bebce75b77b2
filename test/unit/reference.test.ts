// Hand-checked truth tables for the reference evaluator. Each row is small
// enough to verify by reading docs/semantics.md next to it; the semantic lab test then
// trusts the evaluator to say what real packets must do.
import { describe, expect, it } from "vitest";
import type { FleetDeclaration } from "../../provider/declaration/declaration";
import { cidrContains, evaluate, hostAddresses, type Packet } from "../support/reference";

const W1 = { v4: "198.18.1.11", v6: "2001:db8:1::11" };
const W2 = { v4: "198.18.1.12", v6: "2001:db8:1::12" }; // no `addresses`: only its v4 connection host counts
const D1 = { v4: "198.18.1.13", v6: "2001:db8:1::13" };
const X = { v4: "198.18.1.14", v6: "2001:db8:1::14" };
const E1 = { v4: "198.18.1.15", v6: "2001:db8:1::15" };
const A1 = { v4: "198.18.1.16", v6: "2001:db8:1::16" };
const OUT = { v4: "198.18.1.1", v6: "2001:db8:1::1" }; // an outside source (the lab runner)

const fleet: FleetDeclaration = {
  securityGroups: [
    {
      name: "web",
      ingress: [
        { protocol: "tcp", ports: [80, "443"], cidrs: ["0.0.0.0/0", "::/0"] },
        { protocol: "tcp", ports: "8000-8100", securityGroups: ["web"] }, // self reference
      ],
    },
    {
      name: "db",
      ingress: [
        { protocol: "tcp", ports: 5432, securityGroups: ["web"] },
        { protocol: "udp", ports: 53, cidrs: ["198.18.1.0/24"] },
        { protocol: "all", securityGroups: ["app"] },
      ],
    },
    {
      name: "app", // db <-> app reference each other
      ingress: [
        { protocol: "tcp", ports: 9000, securityGroups: ["db"] },
        { protocol: "icmp", cidrs: ["0.0.0.0/0", "::/0"] }, // mixed peers: ::/0 is moot for icmp
      ],
    },
    {
      name: "ping",
      ingress: [
        { protocol: "icmp", cidrs: ["198.18.0.0/15"] },
        { protocol: "icmpv6", icmpType: 128, cidrs: ["2001:db8::/32"] },
      ],
    },
    { name: "locked", egress: [{ protocol: "tcp", ports: "5432", securityGroups: ["db"] }] },
    { name: "empty", ingress: [{ protocol: "tcp", ports: 7, securityGroups: ["nobody"] }] },
    { name: "nobody" },
  ],
  hosts: [
    { name: "w1", connection: { host: W1.v4 }, addresses: [W1.v4, W1.v6], securityGroups: ["web"] },
    { name: "w2", connection: { host: W2.v4 }, securityGroups: ["web", "empty"] },
    { name: "d1", connection: { host: D1.v4, port: 2222 }, addresses: [D1.v4, D1.v6], securityGroups: ["db", "ping", "app"] },
    { name: "x", connection: { host: "x.example" }, addresses: [X.v4, X.v6], securityGroups: [] },
    { name: "a1", connection: { host: A1.v4 }, addresses: [A1.v4, A1.v6], securityGroups: ["app"] },
    { name: "e1", connection: { host: E1.v4 }, addresses: [E1.v4, E1.v6], securityGroups: ["locked", "web"] },
  ],
};

type Fam = "v4" | "v6";
const addr: Record<string, { v4: string; v6: string }> = { w1: W1, w2: W2, d1: D1, x: X, e1: E1, a1: A1, out: OUT };

function packet(from: string, to: string, fam: Fam, proto: Packet["proto"], port?: number, icmpType?: number): Packet {
  return {
    from: { host: from === "out" ? undefined : from, address: (addr[from] as { v4: string; v6: string })[fam] },
    to: { host: to, address: (addr[to] as { v4: string; v6: string })[fam] },
    proto,
    port,
    icmpType,
  };
}

describe("reference evaluator (docs/semantics.md)", () => {
  it.each<[string, string, string, Fam, Packet["proto"], number | undefined, boolean]>([
    // [why, from, to, family, proto, port, accepted]
    ["cidr rule, v4", "out", "w1", "v4", "tcp", 80, true],
    ["cidr rule, v6 peer in the same rule", "out", "w1", "v6", "tcp", 443, true],
    ["port not in the list", "out", "w1", "v4", "tcp", 81, false],
    ["udp is not tcp", "out", "w1", "v4", "udp", 80, false],
    ["ingress default drop", "out", "d1", "v4", "tcp", 5432, false],
    ["group peer: member w1", "w1", "d1", "v4", "tcp", 5432, true],
    ["group peer: w1's v6 is declared", "w1", "d1", "v6", "tcp", 5432, true],
    ["group peer: w2 has only its v4 connection host", "w2", "d1", "v4", "tcp", 5432, true],
    ["group peer: w2's v6 is not a member address", "w2", "d1", "v6", "tcp", 5432, false],
    ["self reference, range low end", "w1", "w2", "v4", "tcp", 8000, true],
    ["self reference, range high end", "w2", "w1", "v4", "tcp", 8100, true],
    ["self reference, past the range", "w1", "w2", "v4", "tcp", 8101, false],
    ["self reference excludes non-members", "d1", "w1", "v4", "tcp", 8050, false],
    ["mutual: db -> app", "d1", "a1", "v4", "tcp", 9000, true],
    ["mutual: app -> db, protocol all", "a1", "d1", "v6", "udp", 12345, true],
    ["mutual: non-member of db", "w1", "a1", "v4", "tcp", 9000, false],
    ["to oneself: loopback", "w1", "w1", "v4", "udp", 1, true],
    ["union: d1 is in db, ping and app", "out", "d1", "v4", "icmp", undefined, true],
    ["icmp rule: IPv4 ping", "out", "a1", "v4", "icmp", undefined, true],
    ["icmp rule does not cover icmpv6", "out", "a1", "v6", "icmpv6", undefined, false],
    ["no ping rule at all", "out", "w1", "v4", "icmp", undefined, false],
    ["icmpv6 echo request type matches", "w1", "d1", "v6", "icmpv6", undefined, true],
    ["udp 53 from the /24", "w2", "d1", "v4", "udp", 53, true],
    ["udp 53 has no v6 peer", "w1", "d1", "v6", "udp", 53, false],
    ["failsafe on the connection port", "out", "d1", "v4", "tcp", 2222, true],
    ["failsafe is not port 22 when the port is 2222", "out", "d1", "v4", "tcp", 22, false],
    ["failsafe default port 22, v6 too", "out", "w1", "v6", "tcp", 22, true],
    ["no group: no table, all open", "out", "x", "v4", "udp", 9, true],
    ["no group: no egress filter either", "x", "w1", "v4", "tcp", 80, true],
    ["egress restricted: allowed destination", "e1", "d1", "v4", "tcp", 5432, true],
    ["egress restricted: v6 destination of the group", "e1", "d1", "v6", "tcp", 5432, true],
    ["egress restricted: other port", "e1", "w1", "v4", "tcp", 80, false],
    ["egress restricted: even to an open host", "e1", "x", "v4", "tcp", 80, false],
    ["egress restricted: ping out", "e1", "d1", "v4", "icmp", undefined, false],
    ["egress restricted host still takes ingress", "out", "e1", "v4", "tcp", 80, true],
    ["empty peer group matches nothing", "w1", "w2", "v4", "tcp", 7, false],
  ])("%s: %s -> %s %s %s/%s = %s", (_why, from, to, fam, proto, port, want) => {
    expect(evaluate(fleet, packet(from, to, fam, proto, port))).toBe(want);
  });

  it.each<[string, FleetDeclaration["failsafe"], string, boolean]>([
    ["default: from anywhere", undefined, OUT.v4, true],
    ["narrowed: inside the management cidr", { cidrs: ["198.18.1.1/32"] }, OUT.v4, true],
    ["narrowed: outside it", { cidrs: ["198.18.1.1/32"] }, W1.v4, false],
    ["narrowed to v4 only: v6 source", { cidrs: ["198.18.1.0/24"] }, OUT.v6, false],
    ["disabled", { ssh: false }, OUT.v4, false],
  ])("failsafe %s", (_why, failsafe, source, want) => {
    const decl = { ...fleet, failsafe };
    const p: Packet = {
      from: { address: source },
      to: { host: "w2", address: source.includes(":") ? W2.v6 : W2.v4 },
      proto: "tcp",
      port: 22,
    };
    expect(evaluate(decl, p)).toBe(want);
  });

  it.each<[string, number | undefined, number | undefined, boolean]>([
    ["any type", undefined, undefined, true],
    ["echo request", 8, undefined, true],
    ["echo request code 0", 8, 0, true],
    ["echo request code 1", 8, 1, false],
    ["echo reply only", 0, undefined, false],
  ])("icmp type %s", (_why, icmpType, icmpCode, want) => {
    const decl: FleetDeclaration = {
      securityGroups: [{ name: "g", ingress: [{ protocol: "icmp", icmpType, icmpCode, cidrs: ["0.0.0.0/0"] }] }],
      hosts: [{ name: "h", connection: { host: W1.v4 }, securityGroups: ["g"] }],
    };
    expect(evaluate(decl, { from: { address: OUT.v4 }, to: { host: "h", address: W1.v4 }, proto: "icmp" })).toBe(want);
  });

  it("egress applies only once some group of the host declares egress", () => {
    const decl: FleetDeclaration = {
      securityGroups: [
        { name: "a", ingress: [{ protocol: "all", cidrs: ["::/0", "0.0.0.0/0"] }] },
        { name: "b", egress: [{ protocol: "udp", ports: 53, cidrs: ["198.18.1.13/32"] }] },
      ],
      hosts: [
        { name: "open", connection: { host: W1.v4 }, securityGroups: ["a"] },
        { name: "shut", connection: { host: W2.v4 }, securityGroups: ["a", "b"] },
        { name: "dst", connection: { host: D1.v4 }, securityGroups: [] },
      ],
    };
    const p = (from: string, port: number): Packet => ({
      from: { host: from, address: from === "open" ? W1.v4 : W2.v4 },
      to: { host: "dst", address: D1.v4 },
      proto: "udp",
      port,
    });
    expect(evaluate(decl, p("open", 99))).toBe(true);
    expect(evaluate(decl, p("shut", 99))).toBe(false);
    expect(evaluate(decl, p("shut", 53))).toBe(true);
  });

  it.each<[string, string, boolean]>([
    ["198.18.0.0/15", "198.19.255.255", true],
    ["198.18.0.0/15", "198.20.0.0", false],
    ["0.0.0.0/0", "203.0.113.9", true],
    ["0.0.0.0/0", "2001:db8::1", false],
    ["::/0", "2001:db8::1", true],
    ["2001:db8:1::/64", "2001:db8:1:0:ffff::1", true],
    ["2001:db8:1::/64", "2001:db8:2::1", false],
    ["2001:db8:1::11/128", "2001:0db8:0001:0000:0000:0000:0000:0011", true],
    ["::ffff:198.18.0.0/120", "::ffff:198.18.0.7", true],
    ["198.18.1.11/32", "198.18.1.11", true],
  ])("cidrContains(%s, %s) = %s", (cidr, address, want) => {
    expect(cidrContains(cidr, address)).toBe(want);
  });

  it.each<[string, string[] | undefined, string, string[]]>([
    ["explicit addresses win", [W1.v4, W1.v6], "10.0.0.1", [W1.v4, W1.v6]],
    ["IPv4 literal connection host", undefined, W1.v4, [W1.v4]],
    ["IPv6 literal connection host", undefined, W1.v6, [W1.v6]],
    ["a DNS name gives no address", undefined, "db.example", []],
  ])("hostAddresses: %s", (_why, addresses, host, want) => {
    expect(hostAddresses({ name: "h", connection: { host }, addresses, securityGroups: [] })).toEqual(want);
  });
});
