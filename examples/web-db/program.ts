// The web-db example: a bastion, a web tier and a db tier.
// - bastion: SSH from the management network only;
// - web: HTTP/HTTPS from anywhere, SSH from the bastion;
// - db: PostgreSQL from web members only, SSH from the bastion; db members
//   replicate to each other (a group that references itself);
// - db hosts may only talk to other db hosts on egress (an egress-restricted group).
// Policy tests state what must hold; a change that breaks one fails at preview.
import type * as pulumi from "@pulumi/pulumi";
import type { FleetArgs, HostArgs } from "pulumi-nftsg";

export interface WebDbHost {
  name: string;
  address: string;
  address6?: string;
  role: "bastion" | "web" | "db" | "spare";
}

export interface WebDbConfig {
  hosts: WebDbHost[];
  privateKey: pulumi.Input<string>;
  /** Hosts (by name) to add to the web tier on top of those with role "web". */
  extraWeb?: string[];
  /** Management network allowed to reach the bastion (and the SSH failsafe). */
  managementCidrs: string[];
}

export function webDbFleet(cfg: WebDbConfig): FleetArgs {
  const groupsOf = (h: WebDbHost): string[] => {
    if (h.role === "spare") return cfg.extraWeb?.includes(h.name) ? ["web"] : [];
    if (h.role === "web" || cfg.extraWeb?.includes(h.name)) return ["web", "managed"];
    return h.role === "bastion" ? ["bastion"] : ["db", "managed"];
  };
  const hosts: HostArgs[] = cfg.hosts.map((h) => ({
    name: h.name,
    connection: { host: h.address, user: "root", privateKey: cfg.privateKey },
    addresses: h.address6 ? [h.address, h.address6] : [h.address],
    securityGroups: groupsOf(h),
  }));
  return {
    failsafe: { cidrs: cfg.managementCidrs },
    securityGroups: [
      {
        name: "bastion",
        description: "jump host",
        ingress: [{ protocol: "tcp", ports: 22, cidrs: cfg.managementCidrs, description: "ssh from management" }],
      },
      {
        name: "managed",
        description: "hosts administered through the bastion",
        ingress: [{ protocol: "tcp", ports: 22, securityGroups: ["bastion"], description: "ssh from bastion" }],
      },
      {
        name: "web",
        description: "public web tier",
        ingress: [
          { protocol: "tcp", ports: [80, 443], cidrs: ["0.0.0.0/0", "::/0"], description: "http and https" },
          { protocol: "icmp", cidrs: ["0.0.0.0/0"], description: "ping" },
          { protocol: "icmpv6", cidrs: ["::/0"], description: "ping6" },
        ],
      },
      {
        name: "db",
        description: "database tier",
        ingress: [
          { protocol: "tcp", ports: 5432, securityGroups: ["web"], description: "postgres from web" },
          { protocol: "tcp", ports: "5432-5433", securityGroups: ["db"], description: "replication between db members" },
        ],
        egress: [
          { protocol: "tcp", ports: "5432-5433", securityGroups: ["db"], description: "replication to db members" },
        ],
      },
    ],
    hosts,
    tests: [
      { from: "sg:web", to: "sg:db", protocol: "tcp", port: 5432, expect: "allow", description: "every web host reaches postgres on every db host" },
      { from: "0.0.0.0/0", to: "sg:db", protocol: "tcp", port: 5432, expect: "deny", description: "postgres is not reachable from the internet" },
      { from: "sg:bastion", to: "sg:managed", protocol: "tcp", port: 22, expect: "allow", description: "the bastion reaches every managed host over ssh" },
      { from: "0.0.0.0/0", to: "sg:web", protocol: "tcp", port: 443, expect: "allow", description: "the web tier serves https to the internet" },
      { from: "sg:db", to: "0.0.0.0/0", protocol: "tcp", port: 443, expect: "deny", description: "db hosts cannot call out" },
    ],
  };
}
