// `npm run demo:containers`: a published Docker port protected by a group,
// with real Docker in a lab host and the real Pulumi CLI.
// Brings up three hosts, starts dockerd inside docker-1 with a container
// publishing 8080 -> 80, shows that the published port is open to everyone,
// runs `pulumi up` with the containers example, shows that only web-1 gets
// in, prints what the Attachment reports about Docker's own chains, and
// destroys everything.
import { labUp, type Lab } from "../../lab";
import { fleetStack } from "../../test/support/stack";
import { startDocker } from "../../test/support/dockerLab";
import { containersFleet } from "./program";

const PUBLISHED = 8080;

function banner(text: string): void {
  console.log(`\n\x1b[1m== ${text}\x1b[0m`);
}

async function printReach(lab: Lab): Promise<void> {
  const target = lab.host("docker-1").ipv4;
  const from = ["web-1", "other-1", "runner"];
  const ok = await lab.probeMany(from.map((f) => ({ from: f, to: target, proto: "tcp" as const, port: PUBLISHED, timeoutMs: 1000 })));
  from.forEach((f, i) => console.log(`  ${f.padEnd(8)} -> docker-1:${PUBLISHED} (container port 80)  ${ok[i] ? "open" : "dropped"}`));
}

async function main(): Promise<void> {
  banner("bringing up a lab: docker-1 (runs Docker), web-1, other-1");
  const lab = await labUp({ hosts: 3, hostNames: ["docker-1", "web-1", "other-1"] });
  const docker = await startDocker(lab, "docker-1").catch(async (e: unknown) => {
    await lab.down();
    throw e;
  });
  try {
    const app = await docker.runAgentContainer("app", [`${PUBLISHED}:80/tcp`]);
    await app.request("listen", { proto: "tcp", ports: [80] }, 10_000);
    console.log(await docker.docker(["ps", "--format", "{{.Names}}  {{.Image}}  {{.Ports}}"]));

    banner("before nftsg: Docker publishes the port to everyone");
    await printReach(lab);

    const args = containersFleet({
      dockerHost: { name: "docker-1", address: lab.host("docker-1").ipv4 },
      webHost: { name: "web-1", address: lab.host("web-1").ipv4 },
      privateKey: lab.privateKey,
      publishedPort: PUBLISHED,
      resolvers: [`${lab.runnerIpv4}/32`],
    });
    const demo = await fleetStack(args, { project: "nftsg-containers-demo", stackName: "demo", fleetName: "containers" });
    banner("pulumi up: group app allows the published port only from web");
    const up = await demo.stack.up({ onOutput: (s) => process.stdout.write(s) });
    console.log(`result: ${up.summary.result}`);

    banner("after: the published port follows the security group");
    await printReach(lab);

    banner("what the Attachment of docker-1 reports about other firewalls (outputs otherFirewalls, firewallWarnings)");
    const state = await demo.stack.exportStack();
    const resources = (state.deployment as { resources: { type: string; urn: string; outputs?: Record<string, unknown> }[] }).resources;
    const att = resources.find((r) => r.type.endsWith("nftsg:Attachment") && r.urn.endsWith("docker-1"));
    console.log(JSON.stringify({ otherFirewalls: att?.outputs?.otherFirewalls, firewallWarnings: att?.outputs?.firewallWarnings }, null, 2));

    banner("pulumi destroy");
    await demo.stack.destroy({ onOutput: (s) => process.stdout.write(s) });
    await demo.stack.workspace.removeStack("demo");
    await printReach(lab);
  } finally {
    try {
      await docker.stop();
    } finally {
      await lab.down();
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
