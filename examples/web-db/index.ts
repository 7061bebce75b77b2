// The web-db example: a bastion, a web tier and a db tier (see program.ts and README.md).
// Configuration (addresses of hosts you have; the key that logs in as root):
//   pulumi config set --path 'hosts' '[{"name":"bastion","address":"203.0.113.10","role":"bastion"}, ...]'
//   pulumi config set --path 'managementCidrs[0]' 198.51.100.0/24
//   pulumi config set --secret privateKey < ~/.ssh/id_ed25519
import * as pulumi from "@pulumi/pulumi";
import * as nftsg from "pulumi-nftsg";
import { webDbFleet, type WebDbHost } from "./program";

const config = new pulumi.Config();
const fleet = new nftsg.Fleet("web-db", webDbFleet({
  hosts: config.requireObject<WebDbHost[]>("hosts"),
  privateKey: config.requireSecret("privateKey"),
  extraWeb: config.getObject<string[]>("extraWeb") ?? [],
  managementCidrs: config.requireObject<string[]>("managementCidrs"),
}));

/** Per host, the hash of the ruleset it runs. */
export const rulesets = Object.fromEntries(Object.entries(fleet.attachments).map(([name, a]) => [name, a.hash]));
