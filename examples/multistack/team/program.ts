// A product team's fleet (docs/multistack.md): its app hosts are reached from
// the platform stack's bastion and monitoring, remote groups read from the
// platform's published value, and from the office, the platform's address
// list. It publishes its own app group, which the platform names back.
import type * as pulumi from "@pulumi/pulumi";
import type { FleetArgs } from "pulumi-nftsg";

export interface TeamHost {
  name: string;
  address: string;
  address6?: string;
}

export interface TeamConfig {
  hosts: TeamHost[];
  privateKey: pulumi.Input<string>;
  managementCidrs: string[];
  /** The platform stack's `published` output. */
  platformPublished: pulumi.Input<unknown>;
  /** The platform stack's `officeCidrs` output. */
  officeCidrs: pulumi.Input<string[]>;
}

export function teamFleet(cfg: TeamConfig): FleetArgs {
  return {
    failsafe: { cidrs: cfg.managementCidrs },
    addressLists: [{ name: "office", cidrs: cfg.officeCidrs, description: "office networks (the platform's list)" }],
    remoteGroups: [
      { name: "platform-bastion", group: "bastion", source: cfg.platformPublished, description: "the platform's jump hosts" },
      { name: "platform-monitoring", group: "monitoring", source: cfg.platformPublished, description: "the platform's prometheus" },
    ],
    securityGroups: [
      {
        name: "app",
        description: "the team's application",
        ingress: [
          { protocol: "tcp", ports: 22, securityGroups: ["platform-bastion"], description: "ssh from the platform's bastion" },
          { protocol: "tcp", ports: 9100, securityGroups: ["platform-monitoring"], description: "metrics for the platform's prometheus" },
          { protocol: "tcp", ports: 443, addressLists: ["office"], description: "https from the office" },
        ],
      },
    ],
    hosts: cfg.hosts.map((h) => ({
      name: h.name,
      connection: { host: h.address, user: "root", privateKey: cfg.privateKey },
      addresses: h.address6 ? [h.address, h.address6] : [h.address],
      securityGroups: ["app"],
    })),
    publish: { groups: ["app"] },
    tests: [
      { from: "sg:platform-bastion", to: "sg:app", protocol: "tcp", port: 22, expect: "allow", description: "the platform's bastion reaches every app host" },
      { from: "list:office", to: "sg:app", protocol: "tcp", port: 443, expect: "allow", description: "the office reaches the app" },
      { from: "list:office", to: "sg:app", protocol: "tcp", port: 22, expect: "deny", description: "ssh only through the bastion" },
    ],
  };
}
