import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Family,
  type Interval,
  familyMax,
  formatIPv4,
  formatIPv6,
  formatPrefix,
  intervalContains,
  intervalPrefixLength,
  intervalToNftElement,
  intervalToPrefixes,
  mergeIntervals,
  parseAddress,
  parseIPv4,
  parseIPv6,
  parsePrefix,
  prefixToInterval,
} from "../../provider/addressing/cidr";
import { formatPortRange, mergePortRanges, parsePortSpec, portsContain } from "../../provider/addressing/ports";

describe("IPv4 parsing and printing", () => {
  it.each([
    ["0.0.0.0", 0n],
    ["255.255.255.255", 0xffffffffn],
    ["198.18.0.1", 0xc6120001n],
  ])("%s", (text, value) => {
    expect(parseIPv4(text)).toBe(value);
    expect(formatIPv4(value)).toBe(text);
  });

  it.each(["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-4", "1.2.3.4 ", "a.b.c.d", "1..2.3"])("rejects %j", (text) => {
    expect(parseIPv4(text)).toBeUndefined();
  });
});

describe("IPv6 parsing and printing (glibc inet_ntop, as nft prints)", () => {
  it.each([
    ["::", "::"],
    ["::1", "::1"],
    ["::2", "::2"],
    ["1::", "1::"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:0:0:0:2:0:0:3", "1::2:0:0:3"],
    ["1:0:1:1:1:1:1:1", "1:0:1:1:1:1:1:1"],
    ["::ffff:1.2.3.4", "::ffff:1.2.3.4"],
    ["::ffff:0:1", "::ffff:0.0.0.1"],
    ["::102:304", "::1.2.3.4"],
    ["0:0:0:0:0:0:1:0", "::0.1.0.0"],
    ["::1:0:0", "::1:0:0"],
    ["64:ff9b::1.2.3.4", "64:ff9b::102:304"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["fe80::", "fe80::"],
  ])("%s -> %s", (input, printed) => {
    const v = parseIPv6(input);
    expect(v).toBeDefined();
    expect(formatIPv6(v!)).toBe(printed);
    expect(parseIPv6(printed)).toBe(v);
  });

  it.each(["", ":", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "12345::", "g::", "fe80::1%eth0", "::1.2.3", "1:2:3:4:5:6:7", "[::1]"])(
    "rejects %j",
    (text) => {
      expect(parseIPv6(text)).toBeUndefined();
    },
  );

  it("round-trips every 128-bit value", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: familyMax(6) }), (v) => {
        expect(parseIPv6(formatIPv6(v))).toBe(v);
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips values with many zero groups", () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const v = groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
        const text = formatIPv6(v);
        expect(parseIPv6(text)).toBe(v);
        // At most one "::", never a lone ":0:" compressed.
        expect(text.split("::").length).toBeLessThanOrEqual(2);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("prefix parsing", () => {
  it.each([
    ["10.0.0.0/8", "10.0.0.0/8"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["::/0", "::/0"],
    ["192.0.2.7", "192.0.2.7"],
    ["192.0.2.7/32", "192.0.2.7"],
    ["2001:db8::/32", "2001:db8::/32"],
    ["2001:DB8:0::/48", "2001:db8::/48"],
    ["2001:db8::1/128", "2001:db8::1"],
  ])("%s", (text, canonical) => {
    const p = parsePrefix(text);
    expect(p.ok).toBe(true);
    if (p.ok) expect(formatPrefix(p.prefix)).toBe(canonical);
  });

  it.each([
    ["10.0.0.1/8", "CIDR 10.0.0.1/8 has host bits set; use 10.0.0.0/8"],
    ["2001:db8::1/32", "CIDR 2001:db8::1/32 has host bits set; use 2001:db8::/32"],
    ["10.0.0.0/33", "IPv4 prefix lengths are 0-32"],
    ["::/129", "IPv6 prefix lengths are 0-128"],
    ["10.0.0.0/", "invalid prefix length"],
    ["10.0.0.0/08", "invalid prefix length"],
    ["10.0.0/8", "is not a valid IPv4 or IPv6 address"],
    ["fe80::1%eth0/64", "zone id"],
    [" 10.0.0.0/8", "surrounding spaces"],
    ["", "is empty"],
  ])("%s is rejected: %s", (text, fragment) => {
    const p = parsePrefix(text);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.message).toContain(fragment);
  });
});

const familyArb = fc.constantFrom<Family>(4, 6);

function prefixArb(family: Family) {
  const bits = family === 4 ? 32 : 128;
  return fc.tuple(fc.bigInt({ min: 0n, max: familyMax(family) }), fc.integer({ min: 0, max: bits })).map(([v, len]) => {
    const host = (1n << BigInt(bits - len)) - 1n;
    return { family, value: v & ~host & familyMax(family), length: len };
  });
}

/** Intervals clustered in a small space so overlaps and adjacency are common. */
const smallIntervals = fc.array(
  fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 20 })).map(([lo, w]): Interval => ({ lo: BigInt(lo), hi: BigInt(lo + w) })),
  { maxLength: 30 },
);

describe("interval normalisation (properties)", () => {
  it("merge keeps exactly the same addresses", () => {
    fc.assert(
      fc.property(smallIntervals, fc.integer({ min: 0, max: 230 }), (ivs, probe) => {
        const merged = mergeIntervals(ivs);
        const inInput = ivs.some((iv) => BigInt(probe) >= iv.lo && BigInt(probe) <= iv.hi);
        expect(intervalContains(merged, BigInt(probe))).toBe(inInput);
      }),
      { numRuns: 3000 },
    );
  });

  it("merge output is sorted, disjoint and never adjacent (the canonical form)", () => {
    fc.assert(
      fc.property(smallIntervals, (ivs) => {
        const merged = mergeIntervals(ivs);
        for (let i = 1; i < merged.length; i++) expect(merged[i]!.lo).toBeGreaterThan(merged[i - 1]!.hi + 1n);
        for (const iv of merged) expect(iv.lo <= iv.hi).toBe(true);
      }),
    );
  });

  it("merge is idempotent and order-independent", () => {
    fc.assert(
      fc.property(smallIntervals, fc.integer(), (ivs, seed) => {
        const merged = mergeIntervals(ivs);
        expect(mergeIntervals(merged)).toEqual(merged);
        const shuffled = [...ivs].sort((a, b) => Number(((a.lo * 7919n + BigInt(seed)) % 101n) - ((b.lo * 7919n + BigInt(seed)) % 101n)));
        expect(mergeIntervals(shuffled)).toEqual(merged);
        expect(mergeIntervals([...ivs, ...ivs])).toEqual(merged);
      }),
    );
  });

  it("a prefix covered by another disappears; adjacent halves join", () => {
    fc.assert(
      fc.property(familyArb.chain((f) => fc.tuple(fc.constant(f), prefixArb(f))), ([family, p]) => {
        const bits = family === 4 ? 32 : 128;
        const iv = prefixToInterval(p);
        if (p.length < bits) {
          const child = { ...p, length: p.length + 1 };
          expect(mergeIntervals([iv, prefixToInterval(child)])).toEqual([iv]);
          const halfSize = 1n << BigInt(bits - p.length - 1);
          const lower = prefixToInterval(child);
          const upper = prefixToInterval({ ...child, value: p.value + halfSize });
          expect(mergeIntervals([upper, lower])).toEqual([iv]);
        }
        expect(intervalToNftElement(family, iv)).toBe(formatPrefix(p));
        expect(intervalPrefixLength(family, iv)).toBe(p.length);
      }),
      { numRuns: 1000 },
    );
  });

  it("intervalToPrefixes covers exactly the interval with aligned prefixes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 3000 }), (lo, w) => {
        const iv = { lo: BigInt(lo), hi: BigInt(lo + w) };
        const prefixes = intervalToPrefixes(4, iv);
        const back = mergeIntervals(prefixes.map(prefixToInterval));
        expect(back).toEqual([iv]);
        expect(prefixes.length).toBeLessThanOrEqual(2 * 32);
      }),
    );
  });

  it("prints ranges that are not prefixes as a-b", () => {
    expect(intervalToNftElement(4, { lo: 0x0c000100n, hi: 0x0c0002ffn })).toBe("12.0.1.0-12.0.2.255");
    expect(intervalToNftElement(4, { lo: 5n, hi: 5n })).toBe("0.0.0.5");
    expect(intervalToNftElement(6, { lo: 0n, hi: familyMax(6) })).toBe("::/0");
  });
});

describe("addresses", () => {
  it("parseAddress picks the family", () => {
    expect(parseAddress("198.18.0.1")).toEqual({ family: 4, value: 0xc6120001n });
    expect(parseAddress("2001:db8::1")?.family).toBe(6);
    expect(parseAddress("example.com")).toBeUndefined();
    expect(parseAddress("10.0.0.0/8")).toBeUndefined();
  });
});

describe("ports", () => {
  it.each([
    [22, "22"],
    ["22", "22"],
    ["8000-8100", "8000-8100"],
    ["1-65535", "1-65535"],
  ])("%j", (spec, printed) => {
    const p = parsePortSpec(spec);
    expect(p.ok).toBe(true);
    if (p.ok) expect(formatPortRange(p.range)).toBe(printed);
  });

  it.each([
    [0, "outside 1-65535"],
    [65536, "outside 1-65535"],
    [22.5, "not an integer"],
    ["100-10", 'reversed; write "10-100"'],
    ["0-10", "outside 1-65535"],
    ["ssh", "not a port or port range"],
    ["22 ", "not a port or port range"],
    ["1-2-3", "not a port or port range"],
  ])("%j is rejected: %s", (spec, fragment) => {
    const p = parsePortSpec(spec);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.message).toContain(fragment);
  });

  it("merging keeps exactly the same ports, canonically", () => {
    const range = fc.tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 30 })).map(([lo, w]) => ({ lo, hi: Math.min(65535, lo + w) }));
    fc.assert(
      fc.property(fc.array(range, { maxLength: 20 }), fc.integer({ min: 1, max: 340 }), (ranges, probe) => {
        const merged = mergePortRanges(ranges);
        expect(portsContain(merged, probe)).toBe(portsContain(ranges, probe));
        for (let i = 1; i < merged.length; i++) expect(merged[i]!.lo).toBeGreaterThan(merged[i - 1]!.hi + 1);
        expect(mergePortRanges([...ranges].reverse())).toEqual(merged);
      }),
      { numRuns: 2000 },
    );
  });
});
