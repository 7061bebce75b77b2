// Policy tests through the real Pulumi CLI: passing tests let
// preview and up through; a failing test stops `preview` with a message that
// names the test, the verdict and the rules, before any host is contacted
// (SSH connections counted on every host: 0); a test over an address not
// known at preview is announced as unknown, then checked at `up`, which it
// stops before any host is touched.
import { failureOf } from "../support/failure";
import { beforeAll, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import type { FleetArgs, PolicyTestArgs } from "../../sdk/inputs";
import { requireDist } from "../support/dist";
import { installSshCounter, sshConnectionCount } from "../support/sshCounter";
import { programStack, unknownAtPreview } from "../support/stack";
import { useLab } from "../support/useLab";
import { webDbFleet } from "../support/webDb";

type Sdk = typeof import("../../index");

const HOSTS = ["h1", "h2"];
const lab = useLab({ hosts: HOSTS.length, hostNames: HOSTS });
let stack: Stack;
interface Variant { postgresRule?: boolean; newWebHost?: boolean; extraTests?: PolicyTestArgs[] }
let variant: Variant = {};

const TESTS: PolicyTestArgs[] = [
  { from: "sg:web", to: "db-1", protocol: "tcp", port: 5432, expect: "allow", description: "web reaches postgres" },
  { from: "0.0.0.0/0", to: "db-1", protocol: "tcp", port: 5432, expect: "deny", description: "postgres is not public" },
];

function declaration(v: Variant, newHostAddress?: pulumi.Input<string>): FleetArgs {
  return {
    ...webDbFleet(lab, { web: "https", postgres: v.postgresRule, hosts: [["web-1", "h1"], ["db-1", "h2"]], newWebHost: newHostAddress }),
    tests: [...TESTS, ...(v.extraTests ?? [])],
  };
}

beforeAll(async () => {
  const program = async () => {
    const sdk = requireDist<Sdk>("index.js");
    new sdk.Fleet("lab", declaration(variant, variant.newWebHost ? unknownAtPreview("198.18.250.12") : undefined));
  };
  ({ stack } = await programStack(program, { project: "nftsg-policy", stackName: "policy" }));
  const up = await stack.up();
  expect(up.summary.result).toBe("succeeded");
});


describe("policy tests through the real CLI", () => {
  it("passing tests: preview succeeds", async () => {
    variant = { extraTests: [{ from: "db-1", to: "web-1", protocol: "tcp", port: 443, expect: "allow", description: "db reaches https" }] };
    const preview = await stack.preview();
    expect(preview.stdout).not.toMatch(/policy test/);
  });

  it("a failing test stops preview, naming the test, the verdict and the rules, with 0 SSH connections", async () => {
    for (const h of HOSTS) await installSshCounter(lab, h);
    variant = { postgresRule: false };
    const message = await failureOf(stack.preview());
    expect(message).toMatch(/tests\[0\].*policy test tests\[0\] \\?"web reaches postgres\\?" failed: tcp\/5432 from sg:web to db-1: expected allow, evaluated deny/);
    expect(message).toContain("ingress db-1: dropped (no ingress rule of its groups matches)");
    variant = { extraTests: [{ from: "0.0.0.0/0", to: "web-1", protocol: "tcp", port: 443, expect: "deny", description: "web is private" }] };
    const second = await failureOf(stack.preview());
    expect(second).toMatch(/policy test tests\[2\] \\?"web is private\\?" failed: tcp\/443 from 0.0.0.0\/0 to web-1: expected deny, evaluated allow/);
    expect(second).toContain('ingress web-1: web "https" (tcp/443 from 0.0.0.0/0)');
    for (const h of HOSTS) expect(await sshConnectionCount(lab, h)).toBe(0);
  });

  it("an address unknown at preview: the tests are announced unknown, then checked at up before any host is touched", async () => {
    for (const h of HOSTS) await installSshCounter(lab, h);
    // web-2 joins web, so it reaches postgres: a test that says it must not fails once its address is known.
    variant = { newWebHost: true, extraTests: [{ from: "web-2", to: "db-1", protocol: "tcp", port: 5432, expect: "deny", description: "the new host stays off the database" }] };
    const preview = await stack.preview();
    expect(preview.stdout + preview.stderr).toMatch(/3 policy tests are unknown at preview/);
    const message = await failureOf(stack.up());
    expect(message).toMatch(/policy test tests\[2\] \\?"the new host stays off the database\\?" failed: tcp\/5432 from web-2 to db-1: expected deny, evaluated allow/);
    expect(message).toContain('ingress db-1: db "postgres from web" (tcp/5432 from sg web)');
    for (const h of HOSTS) expect(await sshConnectionCount(lab, h)).toBe(0);
    // db-1 still runs the ruleset from before: web-2's address is not in it.
    expect((await lab.exec("h2", "nft list table inet nftsg")).stdout).not.toContain("198.18.250.12");
  });
});
