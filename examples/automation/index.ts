// The web-db example driven programmatically: the Automation API with an
// inline program and a local file backend, as a platform team would embed
// nftsg in its own tooling.
//
//   node dist/examples/automation/index.js <up|preview|refresh|destroy> <fleet.json>
//
// fleet.json: { "hosts": [{ "name", "address", "address6"?, "role" }], "privateKeyPath",
//               "managementCidrs": [...], "extraWeb"?: [...] }
// Environment: PULUMI_BACKEND_URL (default file://./.pulumi-state),
// PULUMI_CONFIG_PASSPHRASE (required for the local backend), NFTSG_PULUMI_ROOT
// (directory holding bin/pulumi; default: `pulumi` on PATH).
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import * as pulumi from "@pulumi/pulumi";
import { Fleet } from "../../index";
import { webDbFleet, type WebDbHost } from "../web-db/program";

interface FleetFile {
  hosts: WebDbHost[];
  privateKeyPath: string;
  managementCidrs: string[];
  extraWeb?: string[];
}

export async function openStack(file: FleetFile, stackName = "automation"): Promise<Stack> {
  const privateKey = fs.readFileSync(file.privateKeyPath, "utf8");
  const program = async () => {
    const fleet = new Fleet("web-db", webDbFleet({
      hosts: file.hosts,
      // A secret from the start: it stays one in state and outputs.
      privateKey: pulumi.secret(privateKey),
      extraWeb: file.extraWeb ?? [],
      managementCidrs: file.managementCidrs,
    }));
    return { rulesets: Object.fromEntries(Object.entries(fleet.attachments).map(([n, a]) => [n, a.hash])) };
  };
  const root = process.env.NFTSG_PULUMI_ROOT;
  const pulumiCommand = root ? await PulumiCommand.get({ root, skipVersionCheck: true }) : undefined;
  const backend = process.env.PULUMI_BACKEND_URL ?? `file://${path.resolve(".pulumi-state")}`;
  if (backend.startsWith("file://")) fs.mkdirSync(backend.slice("file://".length), { recursive: true });
  return LocalWorkspace.createOrSelectStack(
    { stackName, projectName: "nftsg-automation", program },
    {
      pulumiCommand,
      envVars: {
        // The dynamic-provider plugin script resolves @pulumi/pulumi from the
        // engine's working directory (a temporary one for inline programs):
        // point Node.js at the node_modules this program runs from.
        NODE_PATH: path.resolve(require.resolve("@pulumi/pulumi/package.json"), "../../.."),
        PULUMI_BACKEND_URL: backend,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      },
    },
  );
}

async function main(): Promise<void> {
  const [command, fleetPath] = process.argv.slice(2);
  if (!command || !fleetPath || !["up", "preview", "refresh", "destroy"].includes(command)) {
    console.error("usage: automation <up|preview|refresh|destroy> <fleet.json>");
    process.exit(2);
  }
  const stack = await openStack(JSON.parse(fs.readFileSync(fleetPath, "utf8")) as FleetFile);
  const onOutput = (s: string) => process.stdout.write(s);
  switch (command) {
    case "up": {
      const r = await stack.up({ onOutput, continueOnError: true });
      console.log(`\nresult: ${r.summary.result}; ${JSON.stringify(r.summary.resourceChanges)}`);
      break;
    }
    case "preview": {
      const r = await stack.preview({ onOutput, diff: true });
      console.log(`\nchanges: ${JSON.stringify(r.changeSummary)}`);
      break;
    }
    case "refresh":
      await stack.refresh({ onOutput });
      break;
    case "destroy":
      await stack.destroy({ onOutput });
      break;
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
