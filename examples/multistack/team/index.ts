// The team stack (see program.ts and ../README.md). Configuration:
//   pulumi config set --path hosts '[{"name":"app-1","address":"203.0.113.21"}, ...]'
//   pulumi config set --path 'managementCidrs[0]' 198.51.100.0/24
//   pulumi config set --secret privateKey < ~/.ssh/id_ed25519
// and where to read the platform stack's outputs (published, officeCidrs):
//   pulumi config set platformStack organization/nftsg-platform/prod              (the same backend: a StackReference)
//   pulumi config set platformOutputs "$(pulumi -C ../platform stack output --json)"  (any backend: its outputs as JSON)
import * as pulumi from "@pulumi/pulumi";
import * as nftsg from "pulumi-nftsg";
import { teamFleet, type TeamHost } from "./program";

const config = new pulumi.Config();
const platformStack = config.get("platformStack");
let platformPublished: pulumi.Input<unknown>;
let officeCidrs: pulumi.Input<string[]>;
if (platformStack) {
  const platform = new pulumi.StackReference(platformStack);
  platformPublished = platform.getOutput("published");
  officeCidrs = platform.getOutput("officeCidrs");
} else {
  const outputs = config.requireObject<{ published?: unknown; officeCidrs?: string[] }>("platformOutputs");
  platformPublished = outputs.published; // missing: the Fleet's check says so, with the fix
  if (!outputs.officeCidrs) throw new Error("platformOutputs has no officeCidrs: set it to the platform stack's outputs (pulumi stack output --json)");
  officeCidrs = outputs.officeCidrs;
}

const fleet = new nftsg.Fleet("team", teamFleet({
  hosts: config.requireObject<TeamHost[]>("hosts"),
  privateKey: config.requireSecret("privateKey"),
  managementCidrs: config.requireObject<string[]>("managementCidrs"),
  platformPublished,
  officeCidrs,
}));

/** The app group's members, for the platform's remote group team-app. */
export const published = fleet.published;
