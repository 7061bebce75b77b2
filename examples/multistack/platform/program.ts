// The platform team's fleet: bastions and monitoring, which other stacks
// name as remote groups (docs/multistack.md).
// - bastion: SSH from the office (an address list, declared once here and
//   shared with the teams as a stack output);
// - monitoring: dashboards from the office; pushes from the team's app hosts,
//   a remote group the team stack publishes (mutual references: empty until
//   the team's first `up`, so it is declared allowEmpty);
// - the membership of both groups is published as `published`.
import type * as pulumi from "@pulumi/pulumi";
import type { FleetArgs } from "pulumi-nftsg";

export interface PlatformHost {
  name: string;
  address: string;
  address6?: string;
  role: "bastion" | "monitoring";
}

export interface PlatformConfig {
  hosts: PlatformHost[];
  privateKey: pulumi.Input<string>;
  /** Where the platform is administered from (the SSH failsafe). */
  managementCidrs: string[];
  /** The office networks: one list, named by rules here and by the teams. */
  officeCidrs: string[];
  /** The team stack's published value (its app group), if it has published yet. */
  teamPublished?: pulumi.Input<unknown>;
}

export function platformFleet(cfg: PlatformConfig): FleetArgs {
  return {
    failsafe: { cidrs: cfg.managementCidrs },
    addressLists: [{ name: "office", cidrs: cfg.officeCidrs, description: "office networks" }],
    remoteGroups: [
      { name: "team-app", group: "app", source: cfg.teamPublished, allowEmpty: true, description: "the team's app hosts (none until the team stack has published)" },
    ],
    securityGroups: [
      {
        name: "bastion",
        description: "jump hosts",
        ingress: [{ protocol: "tcp", ports: 22, addressLists: ["office"], description: "ssh from the office" }],
      },
      {
        name: "monitoring",
        description: "prometheus, grafana and a pushgateway",
        ingress: [
          { protocol: "tcp", ports: 3000, addressLists: ["office"], description: "dashboards from the office" },
          { protocol: "tcp", ports: 9091, securityGroups: ["team-app"], description: "pushes from the team's app" },
        ],
      },
    ],
    hosts: cfg.hosts.map((h) => ({
      name: h.name,
      connection: { host: h.address, user: "root", privateKey: cfg.privateKey },
      addresses: h.address6 ? [h.address, h.address6] : [h.address],
      securityGroups: [h.role],
    })),
    publish: { groups: ["bastion", "monitoring"] },
    tests: [
      { from: "list:office", to: "sg:bastion", protocol: "tcp", port: 22, expect: "allow", description: "the office reaches every bastion" },
      { from: "list:office", to: "sg:monitoring", protocol: "tcp", port: 9091, expect: "deny", description: "only the team's app pushes metrics" },
    ],
  };
}
