// Which Attachments of one program share a host's table (sdk/locationGate.ts):
// every one of them is refused, whichever was declared first.
import { describe, expect, it } from "vitest";
import { duplicatedLocations, type DeclaredLocation } from "../../sdk/locationGate";

const at = (fleet: string, host: string, address: string, table = "nftsg"): DeclaredLocation => ({
  address, port: 22, table, label: `Fleet ${fleet}, host ${host}`,
});

describe("duplicatedLocations", () => {
  it.each([
    ["distinct hosts", [at("a", "m1", "198.18.0.2"), at("a", "m2", "198.18.0.3")], new Map(), {}],
    ["the same address, another table", [at("a", "m1", "198.18.0.2"), at("b", "m1", "198.18.0.2", "other")], new Map(), {}],
    ["two Fleets, one host: both", [at("a", "m2", "198.18.0.3"), at("b", "m2", "198.18.0.3")], new Map(), {
      "Fleet a, host m2": "198.18.0.3:22 table inet nftsg is also declared by Fleet b, host m2 in this stack",
      "Fleet b, host m2": "198.18.0.3:22 table inet nftsg is also declared by Fleet a, host m2 in this stack",
    }],
    ["one Fleet, two names for one machine: both", [at("a", "x", "198.18.0.3"), at("a", "y", "198.18.0.3")], new Map(), {
      "Fleet a, host x": "also declared by Fleet a, host y",
      "Fleet a, host y": "also declared by Fleet a, host x",
    }],
    ["three declarations: each names the other two", [at("a", "m", "198.18.0.3"), at("b", "m", "198.18.0.3"), at("c", "m", "198.18.0.3")], new Map(), {
      "Fleet a, host m": "also declared by Fleet b, host m and Fleet c, host m",
      "Fleet b, host m": "also declared by Fleet a, host m and Fleet c, host m",
      "Fleet c, host m": "also declared by Fleet a, host m and Fleet b, host m",
    }],
    ["a later round against an earlier one: the later declaration only", [at("b", "m2", "198.18.0.3")],
      new Map([["198.18.0.3:22/nftsg", at("a", "m2", "198.18.0.3")]]), { "Fleet b, host m2": "also declared by Fleet a, host m2 in this stack" }],
  ] as const)("%s", (_name, round, earlier, expected) => {
    const refused = duplicatedLocations(earlier as Map<string, DeclaredLocation>, round);
    expect([...refused.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [label, fragment] of Object.entries(expected)) {
      expect(refused.get(label)).toContain(fragment);
      expect(refused.get(label)).toMatch(/remove one declaration, or give one of them another table name$/);
    }
  });
});
