// Special address ranges: which prefixes validation rejects
// as never a peer, and that "anywhere" and ordinary prefixes are not caught.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FAMILY_BITS, parsePrefix, type Prefix } from "../../provider/addressing/cidr";
import { specialRangeOf } from "../../provider/declaration/checks/specialAddresses";
import { compileFleet } from "../../provider/compiler/compile";

const prefix = (text: string): Prefix => {
  const p = parsePrefix(text);
  if (!p.ok) throw new Error(p.message);
  return p.prefix;
};

describe("specialRangeOf", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.10.0.0/16", "loopback"],
    ["::1", "loopback"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["169.254.1.0/24", "link-local"],
    ["fe80::/64", "link-local"],
    ["febf::1", "link-local"],
    ["224.0.0.251", "multicast"],
    ["239.0.0.0/8", "multicast"],
    ["ff02::fb", "multicast"],
    ["::ffff:198.18.0.7", "IPv4-mapped"],
    ["::ffff:0:0/96", "IPv4-mapped"],
  ])("%s is %s", (text, kind) => {
    expect(specialRangeOf(prefix(text))?.kind).toBe(kind);
  });

  it.each(["0.0.0.0/0", "::/0", "::/127", "126.0.0.0/7", "198.18.0.0/15", "2001:db8::/32", "fec0::/10", "64:ff9b::/96", "223.255.255.255"])(
    "%s is not special",
    (text) => {
      expect(specialRangeOf(prefix(text))).toBeUndefined();
    },
  );

  it("property: a prefix is special iff every address in it is", () => {
    fc.assert(
      fc.property(fc.constantFrom<4 | 6>(4, 6), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.nat(), (family, raw, lenSeed) => {
        const bits = FAMILY_BITS[family];
        const length = lenSeed % (bits + 1);
        const value = ((raw & ((1n << BigInt(bits)) - 1n)) >> BigInt(bits - length)) << BigInt(bits - length);
        const p = { family, value, length };
        const first = specialRangeOf({ family, value, length: bits });
        const last = specialRangeOf({ family, value: value + (1n << BigInt(bits - length)) - 1n, length: bits });
        const whole = specialRangeOf(p);
        if (whole) expect(first?.kind === whole.kind && last?.kind === whole.kind).toBe(true);
        if (!first || !last || first.range !== last.range) expect(whole).toBeUndefined();
      }),
    );
  });
});

describe("failsafe.port", () => {
  it("opens the port sshd listens on, not the forwarded connection.port", () => {
    const decl = (failsafe?: { port?: number }) => ({
      failsafe,
      securityGroups: [{ name: "g", ingress: [{ protocol: "tcp" as const, ports: 80, cidrs: ["198.18.0.0/15"] }] }],
      hosts: [{ name: "h", connection: { host: "203.0.113.5", port: 2201 }, addresses: ["198.18.0.5"], securityGroups: ["g"] }],
    });
    const forwarded = compileFleet(decl({ port: 22 }))["h"]!;
    expect(forwarded.lines).toContain("ingress tcp/22 from any [failsafe ssh]");
    expect(forwarded.lines.join("\n")).not.toContain("tcp/2201");
    const direct = compileFleet(decl())["h"]!;
    expect(direct.lines).toContain("ingress tcp/2201 from any [failsafe ssh]");
  });
});
