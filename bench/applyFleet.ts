// The fleet of the apply benchmark (npm run bench:apply): 20 lab hosts in
// tiers with group-peer rules, so every host carries a realistic ruleset, and
// two variants A/B that differ on every host (the "metrics from monitor" rule
// that every host has gains port 9101 in B).
import type { FleetDeclaration, HostDeclaration } from "../provider/declaration/declaration";
import type { Lab } from "../lab";
import { connectionTo } from "../test/support/labConnection";

export type Variant = "A" | "B";
export const other = (v: Variant): Variant => (v === "A" ? "B" : "A");

/** 1 bastion, 1 monitor, 6 web, 6 app, 4 db, 2 cache = 20 hosts. */
export const BENCH_HOSTS: readonly string[] = [
  "bastion",
  "mon",
  ...[1, 2, 3, 4, 5, 6].map((i) => `web-${i}`),
  ...[1, 2, 3, 4, 5, 6].map((i) => `app-${i}`),
  ...[1, 2, 3, 4].map((i) => `db-${i}`),
  ...[1, 2].map((i) => `cache-${i}`),
];

function groupsOf(name: string): string[] {
  const tier = name.replace(/-\d+$/, "");
  if (tier === "mon") return ["base", "monitor"];
  return ["base", tier];
}

/**
 * The declaration for variant `v`. Plain values only: the same object goes to
 * the compiler (for the bare loop, Ansible and the in-process runs) and to the
 * SDK's Fleet (for pulumi up), so every method applies byte-identical scripts.
 */
export function benchFleet(lab: Lab, v: Variant): FleetDeclaration {
  const management = [`${lab.runnerIpv4}/32`, `${lab.runnerIpv6}/128`];
  const hosts: HostDeclaration[] = BENCH_HOSTS.map((name) => {
    const h = lab.host(name);
    return {
      name,
      connection: connectionTo(lab, name),
      addresses: [h.ipv4, h.ipv6],
      securityGroups: groupsOf(name),
    };
  });
  return {
    failsafe: { cidrs: management },
    securityGroups: [
      {
        name: "base",
        description: "every host",
        ingress: [
          { protocol: "tcp", ports: 22, securityGroups: ["bastion"], description: "ssh from bastion" },
          { protocol: "tcp", ports: v === "A" ? [9100] : [9100, 9101], securityGroups: ["monitor"], description: "metrics from monitor" },
          { protocol: "icmp", cidrs: ["198.18.0.0/15"], description: "ping" },
          { protocol: "icmpv6", cidrs: ["2001:db8::/32"], description: "ping6" },
        ],
      },
      { name: "bastion", description: "jump host", ingress: [{ protocol: "tcp", ports: 22, cidrs: management, description: "ssh from management" }] },
      { name: "monitor", description: "prometheus + grafana", ingress: [{ protocol: "tcp", ports: 3000, securityGroups: ["bastion"], description: "grafana" }] },
      {
        name: "web",
        description: "public web tier",
        ingress: [{ protocol: "tcp", ports: [80, 443], cidrs: ["0.0.0.0/0", "::/0"], description: "http and https" }],
      },
      { name: "app", description: "application tier", ingress: [{ protocol: "tcp", ports: "8080-8081", securityGroups: ["web"], description: "app from web" }] },
      {
        name: "db",
        description: "database tier",
        ingress: [
          { protocol: "tcp", ports: 5432, securityGroups: ["app"], description: "postgres from app" },
          { protocol: "tcp", ports: "5432-5433", securityGroups: ["db"], description: "replication" },
        ],
        egress: [
          { protocol: "tcp", ports: "5432-5433", securityGroups: ["db"], description: "replication out" },
          { protocol: "udp", ports: 53, cidrs: ["198.18.0.0/15"], description: "dns" },
        ],
      },
      {
        name: "cache",
        description: "redis",
        ingress: [{ protocol: "tcp", ports: 6379, securityGroups: ["app", "web"], description: "redis from app and web" }],
      },
    ],
    hosts,
  };
}
