// Observe before enforce through the real Pulumi CLI on lab hosts (docs/observe.md):
// stage -> traffic -> refresh -> counters and would-be drops in the
// Attachments' outputs and in `nftsg observe` (from `pulumi stack export`) ->
// an `up` that changes another rule keeps the counts -> a promotion's
// preview shows the flows it would cut -> `up` refuses it -> the digest
// acknowledges one host's -> the suggested rules and a clean observation
// window let the other one through -> a staged change on an enforced host
// reports the flows it would newly deny, enforcement unchanged.
import { failureOf } from "../support/failure";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { RUNNER } from "../../lab";
import { useLab } from "../support/useLab";
import type { FleetArgs, ObserveArgs, RuleArgs } from "../../sdk/inputs";
import type { ObservedProps } from "../../provider/handlers/attachmentContract";
import { fleetStack, type FleetStack } from "../support/stack";
import { repoRoot } from "../support/engine";

const lab = useLab({ hosts: 3, hostNames: ["db-1", "web-1", "prom-1"] });
let stack: FleetStack;

interface Variant {
  observe: ObserveArgs;
  /** Host-level observe (a canary), by host name. */
  hostObserve?: Record<string, { mode?: "enforce" | "staged"; acknowledge?: string[] }>;
  extraDb?: RuleArgs[];
  extraDbRule?: boolean;
}

function declaration(v: Variant): FleetArgs {
  const conn = (h: string) => ({ host: lab.host(h).ipv4, user: "root", privateKey: lab.privateKey });
  const host = (name: string, groups: string[]) => ({
    name, connection: conn(name), addresses: [lab.host(name).ipv4, lab.host(name).ipv6], securityGroups: groups,
    ...(v.hostObserve?.[name] ? { observe: v.hostObserve[name] } : {}),
  });
  return {
    observe: v.observe,
    securityGroups: [
      {
        name: "db",
        ingress: [
          { protocol: "tcp", ports: 5432, securityGroups: ["web"], description: "postgres from web" },
          { protocol: "udp", ports: 5353, securityGroups: ["web"], description: "mdns from web" },
          { protocol: "tcp", ports: 6432, securityGroups: ["web"], description: "pgbouncer, unused" },
          ...(v.extraDbRule ? [{ protocol: "tcp" as const, ports: 7000, securityGroups: ["web"], description: "another rule" }] : []),
          ...(v.extraDb ?? []),
        ],
      },
      { name: "web", ingress: [{ protocol: "tcp", ports: 443, cidrs: [`${lab.runnerIpv4}/32`], description: "https from the runner" }] },
      { name: "monitoring" },
    ],
    hosts: [host("db-1", ["db"]), host("web-1", ["web"]), host("prom-1", ["monitoring"])],
  };
}

async function observedOf(): Promise<Record<string, ObservedProps>> {
  const exported = await stack.stack.exportStack();
  const resources = (exported.deployment as { resources: { type: string; outputs?: Record<string, unknown> }[] }).resources;
  return Object.fromEntries(
    resources.filter((r) => r.type.endsWith("nftsg:Attachment") && r.outputs?.observed).map((r) => [String(r.outputs!.hostName), r.outputs!.observed as ObservedProps]),
  );
}

/** `pulumi stack export | nftsg observe -`, as a user runs it. */
async function report(): Promise<string> {
  const exported = await stack.stack.exportStack();
  return execFileSync(process.execPath, [path.join(repoRoot, "dist/cli/nftsg.js"), "observe", "-"], { input: JSON.stringify(exported), encoding: "utf8" });
}

const counterOf = (o: ObservedProps, prefix: string) => Object.entries(o.counters ?? {}).filter(([k]) => k.startsWith(prefix));

/** The traffic of this story: web-1 to postgres and mdns (allowed), prom-1 to the node exporter and the runner to web-1:8080 (would be dropped). */
async function trafficOnce(): Promise<boolean[]> {
  return lab.probeMany([
    { from: "web-1", to: lab.host("db-1").ipv4, proto: "tcp", port: 5432 },
    { from: "prom-1", to: lab.host("db-1").ipv4, proto: "tcp", port: 9100 },
    { from: RUNNER, to: lab.host("web-1").ipv4, proto: "tcp", port: 8080 },
  ]);
}

beforeAll(async () => {
  await lab.listen("db-1", "tcp", [5432, 6432, 7000, 9100]);
  await lab.listen("db-1", "udp", [5353]);
  await lab.listen("web-1", "tcp", [443, 8080]);
  stack = await fleetStack(declaration({ observe: { mode: "staged" } }), { project: "nftsg-observe" });
  const up = await stack.stack.up();
  expect(up.summary.result).toBe("succeeded");
}, 600_000);


describe("observe before enforce through the real CLI", () => {
  const N = 5;

  it("staged: every probe passes; refresh brings N hits on the rule, the would-be drops, and rules with no hit", async () => {
    expect(await trafficOnce()).toEqual([true, true, true]);
    for (let i = 0; i < N; i++) expect(await lab.probe("web-1", lab.host("db-1").ipv4, { proto: "udp", port: 5353 })).toBe(true);
    await stack.stack.refresh();
    const o = await observedOf();
    expect(o["db-1"]!.mode).toBe("staged");
    const mdns = counterOf(o["db-1"]!, "r_db_in_").find(([, v]) => v[0] === N);
    expect(mdns, JSON.stringify(o["db-1"]!.counters)).toBeDefined();
    expect(o["db-1"]!.cut?.flows.join("\n")).toMatch(new RegExp(`^in ${lab.host("prom-1").ipv4.replace(/\./g, "\\.")} tcp/9100 `, "m"));
    expect(o["web-1"]!.cut?.flows.join("\n")).toMatch(new RegExp(`^in ${lab.runnerIpv4.replace(/\./g, "\\.")} tcp/8080 `, "m"));
    const text = await report();
    console.log(text);
    expect(text).toMatch(/- db: pgbouncer, unused \(ingress tcp\/6432 from sg web\) — 1 host: db-1/);
    expect(text).toMatch(/\| db: mdns from web \(ingress udp\/5353 from sg web\) \| 5 \|/);
    expect(text).toContain(`| in | ${lab.host("prom-1").ipv4} (prom-1) | tcp/9100 |`);
    expect(text).toContain('{ protocol: "tcp", ports: 9100, securityGroups: ["monitoring"], description: "observed on db-1" },');
  });

  it("an up that changes another rule keeps the counts (seeded in the same transaction)", async () => {
    const before = await observedOf();
    stack.setArgs(declaration({ observe: { mode: "staged" }, extraDbRule: true }));
    const up = await stack.stack.up();
    expect(up.summary.resourceChanges?.update).toBeGreaterThan(0);
    await stack.stack.refresh();
    const after = await observedOf();
    for (const [name, value] of counterOf(before["db-1"]!, "r_db_in_")) expect(after["db-1"]!.counters![name], name).toEqual(value);
    expect(counterOf(after["db-1"]!, "r_db_in_")).toHaveLength(counterOf(before["db-1"]!, "r_db_in_").length + 1);
    expect(after["db-1"]!.countingSince).toBe(before["db-1"]!.countingSince);
    // The staged policy changed: what was seen before it no longer counts against a promotion.
    expect(after["db-1"]!.cut?.total).toBe(0);
  });

  it("a promotion: preview shows the observed flows it would cut; up refuses; the digest acknowledges one host", async () => {
    expect(await trafficOnce()).toEqual([true, true, true]);
    await stack.stack.refresh();
    const promote = { observe: { mode: "enforce" as const }, extraDbRule: true };
    stack.setArgs(declaration(promote));
    // `pulumi preview --diff`: each promoted host's Attachment shows the cut in its observe input.
    const diff = await stack.stack.preview({ diff: true });
    console.log(diff.stdout.split("\n").filter((l) => /promotion|staged policy|would cut|tcp\/9100|tcp\/8080|acknowledge/.test(l)).join("\n"));
    expect(diff.stdout).toContain('"db-1: staged policy -> enforce, refused by up unless acknowledged"');
    expect(diff.stdout).toMatch(new RegExp(`"in ${lab.host("prom-1").ipv4.replace(/\./g, "\\.")} tcp/9100 \\d+p \\d+B first [^"]+"`));
    expect(diff.stdout).toContain(`"in ${lab.runnerIpv4} tcp/8080 `);
    // `pulumi preview`: the same as warnings, with how old the observation is.
    const plain = await stack.stack.preview();
    expect(plain.stdout).toMatch(/warning: nftsg: host db-1: promoting the staged policy to enforce: 1 observed flow would be cut \(would-be drops since [^,]+, observed by the refresh of [^)]+ ago\)/);
    const refused = await failureOf(stack.stack.up());
    // Both hosts with would-be drops are refused; the engine stops at the
    // first error, so the message names whichever of them it reached first.
    expect(refused).toMatch(/host (db-1|web-1): promoting the staged policy to enforce was refused before contacting the host/);
    // Neither host with would-be drops was promoted (prom-1, with nothing to cut, may have been).
    const modes = await observedOf();
    expect([modes["db-1"]!.mode, modes["web-1"]!.mode]).toEqual(["staged", "staged"]);
    expect(await trafficOnce()).toEqual([true, true, true]);
    // From the preview's warning for web-1 (its flow line follows it; progress lines of other hosts may come between warnings).
    const digest = /host web-1: promoting[^\n]*:\n\s+in [^\n]*add "([0-9a-f]{12})" to observe\.acknowledge/.exec(plain.stdout)![1]!;
    // web-1 alone, acknowledged; db-1 stays staged.
    stack.setArgs(declaration({ observe: { mode: "staged" }, extraDbRule: true, hostObserve: { "web-1": { mode: "enforce", acknowledge: [digest] } } }));
    const up = await stack.stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect((await observedOf())["web-1"]!.mode).toBe("enforce");
    // Enforced now: the acknowledged flow is dropped there, the rest as before.
    expect(await trafficOnce()).toEqual([true, true, false]);
  });

  it("the suggested rules and a clean observation window: the promotion passes", async () => {
    await stack.stack.refresh();
    const text = await report();
    const block = /### Suggested rules \(staged hosts' would-be drops\)[\s\S]*?```ts\n([\s\S]*?)```/.exec(text)![1]!;
    const rules = block.split("\n").filter((l) => l.startsWith("{")).map((l) => new Function(`return (${l.replace(/,$/, "")})`)() as RuleArgs);
    expect(rules).toEqual([{ protocol: "tcp", ports: 9100, securityGroups: ["monitoring"], description: "observed on db-1" }]);
    const web1 = { "web-1": { mode: "enforce" as const } };
    stack.setArgs(declaration({ observe: { mode: "staged" }, extraDbRule: true, extraDb: rules, hostObserve: web1 }));
    await stack.stack.up();
    // The same traffic again: nothing is recorded on db-1 since its new policy.
    expect(await trafficOnce()).toEqual([true, true, false]);
    await stack.stack.refresh();
    expect((await observedOf())["db-1"]!.cut?.total).toBe(0);
    stack.setArgs(declaration({ observe: { mode: "enforce" }, extraDbRule: true, extraDb: rules }));
    const up = await stack.stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect((await observedOf())["db-1"]!.mode).toBe("enforce");
    // Enforced: what the suggested rule allows passes; what nothing allows is dropped.
    expect(await trafficOnce()).toEqual([true, true, false]);
    expect(await lab.probe(RUNNER, lab.host("db-1").ipv4, { proto: "tcp", port: 5432 })).toBe(false);
  });

  it("a staged change on an enforced host: enforcement unchanged, the flows it would newly deny reported", async () => {
    const current = declaration({ observe: { mode: "enforce" }, extraDbRule: true });
    const proposalGroups = current.securityGroups.map((g) => (g.name === "db" ? { ...g, ingress: (g.ingress ?? []).filter((r) => r.description !== "postgres from web") } : g));
    stack.setArgs({ ...current, observe: { mode: "enforce", proposal: { securityGroups: proposalGroups } } });
    await stack.stack.up();
    // web-1 -> postgres: still allowed (enforced), but the staged change would deny it.
    expect(await lab.probe("web-1", lab.host("db-1").ipv4, { proto: "tcp", port: 5432 })).toBe(true);
    expect(await lab.probe(RUNNER, lab.host("db-1").ipv4, { proto: "tcp", port: 5432 })).toBe(false);
    await stack.stack.refresh();
    const o = (await observedOf())["db-1"]!;
    expect(o.newlyDenied?.map((l) => l.split(" ").slice(0, 3).join(" "))).toEqual([`in ${lab.host("web-1").ipv4} tcp/5432`]);
    expect(o.bothDenyTotal).toBeGreaterThanOrEqual(1);
    const text = await report();
    expect(text).toMatch(/\*\*db-1\*\* \(staged change since [^)]*\): 1 flow would be newly denied \((\d+) more are denied by both\)/);
    // Promoting the staged change: preview shows the cut, up refuses it.
    stack.setArgs({ ...current, securityGroups: proposalGroups, observe: { mode: "enforce" } });
    const preview = await stack.stack.preview();
    expect(preview.stdout).toMatch(/host db-1: promoting the staged change \(observe.proposal\) to the enforced policy: 1 observed flow would be cut/);
    expect((await stack.stack.preview({ diff: true })).stdout).toContain('"db-1: staged change -> enforced policy, refused by up unless acknowledged"');
    expect(await failureOf(stack.stack.up())).toMatch(/host db-1: promoting the staged change[\s\S]*was refused/);
    expect(await lab.probe("web-1", lab.host("db-1").ipv4, { proto: "tcp", port: 5432 })).toBe(true);
  });
});
