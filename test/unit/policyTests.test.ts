// Policy tests in the declaration: validation with field paths,
// evaluation on the normalised model, and the FleetModel's check that turns a
// failing test into a preview error.
import { describe, expect, it } from "vitest";
import type { FleetDeclaration, PolicyTestDeclaration } from "../../provider/declaration/declaration";
import { validateFleet } from "../../provider/declaration/validate";
import { runPolicyTests } from "../../provider/evaluate";
import { requireDist } from "../support/dist";
import { formatDeclaration } from "../../sdk/fleet";

const conn = (host: string) => ({ host, user: "root" });
function fleet(tests: unknown[]): FleetDeclaration {
  return {
    securityGroups: [
      { name: "web", ingress: [{ protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0"], description: "https" }] },
      { name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["web"], description: "postgres from web" }] },
    ],
    hosts: [
      { name: "web-1", connection: conn("198.18.0.11"), securityGroups: ["web"] },
      { name: "db-1", connection: conn("198.18.0.21"), securityGroups: ["db"] },
    ],
    tests: tests as PolicyTestDeclaration[],
  };
}

describe("validation of policy tests", () => {
  it.each<[string, unknown, string, RegExp]>([
    ["unknown host", { from: "web-2", to: "db-1", protocol: "tcp", port: 5432, expect: "allow" }, "tests[0].from", /neither a declared host.*did you mean "web-1"/],
    ["unknown group", { from: "sg:wbe", to: "db-1", protocol: "tcp", port: 5432, expect: "allow" }, "tests[0].from", /unknown security group "wbe"; did you mean "web"/],
    ["no port", { from: "web-1", to: "db-1", protocol: "tcp", expect: "allow" }, "tests[0].port", /tcp needs a destination port/],
    ["port out of range", { from: "web-1", to: "db-1", protocol: "udp", port: 70000, expect: "deny" }, "tests[0].port", /1-65535/],
    ["port on icmp", { from: "web-1", to: "db-1", protocol: "icmp", port: 1, expect: "deny" }, "tests[0].port", /icmp has no ports/],
    ["icmp over IPv6", { from: "::/0", to: "db-1", protocol: "icmp", expect: "deny" }, "tests[0].from", /IPv4 only/],
    ["both outside", { from: "10.0.0.0/8", to: "192.0.2.1", protocol: "tcp", port: 1, expect: "deny" }, "tests[0].to", /both outside the fleet/],
    ["bad expect", { from: "web-1", to: "db-1", protocol: "tcp", port: 1, expect: "allowed" }, "tests[0].expect", /use one of allow, deny/],
    ["misspelt field", { from: "web-1", to: "db-1", protocol: "tcp", ports: 1, expect: "deny" }, "tests[0].ports", /did you mean "port"/],
  ])("%s", (_what, test, path, message) => {
    const r = validateFleet(fleet([test]));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.filter((i) => i.path === path).map((i) => i.message).join("\n")).toMatch(message);
  });

  it("collects every problem of every test", () => {
    const r = validateFleet(fleet([{ from: "x", to: "y", protocol: "tcp", expect: "deny" }, { from: "web-1", to: "sg:nope", protocol: "udp", port: 0, expect: "allow" }]));
    expect(r.ok ? [] : r.issues.map((i) => i.path)).toEqual(["tests[0].from", "tests[0].port", "tests[0].to", "tests[1].port", "tests[1].to"]);
  });
});

describe("running policy tests", () => {
  const tests = [
    { from: "sg:web", to: "db-1", protocol: "tcp", port: 5432, expect: "allow", description: "web reaches postgres" },
    { from: "0.0.0.0/0", to: "db-1", protocol: "tcp", port: 5432, expect: "deny", description: "postgres is not public" },
    { from: "0.0.0.0/0", to: "sg:db", protocol: "tcp", port: 22, expect: "deny", description: "no public ssh" },
    { from: "db-1", to: "web-1", protocol: "tcp", port: 443, expect: "deny" },
  ];
  it("passes and fails with the verdict and the rules", () => {
    const r = validateFleet(fleet(tests));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const outcomes = runPolicyTests(r.fleet);
    expect(outcomes.map((o) => o.passed)).toEqual([true, true, false, false]);
    expect(outcomes[2]!.message).toBe(
      [
        'policy test tests[2] "no public ssh" failed: tcp/22 from 0.0.0.0/0 to sg:db: expected deny, evaluated allow',
        "  0.0.0.0/0 -> db-1 (198.18.0.21): allow",
        "    ingress db-1: failsafe ssh",
      ].join("\n"),
    );
    expect(outcomes[3]!.message).toContain("expected deny, evaluated allow");
    expect(outcomes[3]!.message).toContain('ingress web-1: web "https" (tcp/443 from 0.0.0.0/0)');
  });

  it("the FleetModel's check fails on a failing test, with its path", async () => {
    // From dist: the handler loads its heavy modules with require() (needs `npm run build`).
    const { modelHandlers } = requireDist<typeof import("../../provider/handlers/model")>("provider/handlers/model.js");
    const check = modelHandlers().check;
    const decl = (t: unknown[]) => ({ fleet: "f", declaration: formatDeclaration(fleet(t) as unknown as Record<string, unknown>) });
    expect((await check({}, decl(tests.slice(0, 2)))).failures).toBeUndefined();
    const failed = await check({}, decl(tests));
    expect(failed.failures?.map((f) => f.property)).toEqual(["tests[2]", "tests[3]"]);
    expect(failed.failures?.[0]?.reason).toMatch(/^policy test tests\[2\] "no public ssh" failed/);
  });
});
