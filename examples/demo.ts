// `npm run demo`: security groups on a local lab of real hosts.
// Brings up six hosts, runs `pulumi up` on the web-db example, prints who can
// reach whom, adds a host to `web`, shows the preview (every db host changes,
// because db allows postgres *from web*), applies it, prints the matrix again
// and destroys everything.
import { labUp, type Lab } from "../lab";
import { fleetStack } from "../test/support/stack";
import { repoRoot } from "../test/support/engine";
import { webDbExampleHosts } from "../test/support/webDb";
import { webDbFleet } from "./web-db/program";
import { buildPlan, connectivityMatrix, formatMatrix, type Service } from "../test/support/matrix";
import type { FleetDeclaration } from "../provider/declaration/declaration";
import type { FleetArgs } from "../sdk/inputs";

/** The declaration as plain data (this demo uses no Outputs), for the reference evaluator. */
const plain = (args: FleetArgs): FleetDeclaration => JSON.parse(JSON.stringify(args)) as FleetDeclaration;

const NAMES = ["bastion", "web-1", "web-2", "db-1", "db-2", "spare"];
/** What the demo probes on every host: ssh (the lab's sshd), http, postgres. */
const SERVICES: Service[] = [
  { proto: "tcp", port: 22 },
  { proto: "tcp", port: 80 },
  { proto: "tcp", port: 5432 },
];

function banner(text: string): void {
  console.log(`\n\x1b[1m== ${text}\x1b[0m`);
}

/**
 * Probe every source -> host pair with real packets and print the grid; the
 * reference evaluator (docs/semantics.md) marks any cell where the firewall disagrees.
 */
async function printMatrix(lab: Lab, decl: FleetDeclaration): Promise<void> {
  const plan = buildPlan(lab, { services: SERVICES, families: [4, 6] });
  const m = await connectivityMatrix(lab, decl, plan);
  console.log(formatMatrix(plan, m.actual, m.expected));
  console.log(m.diffs.length === 0 ? "every cell agrees with the reference evaluator" : `DISAGREEMENTS:\n${m.diffs.join("\n")}`);
}

async function main(): Promise<void> {
  banner(`bringing up a lab of ${NAMES.length} hosts (network namespaces with sshd and nftables)`);
  const lab = await labUp({ hosts: NAMES.length, hostNames: NAMES });
  try {
    for (const h of lab.hosts) {
      console.log(`  ${h.name.padEnd(8)} ${h.ipv4.padEnd(14)} ${h.ipv6}`);
    }
    const hosts = webDbExampleHosts(lab);
    const management = [`${lab.runnerIpv4}/32`, `${lab.runnerIpv6}/128`];
    const declare = (extraWeb: string[]) => webDbFleet({ hosts, privateKey: lab.privateKey, extraWeb, managementCidrs: management });

    banner("before nftsg: every port is open everywhere");
    await printMatrix(lab, { securityGroups: [], hosts: [] });

    const demo = await fleetStack(declare([]), { project: "nftsg-demo", stackName: "demo", fleetName: "web-db", workDir: repoRoot });
    banner("pulumi up: groups bastion, managed, web, db (db allows postgres from web; db egress only to db)");
    const up = await demo.stack.up({ onOutput: (s) => process.stdout.write(s) });
    console.log(`result: ${up.summary.result}`);
    banner("after: the firewall follows the security groups");
    await printMatrix(lab, plain(declare([])));

    banner("add host 'spare' to group web: pulumi preview --diff (db-1 and db-2 change: they allow postgres from web)");
    demo.setArgs(declare(["spare"]));
    await demo.stack.preview({ diff: true, onOutput: (s) => process.stdout.write(s) });

    banner("pulumi up");
    await demo.stack.up({ onOutput: (s) => process.stdout.write(s) });
    await printMatrix(lab, plain(declare(["spare"])));

    banner("pulumi destroy: every host goes back to how it was");
    await demo.stack.destroy({ onOutput: (s) => process.stdout.write(s) });
    await demo.stack.workspace.removeStack("demo");
    await printMatrix(lab, { securityGroups: [], hosts: [] });
  } finally {
    await lab.down();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
