// `npm run demo:observe`: adopting nftsg on running hosts without cutting
// anything (docs/observe.md). On a local lab of real hosts, through the real
// Pulumi CLI:
//   1. stage: the declared policy runs on every packet but drops nothing;
//   2. traffic, then `pulumi refresh`: rule hits and would-be drops land in
//      the Attachments' outputs; `nftsg observe` reports them fleet-wide from
//      `pulumi stack export`, with the missing rules as TypeScript;
//   3. a promotion to enforce: the preview names the flows it would cut, and
//      `up` refuses it;
//   4. the suggested rule added, a clean observation window, the promotion
//      passes; the firewall now enforces, and the monitoring scrape survives.
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { labUp, RUNNER, type Lab } from "../../lab";
import { fleetStack, type FleetStack } from "../../test/support/stack";
import { repoRoot } from "../../test/support/engine";
import type { FleetArgs, RuleArgs } from "../../sdk/inputs";

const NAMES = ["db-1", "web-1", "prom-1"];

function banner(text: string): void {
  console.log(`\n\x1b[1m== ${text}\x1b[0m`);
}

function declaration(lab: Lab, mode: "staged" | "enforce", extraDb: RuleArgs[] = []): FleetArgs {
  const host = (name: string, groups: string[]) => ({
    name, connection: { host: lab.host(name).ipv4, user: "root", privateKey: lab.privateKey }, securityGroups: groups,
  });
  return {
    observe: { mode },
    securityGroups: [
      {
        name: "db",
        ingress: [
          { protocol: "tcp", ports: 5432, securityGroups: ["web"], description: "postgres from web" },
          { protocol: "tcp", ports: 6432, securityGroups: ["web"], description: "pgbouncer (unused)" },
          ...extraDb,
        ],
      },
      { name: "web", ingress: [{ protocol: "tcp", ports: 443, cidrs: [`${lab.runnerIpv4}/32`], description: "https from the runner" }] },
      { name: "monitoring" },
    ],
    hosts: [host("db-1", ["db"]), host("web-1", ["web"]), host("prom-1", ["monitoring"])],
  };
}

/**
 * The running fleet's traffic: the app, the monitoring scrape nobody
 * declared, and users; with `outsider`, also a postgres client from outside
 * that the policy is meant to cut (probed before nftsg and once enforced).
 */
async function traffic(lab: Lab, outsider = false): Promise<void> {
  const all = [
    { from: "web-1", to: lab.host("db-1").ipv4, proto: "tcp" as const, port: 5432, what: "web-1  -> db-1:5432  (postgres)" },
    { from: "prom-1", to: lab.host("db-1").ipv4, proto: "tcp" as const, port: 9100, what: "prom-1 -> db-1:9100  (node exporter scrape)" },
    { from: RUNNER, to: lab.host("web-1").ipv4, proto: "tcp" as const, port: 443, what: "runner -> web-1:443  (https)" },
    { from: RUNNER, to: lab.host("db-1").ipv4, proto: "tcp" as const, port: 5432, what: "runner -> db-1:5432  (postgres from outside)" },
  ];
  const probes = outsider ? all : all.slice(0, 3);
  const results = await lab.probeMany(probes);
  probes.forEach((p, i) => console.log(`  ${p.what.padEnd(46)} ${results[i] ? "passes" : "DROPPED"}`));
}

async function report(stack: FleetStack): Promise<string> {
  const exported = await stack.stack.exportStack();
  return execFileSync(process.execPath, [path.join(repoRoot, "dist/cli/nftsg.js"), "observe", "-"], { input: JSON.stringify(exported), encoding: "utf8" });
}

/** The suggested rules of the report's TypeScript block. */
function suggestedRules(text: string): RuleArgs[] {
  const block = /```ts\n([\s\S]*?)```/.exec(text.slice(text.indexOf("### Suggested rules")))?.[1] ?? "";
  return block.split("\n").filter((l) => l.startsWith("{")).map((l) => new Function(`return (${l.replace(/,$/, "")})`)() as RuleArgs);
}

/** The engine's Diagnostics section of a preview or up, once. */
const diagnostics = (out: string) => /\nDiagnostics:\n([\s\S]*?)(?:\nOutputs:|\nResources:|$)/.exec(out)?.[1]?.trimEnd() ?? out;

async function main(): Promise<void> {
  banner(`a running fleet of ${NAMES.length} hosts, no firewall yet (network namespaces with sshd and nftables)`);
  const lab = await labUp({ hosts: NAMES.length, hostNames: NAMES });
  try {
    await lab.listen("db-1", "tcp", [5432, 6432, 9100]);
    await lab.listen("web-1", "tcp", [443]);
    await traffic(lab, true);

    banner("1. stage the declared policy: pulumi up with observe: { mode: \"staged\" }");
    const stack = await fleetStack(declaration(lab, "staged"), { project: "nftsg-observe-demo", stackName: "demo", fleetName: "app" });
    const up = await stack.stack.up();
    console.log(`result: ${up.summary.result}; nothing is dropped yet:`);
    await traffic(lab);

    banner("2. pulumi refresh, then pulumi stack export | nftsg observe -");
    await stack.stack.refresh();
    const first = await report(stack);
    console.log(first);

    banner("3. promote to enforce: pulumi preview warns, pulumi up refuses");
    stack.setArgs(declaration(lab, "enforce"));
    console.log(diagnostics((await stack.stack.preview()).stdout));
    try {
      await stack.stack.up();
      console.log("UNEXPECTED: the promotion was not refused");
    } catch (err) {
      console.log(diagnostics(String((err as Error).message)));
    }

    banner("4. add the suggested rule (still staged), a clean observation window, then promote");
    const rules = suggestedRules(first);
    console.log(rules.map((r) => `  ${JSON.stringify(r)}`).join("\n"));
    stack.setArgs(declaration(lab, "staged", rules));
    await stack.stack.up();
    await traffic(lab);
    await stack.stack.refresh();
    stack.setArgs(declaration(lab, "enforce", rules));
    const promoted = await stack.stack.up();
    console.log(`pulumi up (enforce): ${promoted.summary.result}`);
    banner("enforced: the scrape survives, what nothing allows is dropped");
    await traffic(lab, true);

    banner("pulumi destroy");
    await stack.stack.destroy();
    await stack.stack.workspace.removeStack("demo");
  } finally {
    await lab.down();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
