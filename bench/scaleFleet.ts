// The fleet shape of the scale benchmark (issue 8): tiers (bastion, web, app,
// db; db allows from app, app from web, every host allows SSH from the
// bastion) and, optionally, one group whose members all talk to each other
// (a gossip/cluster pool: Consul, Nomad, a Kubernetes node pool). Pure.
import type { FleetArgs, HostArgs } from "../sdk/inputs";

export interface ScaleHost {
  name: string;
  /** Where its SSH server is reached. */
  connection: HostArgs["connection"];
  addresses: string[];
}

/** Spaced addresses (every 4th), so member sets cannot collapse into ranges. */
export function spacedAddresses(i: number): string[] {
  const v4 = 0xc6120000 + 10 + 4 * i; // 198.18.0.0/15
  const quad = [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join(".");
  return [quad, `2001:db8::${(10 + 4 * i).toString(16)}`];
}

/** Tier of host i of n: 2 bastions, then 10% db, 30% app, the rest web. */
export function tierOf(i: number, n: number): "bastion" | "db" | "app" | "web" {
  if (i < 2) return "bastion";
  if (i < 2 + Math.max(1, Math.floor(n * 0.1))) return "db";
  if (i < 2 + Math.max(1, Math.floor(n * 0.1)) + Math.max(1, Math.floor(n * 0.3))) return "app";
  return "web";
}

export function hostName(i: number, n: number): string {
  return `${tierOf(i, n)}-${String(i).padStart(4, "0")}`;
}

/** The declaration for these hosts; `allToAll` adds the gossip group with every host but the bastions in it. */
export function scaleFleet(hosts: ScaleHost[], allToAll: boolean): FleetArgs {
  const n = hosts.length;
  return {
    securityGroups: [
      { name: "managed", ingress: [{ protocol: "tcp", ports: 22, securityGroups: ["bastion"], description: "ssh from the bastion" }] },
      { name: "bastion", ingress: [{ protocol: "tcp", ports: 22, cidrs: ["0.0.0.0/0", "::/0"], description: "ssh from anywhere" }] },
      { name: "web", ingress: [{ protocol: "tcp", ports: [80, 443], cidrs: ["0.0.0.0/0", "::/0"], description: "http" }] },
      { name: "app", ingress: [{ protocol: "tcp", ports: 8080, securityGroups: ["web"], description: "api from web" }] },
      { name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["app"], description: "postgres from app" }] },
      ...(allToAll
        ? [{
            name: "gossip",
            ingress: [
              { protocol: "tcp" as const, ports: [8300, 8301], securityGroups: ["gossip"], description: "serf and rpc" },
              { protocol: "udp" as const, ports: 8301, securityGroups: ["gossip"], description: "serf lan" },
            ],
          }]
        : []),
    ],
    hosts: hosts.map((h, i) => ({
      name: h.name,
      connection: h.connection,
      addresses: h.addresses,
      // The bastions stay out of the pool: a change to it must leave them alone.
      securityGroups: tierOf(i, n) === "bastion" ? ["bastion"] : [tierOf(i, n), "managed", ...(allToAll ? ["gossip"] : [])],
    })),
  };
}

/** n hosts that are never contacted (preview and compile only). */
export function syntheticHosts(n: number): ScaleHost[] {
  return Array.from({ length: n }, (_, i) => {
    const addresses = spacedAddresses(i);
    return { name: hostName(i, n), connection: { host: addresses[0]!, user: "root" }, addresses };
  });
}
