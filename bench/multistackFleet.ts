// The fleets of the many-stacks benchmark (issue 18, bench/multistack.ts).
// Pure: plain FleetArgs; the program puts each remote group's source (a
// StackReference output) in.
//
// - The platform: bastions and monitoring hosts; the bastions take SSH from
//   the office, the monitoring hosts dashboards from the office and SSH from
//   the bastions; both groups published (`publish`).
// - A consumer (a product team's stack of n hosts): tiers as in the scale
//   benchmark without bastions of its own (10% db, 30% app, the rest web; db
//   allows 5432 from app, app 8080 from web, web 80/443 from anywhere); every
//   host takes metrics (tcp/9100) from the platform's monitoring, and the app
//   and db hosts take SSH from the platform's bastions (the web tier is
//   immutable: no SSH). So a new bastion reaches exactly the app and db hosts
//   of every consumer, a new monitoring host every host.
import type { FleetArgs, RemoteGroupArgs } from "../sdk/inputs";
import { spacedAddresses } from "./scaleFleet";

export const PLATFORM_PROJECT = "nftsg-platform";
export const PLATFORM_STACK_NAME = "prod";
/** How consumers name the platform's stack (the file backend's organization is "organization"). */
export const PLATFORM_STACK = `organization/${PLATFORM_PROJECT}/${PLATFORM_STACK_NAME}`;
export const CONSUMER_PROJECT = "nftsg-team";

export interface PlatformSize {
  bastions: number;
  monitoring: number;
}

/** The j-th platform host's addresses (198.51.100.0/24, 2001:db8:100::/64): apart from every consumer's. */
export function platformAddresses(j: number): string[] {
  return [`198.51.100.${10 + j}`, `2001:db8:100::${(10 + j).toString(16)}`];
}

export interface PlatformHost {
  name: string;
  role: "bastion" | "monitoring";
  addresses: string[];
}

export function platformHosts(size: PlatformSize): PlatformHost[] {
  const out: PlatformHost[] = [];
  // Addresses by role and index, so a host keeps its address when others join.
  for (let b = 0; b < size.bastions; b++) out.push({ name: `bastion-${b + 1}`, role: "bastion", addresses: platformAddresses(b) });
  for (let m = 0; m < size.monitoring; m++) out.push({ name: `mon-${m + 1}`, role: "monitoring", addresses: platformAddresses(100 + m) });
  return out;
}

export function platformFleet(size: PlatformSize): FleetArgs {
  return {
    securityGroups: [
      { name: "bastion", description: "jump hosts", ingress: [{ protocol: "tcp", ports: 22, cidrs: ["192.0.2.0/24"], description: "ssh from the office" }] },
      {
        name: "monitoring",
        description: "prometheus and grafana",
        ingress: [
          { protocol: "tcp", ports: 3000, cidrs: ["192.0.2.0/24"], description: "dashboards from the office" },
          { protocol: "tcp", ports: 22, securityGroups: ["bastion"], description: "ssh from the bastions" },
        ],
      },
    ],
    hosts: platformHosts(size).map((h) => ({
      name: h.name,
      connection: { host: h.addresses[0]!, user: "root" },
      addresses: h.addresses,
      securityGroups: [h.role],
    })),
    publish: { groups: ["bastion", "monitoring"] },
  };
}

export type ConsumerTier = "db" | "app" | "web";

/** Tier of host i of n: 10% db, 30% app, the rest web. */
export function consumerTier(i: number, n: number): ConsumerTier {
  const db = Math.max(1, Math.floor(n * 0.1));
  const app = Math.max(1, Math.floor(n * 0.3));
  return i < db ? "db" : i < db + app ? "app" : "web";
}

/** The groups of host i of n: its tier, metrics, and SSH from the bastions unless web. */
export function consumerGroups(i: number, n: number): string[] {
  const tier = consumerTier(i, n);
  return tier === "web" ? [tier, "metrics"] : [tier, "metrics", "ssh"];
}

export const consumerHostName = (i: number, n: number) => `${consumerTier(i, n)}-${String(i).padStart(4, "0")}`;

/** The remote groups a consumer declares; `source` is filled in by the program (a StackReference output). */
export const CONSUMER_REMOTE_GROUPS: Omit<RemoteGroupArgs, "source">[] = [
  { name: "platform-bastion", group: "bastion", description: "the platform's jump hosts" },
  { name: "platform-monitoring", group: "monitoring", description: "the platform's prometheus" },
];

/** Consumer k of n hosts; addresses unique over all consumers (k*n + i in the scale benchmark's spaced range). */
export function consumerFleet(k: number, n: number): FleetArgs & { remoteGroups: Omit<RemoteGroupArgs, "source">[] } {
  return {
    remoteGroups: CONSUMER_REMOTE_GROUPS,
    securityGroups: [
      { name: "metrics", ingress: [{ protocol: "tcp", ports: 9100, securityGroups: ["platform-monitoring"], description: "metrics for the platform's prometheus" }] },
      { name: "ssh", ingress: [{ protocol: "tcp", ports: 22, securityGroups: ["platform-bastion"], description: "ssh from the platform's bastions" }] },
      { name: "web", ingress: [{ protocol: "tcp", ports: [80, 443], cidrs: ["0.0.0.0/0", "::/0"], description: "http" }] },
      { name: "app", ingress: [{ protocol: "tcp", ports: 8080, securityGroups: ["web"], description: "api from web" }] },
      { name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["app"], description: "postgres from app" }] },
    ],
    hosts: Array.from({ length: n }, (_, i) => {
      const addresses = spacedAddresses(k * n + i);
      return { name: consumerHostName(i, n), connection: { host: addresses[0]!, user: "root" }, addresses, securityGroups: consumerGroups(i, n) };
    }),
  } as FleetArgs & { remoteGroups: Omit<RemoteGroupArgs, "source">[] };
}
