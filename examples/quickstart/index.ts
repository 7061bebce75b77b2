// Two hosts you already have: "web" serves HTTP and HTTPS to everyone, "db"
// accepts PostgreSQL from web only. SSH stays open (the failsafe). Configuration:
//   pulumi config set webAddress 203.0.113.10
//   pulumi config set dbAddress 203.0.113.20
//   pulumi config set --secret privateKey < ~/.ssh/id_ed25519
import * as pulumi from "@pulumi/pulumi";
import * as nftsg from "pulumi-nftsg";

const config = new pulumi.Config();
const connection = (address: string): nftsg.ConnectionArgs => ({
  host: address,
  user: config.get("user") ?? "root",
  privateKey: config.requireSecret("privateKey"),
});

const fleet = new nftsg.Fleet("quickstart", {
  securityGroups: [
    { name: "web", ingress: [{ protocol: "tcp", ports: [80, 443], cidrs: ["0.0.0.0/0", "::/0"], description: "http and https" }] },
    { name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["web"], description: "postgres from web" }] },
  ],
  hosts: [
    { name: "web", connection: connection(config.require("webAddress")), securityGroups: ["web"] },
    { name: "db", connection: connection(config.require("dbAddress")), securityGroups: ["db"] },
  ],
});

/** Per host, the hash of the ruleset it runs. */
export const rulesets = Object.fromEntries(Object.entries(fleet.attachments).map(([name, a]) => [name, a.hash]));
