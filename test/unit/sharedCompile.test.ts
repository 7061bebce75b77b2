// The SDK's compile-once path: every host's ruleset, taken from one compile
// of the union of the known slices, equals its ruleset in a compile of the
// complete fleet, also when some hosts' slices are not known (preview with
// unknown values) and when hosts ask in several batches.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileFleet } from "../../provider/compiler/compile";
import type { FleetDeclaration, HostRuleset } from "../../provider/declaration/declaration";
import { fleetSlices } from "../../sdk/slice";
import { SharedCompile } from "../../sdk/sharedCompile";
import { generateFleet } from "../support/fleetGen";

const owners = (decl: FleetDeclaration) => Object.fromEntries(decl.hosts.map((h) => [h.name, `o/p/s/host=${h.name}`]));

function sharedCompile(declared: FleetDeclaration): { shared: SharedCompile; compiles: string[][] } {
  const compiles: string[][] = [];
  const shared = new SharedCompile(new Set(declared.securityGroups.map((g) => g.name)), (decl, only) => {
    compiles.push(only);
    return compileFleet(decl, { owners: owners(decl), lineStyle: "groups", only });
  });
  return { shared, compiles };
}

/** Ask for `hosts` in batches (one event-loop turn each). */
async function request(decl: FleetDeclaration, shared: SharedCompile, batches: string[][]): Promise<Record<string, HostRuleset | Error>> {
  const slices = fleetSlices(decl);
  const out: Record<string, HostRuleset | Error> = {};
  for (const batch of batches) {
    const results = await Promise.all(batch.map((name) => {
      const s = slices.get(name)!;
      return shared.request(name, {
        options: { table: decl.table, failsafe: decl.failsafe, revokeEstablished: decl.revokeEstablished },
        ownGroups: s.ownGroups,
        peerGroups: s.peerGroups.map((g) => ({ name: g.name, description: g.description })),
        self: s.self,
        peerMembers: s.peerMembers,
      });
    }));
    batch.forEach((name, i) => { out[name] = results[i]!; });
  }
  return out;
}

const fleetArb = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  hosts: fc.integer({ min: 1, max: 14 }),
  groups: fc.integer({ min: 1, max: 6 }),
  rules: fc.integer({ min: 0, max: 30 }),
  cidrs: fc.integer({ min: 0, max: 60 }),
});

describe("compile once, hand out per host", () => {
  it("every host gets what a compile of the whole fleet gives it, in one compile", async () => {
    await fc.assert(
      fc.asyncProperty(fleetArb, async (opts) => {
        const decl = generateFleet({ ...opts, detachedShare: 0.1, failsafe: { cidrs: ["198.18.0.0/15"] } });
        const whole = compileFleet(decl, { owners: owners(decl), lineStyle: "groups" });
        const { shared, compiles } = sharedCompile(decl);
        const got = await request(decl, shared, [decl.hosts.map((h) => h.name)]);
        expect(got).toEqual(whole);
        expect(compiles).toHaveLength(1);
      }),
      { numRuns: 40 },
    );
  });

  it("hosts whose slice holds an unknown host are left out; the others still get the whole-fleet result, in any batches", async () => {
    await fc.assert(
      fc.asyncProperty(fleetArb, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 3 }), async (opts, pick, nBatches) => {
        const decl = generateFleet({ ...opts, detachedShare: 0.1 });
        const whole = compileFleet(decl, { owners: owners(decl), lineStyle: "groups" });
        const unknown = decl.hosts[pick % decl.hosts.length]!.name;
        const slices = fleetSlices(decl);
        // As at preview: a host whose slice contains the unknown host never asks.
        const asking = decl.hosts.map((h) => h.name)
          .filter((n) => n !== unknown && !slices.get(n)!.peerMembers.some((m) => m.name === unknown));
        const batches = Array.from({ length: nBatches }, (_, b) => asking.filter((_n, i) => i % nBatches === b));
        const { shared } = sharedCompile(decl);
        const got = await request(decl, shared, batches);
        for (const n of asking) expect(got[n]).toEqual(whole[n]);
      }),
      { numRuns: 40 },
    );
  });

  it("an invalid declaration gives every asking host the validation error", async () => {
    const decl: FleetDeclaration = {
      securityGroups: [{ name: "db", ingress: [{ protocol: "tcp", ports: 70000, cidrs: ["10.0.0.0/8"] }] }],
      hosts: [{ name: "db-1", connection: { host: "198.18.0.2" }, securityGroups: ["db"] }],
    };
    const got = await request(decl, sharedCompile(decl).shared, [["db-1"]]);
    expect(got["db-1"]).toBeInstanceOf(Error);
    expect((got["db-1"] as Error).name).toBe("FleetValidationError");
  });

  it("a host whose group is misspelt gets the validation error, never a ruleset without that group", async () => {
    const decl: FleetDeclaration = {
      securityGroups: [{ name: "db", ingress: [{ protocol: "tcp", ports: 5432, cidrs: ["10.0.0.0/8"] }] }],
      hosts: [
        { name: "db-1", connection: { host: "198.18.0.2" }, securityGroups: ["dbb"] },
        { name: "db-2", connection: { host: "198.18.0.3" }, securityGroups: ["db", "dbb"] },
      ],
    };
    const got = await request(decl, sharedCompile(decl).shared, [["db-1", "db-2"]]);
    for (const h of ["db-1", "db-2"]) {
      expect(got[h]).toBeInstanceOf(Error);
      expect((got[h] as Error).message).toMatch(/hosts\[0\]\.securityGroups\[0\].*dbb/);
    }
  });

  it("hosts that name the same peer groups share one member list", () => {
    const decl = generateFleet({ seed: 7, hosts: 30, groups: 3, rules: 9, cidrs: 10 });
    const slices = [...fleetSlices(decl).values()];
    const byKey = new Map<string, unknown>();
    for (const s of slices) {
      if (byKey.has(s.peerKey)) expect(s.peerMembers).toBe(byKey.get(s.peerKey));
      else byKey.set(s.peerKey, s.peerMembers);
    }
  });
});
