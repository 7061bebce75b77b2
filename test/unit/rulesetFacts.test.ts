// The facts the compiler returns with each host's script (HostRuleset.facts:
// the failsafe's port, the local interface patterns), which the apply path
// takes as parameters instead of reading them back out of the script. They
// must be what the compiler decided, and they must equal what the legacy
// parsers (provider/handlers/legacyFacts.ts, kept for state written before
// facts existed) read from the very same script, on every golden fleet and
// on generated ones, so that the two can never drift apart. The Fleet sends
// them as the Attachment's `facts` input.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileFleet } from "../../provider/compiler/compile";
import type { ContainersDeclaration, FleetDeclaration, ObserveDeclaration, RulesetFacts } from "../../provider/declaration/declaration";
import { fromWire } from "../../provider/handlers/attachmentWire";
import { failsafePortInScript, legacyFacts, localInterfacesInScript } from "../../provider/handlers/legacyFacts";
import { CONTAINER_INTERFACES_DEFAULT } from "../../provider/vocabulary/containers";
import { GOLDEN_FLEETS } from "../golden/fleets";
import { requireDist } from "../support/dist";
import { generateFleet } from "../support/fleetGen";

const GOLDEN_DIR = join(__dirname, "..", "golden");

function fleet(extra: Partial<FleetDeclaration> = {}, port?: number): FleetDeclaration {
  return {
    securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0"] }] }],
    hosts: [
      { name: "h", connection: { host: "198.18.0.1", ...(port !== undefined ? { port } : {}) }, securityGroups: ["web"] },
      { name: "idle", connection: { host: "198.18.0.2" }, securityGroups: [] },
    ],
    ...extra,
  };
}

/** The compiled ruleset of host h, after checking that its facts are what the legacy parsers read from its script. */
function compiled(decl: FleetDeclaration, host = "h") {
  const r = compileFleet(decl)[host]!;
  expect(legacyFacts(r.script), "the legacy parsers read the same facts from the script").toEqual(r.facts);
  return r;
}

describe("the compiler's facts", () => {
  it("failsafe on (the default): the host's SSH port, connection.port, or failsafe.port behind a port-forward", () => {
    expect(compiled(fleet()).facts.failsafePort).toBe(22);
    expect(compiled(fleet({}, 2222)).facts.failsafePort).toBe(2222);
    expect(compiled(fleet({ failsafe: { port: 2201 } }, 22)).facts.failsafePort).toBe(2201);
    const r = compiled(fleet({}, 2222));
    expect(r.script).toContain('tcp dport 2222 accept comment "failsafe ssh"');
  });

  it("failsafe narrowed to management CIDRs: still its port (the rule matches the set first)", () => {
    const r = compiled(fleet({ failsafe: { cidrs: ["198.51.100.0/24", "2001:db8:ffff::/48"] } }));
    expect(r.facts.failsafePort).toBe(22);
    expect(r.script).toMatch(/ip saddr @\S+ tcp dport 22 accept comment "failsafe ssh"/);
  });

  it("failsafe off: no port", () => {
    const r = compiled(fleet({ failsafe: { ssh: false } }));
    expect(r.facts).toEqual({ localInterfaces: CONTAINER_INTERFACES_DEFAULT });
    expect(r.facts).not.toHaveProperty("failsafePort");
    expect(r.script).not.toContain("failsafe ssh");
  });

  it.each<[string, ContainersDeclaration | undefined, readonly string[]]>([
    ["the default interfaces", undefined, CONTAINER_INTERFACES_DEFAULT],
    ["one interface", { interfaces: ["docker0"] }, ["docker0"]],
    ["several patterns, in the order the script writes them", { interfaces: ["virbr0", "docker0", "br-*"] }, ["br-*", "docker0", "virbr0"]],
    ["none", { interfaces: [] }, []],
    ["the container paths switched off, interfaces kept", { publishedPorts: false, egress: false, interfaces: ["podman*"] }, ["podman*"]],
  ])("containers: %s", (_what, containers, expected) => {
    const r = compiled(fleet(containers ? { containers } : {}));
    expect(r.facts.localInterfaces).toEqual(expected);
    expect(r.facts.failsafePort).toBe(22);
    if (expected.length === 1) expect(r.script).toContain(`iifname "${expected[0]}" accept comment "local containers"`);
    if (expected.length === 0) expect(r.script).not.toContain('"local containers"');
  });

  it.each<[string, ObserveDeclaration]>([
    ["staged", { mode: "staged" }],
    ["enforced and counted", { mode: "enforce" }],
    ["enforced, with a staged change", { proposal: { securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", ports: 8443, cidrs: ["0.0.0.0/0"] }] }] } }],
  ])("an observed host (%s): the failsafe rule carries a counter, the facts are the same", (_what, observe) => {
    const plain = compiled(fleet({ containers: { interfaces: ["docker0"] } }));
    const r = compiled(fleet({ observe, containers: { interfaces: ["docker0"] } }));
    if (observe.mode) expect(r.script).toContain('tcp dport 22 counter name "failsafe_ssh" accept comment "failsafe ssh"');
    expect(r.facts).toEqual(plain.facts);
    expect(r.facts).toEqual({ failsafePort: 22, localInterfaces: ["docker0"] });
  });

  it("a host attached to no group keeps no table: no failsafe, no interfaces", () => {
    expect(compiled(fleet(), "idle").facts).toEqual({ localInterfaces: [] });
    expect(compiled(fleet({ containers: { interfaces: ["docker0"] } }), "idle").facts).toEqual({ localInterfaces: [] });
  });

  it("hosts that share a compiled body get facts of their own (not one shared object)", () => {
    const decl = fleet();
    const all = compileFleet({ ...decl, hosts: [...decl.hosts, { name: "h2", connection: { host: "198.18.0.3" }, securityGroups: ["web"] }] });
    expect(all["h2"]!.facts).toEqual(all["h"]!.facts);
    expect(all["h2"]!.facts).not.toBe(all["h"]!.facts);
    expect(all["h2"]!.facts.localInterfaces).not.toBe(all["h"]!.facts.localInterfaces);
  });
});

describe("the compiler's facts equal what the legacy parsers read from the same script", () => {
  const rows = GOLDEN_FLEETS.flatMap((f) =>
    Object.values(compileFleet(f.decl, f.owner ? { owner: f.owner } : {})).map((r) => ({ fleet: f.name, host: r.host, r })),
  );

  it("every golden fleet has hosts with a failsafe, with local interfaces, and observed ones", () => {
    expect(rows.some(({ r }) => r.facts.failsafePort !== undefined)).toBe(true);
    expect(rows.some(({ r }) => r.facts.localInterfaces.length > 1)).toBe(true);
    expect(rows.some(({ r }) => r.facts.localInterfaces.length === 0 && r.script !== "")).toBe(true);
    expect(rows.some(({ r }) => r.script.includes('counter name "failsafe_ssh"'))).toBe(true);
  });

  it.each(rows.map((x) => [`${x.fleet}.${x.host}`, x] as const))("%s", (_name, { fleet, host, r }) => {
    expect(legacyFacts(r.script)).toEqual(r.facts);
    expect(failsafePortInScript(r.script)).toBe(r.facts.failsafePort);
    expect(localInterfacesInScript(r.script)).toEqual(r.facts.localInterfaces);
    // The pinned script too (the script of a version that wrote no facts reads the same).
    const file = join(GOLDEN_DIR, `${fleet}.${host}.nft`);
    if (r.script !== "") {
      expect(existsSync(file), file).toBe(true);
      expect(legacyFacts(readFileSync(file, "utf8"))).toEqual(r.facts);
    }
  });

  it("property: generated fleets under every failsafe, container and observe setting", () => {
    const failsafes = fc.constantFrom<FleetDeclaration["failsafe"]>(
      undefined, { ssh: false }, { port: 2201 }, { cidrs: ["198.51.100.0/24"] }, { cidrs: ["198.18.0.0/15", "2001:db8:ffff::/48"], port: 2022 },
    );
    const interfaces = fc.option(fc.subarray(["docker0", "br-*", "virbr0", "cni0", "podman*", "lxcbr0"]), { nil: undefined });
    const observes = fc.constantFrom<ObserveDeclaration | undefined>(undefined, { mode: "staged" }, { mode: "enforce" });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), failsafes, interfaces, observes, fc.boolean(), (seed, failsafe, ifaces, observe, egress) => {
        const base = generateFleet({ seed, hosts: 4, groups: 3, rules: 8, cidrs: 12, ...(failsafe ? { failsafe } : {}) });
        const decl: FleetDeclaration = {
          ...base,
          // (Container egress needs interfaces.)
          ...(ifaces !== undefined ? { containers: { interfaces: ifaces, egress: egress && ifaces.length > 0 } } : {}),
          ...(observe ? { observe } : {}),
        };
        for (const r of Object.values(compileFleet(decl, { owner: "o/p/s" }))) {
          expect(legacyFacts(r.script)).toEqual(r.facts);
          const expectedPort = r.script === "" || failsafe?.ssh === false ? undefined : (failsafe?.port ?? decl.hosts.find((h) => h.name === r.host)!.connection.port ?? 22);
          expect(r.facts.failsafePort).toBe(expectedPort);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe("the Fleet sends them as the Attachment's facts input", () => {
  it("each host's compiled facts, beside its script", async () => {
    const inputs: Record<string, Record<string, unknown>> = {};
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          inputs[args.name] = args.inputs;
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => args.inputs,
      },
      "project", "stack", false, "organization",
    );
    // From dist: the SDK loads the compiler lazily with require(), as in a program.
    const { Fleet } = requireDist<typeof import("../../sdk/fleet")>("sdk/fleet.js");
    const decl = fleet({ containers: { interfaces: ["docker0", "br-*"] } }, 2222);
    const f = new Fleet("f", {
      ...decl,
      hosts: decl.hosts.map((h) => ({ ...h, connection: { ...h.connection, user: "root", privateKey: "KEY" } })),
    });
    // Registered in the wire form (provider/handlers/attachmentWire.ts); the Attachment's check flattens it.
    await new Promise<unknown>((resolve) => pulumi.all(Object.values(f.attachments).map((a) => a.urn)).apply(resolve));
    const facts = (host: string) => fromWire(inputs[`f-${host}`] as never).flat.facts;
    const expected: RulesetFacts = { failsafePort: 2222, localInterfaces: ["br-*", "docker0"] };
    expect(facts("h")).toEqual(expected);
    expect(facts("idle")).toEqual({ localInterfaces: [] });
  });
});
