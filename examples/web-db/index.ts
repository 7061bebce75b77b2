// The web-db example as a classic Pulumi program (Pulumi.yaml's main).
// Configuration:
//   pulumi config set --path 'hosts' '[{"name":"bastion","address":"198.18.1.11","role":"bastion"}, ...]'
//   pulumi config set --secret privateKey "$(cat id_ed25519)"
//   pulumi config set --path 'managementCidrs[0]' 198.18.1.1/32
import * as pulumi from "@pulumi/pulumi";
import { Fleet } from "../../index";
import { webDbFleet, type WebDbHost } from "./program";

const config = new pulumi.Config();
const fleet = new Fleet("web-db", webDbFleet({
  hosts: config.requireObject<WebDbHost[]>("hosts"),
  privateKey: config.requireSecret("privateKey"),
  extraWeb: config.getObject<string[]>("extraWeb") ?? [],
  managementCidrs: config.requireObject<string[]>("managementCidrs"),
}));

export const rulesets = Object.fromEntries(Object.entries(fleet.attachments).map(([name, a]) => [name, a.hash]));
