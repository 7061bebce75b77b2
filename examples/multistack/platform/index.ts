// The platform stack (see program.ts and ../README.md). Configuration:
//   pulumi config set --path hosts '[{"name":"bastion-1","address":"203.0.113.10","role":"bastion"}, ...]'
//   pulumi config set --path 'managementCidrs[0]' 198.51.100.0/24
//   pulumi config set --path 'officeCidrs[0]' 192.0.2.0/24
//   pulumi config set --secret privateKey < ~/.ssh/id_ed25519
// and, once the team stack has published, where to read its value:
//   pulumi config set teamStack organization/nftsg-team/prod          (the same backend: a StackReference)
//   pulumi config set teamOutputs "$(pulumi -C ../team stack output --json)"   (any backend: its outputs as JSON)
import * as pulumi from "@pulumi/pulumi";
import * as nftsg from "pulumi-nftsg";
import { platformFleet, type PlatformHost } from "./program";

const config = new pulumi.Config();
const teamStack = config.get("teamStack");
const teamPublished = teamStack
  ? new pulumi.StackReference(teamStack).getOutput("published")
  : config.getObject<{ published?: unknown }>("teamOutputs")?.published;
const officeCidrs = config.requireObject<string[]>("officeCidrs");

const fleet = new nftsg.Fleet("platform", platformFleet({
  hosts: config.requireObject<PlatformHost[]>("hosts"),
  privateKey: config.requireSecret("privateKey"),
  managementCidrs: config.requireObject<string[]>("managementCidrs"),
  officeCidrs,
  teamPublished,
}));

/** The bastion and monitoring groups' members, for other stacks' remoteGroups. */
export const published = fleet.published;
/** The office list, for other stacks' addressLists. */
export { officeCidrs };
