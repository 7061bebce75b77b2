// `npm run demo`: security groups on a local lab of real hosts.
// Brings up six hosts, runs `pulumi up` on the web-db example, prints who can
// reach whom, adds a host to `web`, shows the preview (every db host changes,
// because db allows postgres *from web*), applies it, prints the matrix again
// and destroys everything.
import { labUp, type Lab } from "../test/lab";
import { fleetStack } from "../test/support/stack";
import { repoRoot } from "../test/support/engine";
import { webDbFleet, type WebDbHost } from "./web-db/program";

const NAMES = ["bastion", "web-1", "web-2", "db-1", "db-2", "spare"];
const PORTS: { label: string; proto: "tcp"; port: number }[] = [
  { label: "ssh", proto: "tcp", port: 22 },
  { label: "http", proto: "tcp", port: 80 },
  { label: "pg", proto: "tcp", port: 5432 },
];

function banner(text: string): void {
  console.log(`\n\x1b[1m== ${text}\x1b[0m`);
}

/** Rows: sources; columns: destination hosts; cell: the ports that connect. */
async function printMatrix(lab: Lab): Promise<void> {
  const sources = ["runner", ...NAMES];
  const reqs = sources.flatMap((from) => NAMES.flatMap((to) =>
    PORTS.map((p) => ({ from, to: lab.host(to).ipv4, proto: p.proto, port: p.port }))));
  const ok = await lab.probeMany(reqs);
  const width = 14;
  console.log("from \\ to".padEnd(10) + NAMES.map((n) => n.padEnd(width)).join(""));
  let i = 0;
  for (const from of sources) {
    let row = from.padEnd(10);
    for (const _to of NAMES) {
      const open = PORTS.filter(() => ok[i++]).map((p) => p.label);
      row += (open.length ? open.join(",") : "-").padEnd(width);
    }
    console.log(row);
  }
  console.log(`(ports tried: ${PORTS.map((p) => `${p.label}=${p.proto}/${p.port}`).join(" ")}; "runner" is the management machine)`);
}

async function main(): Promise<void> {
  banner(`bringing up a lab of ${NAMES.length} hosts (network namespaces with sshd and nftables)`);
  const lab = await labUp({ hosts: NAMES.length, hostNames: NAMES });
  try {
    for (const h of lab.hosts) {
      console.log(`  ${h.name.padEnd(8)} ${h.ipv4.padEnd(14)} ${h.ipv6}`);
      await lab.listen(h.name, "tcp", PORTS.map((p) => p.port));
    }
    const hosts: WebDbHost[] = lab.hosts.map((h) => ({
      name: h.name, address: h.ipv4, address6: h.ipv6,
      role: h.name === "spare" ? "spare" : (h.name.replace(/-\d+$/, "") as WebDbHost["role"]),
    }));
    const management = [`${lab.runnerIpv4}/32`];
    const declare = (extraWeb: string[]) => webDbFleet({ hosts, privateKey: lab.privateKey, extraWeb, managementCidrs: management });

    banner("before nftsg: every port is open everywhere");
    await printMatrix(lab);

    const demo = await fleetStack(declare([]), { project: "nftsg-demo", stackName: "demo", fleetName: "web-db", workDir: repoRoot });
    banner("pulumi up: groups bastion, managed, web, db (db allows postgres from web; db egress only to db)");
    const up = await demo.stack.up({ onOutput: (s) => process.stdout.write(s) });
    console.log(`result: ${up.summary.result}`);
    banner("after: the firewall follows the security groups");
    await printMatrix(lab);

    banner("add host 'spare' to group web: pulumi preview --diff (db-1 and db-2 change: they allow postgres from web)");
    demo.setArgs(declare(["spare"]));
    await demo.stack.preview({ diff: true, onOutput: (s) => process.stdout.write(s) });

    banner("pulumi up");
    await demo.stack.up({ onOutput: (s) => process.stdout.write(s) });
    await printMatrix(lab);

    banner("pulumi destroy: every host goes back to how it was");
    await demo.stack.destroy({ onOutput: (s) => process.stdout.write(s) });
    await demo.stack.workspace.removeStack("demo");
    await printMatrix(lab);
  } finally {
    await lab.down();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
