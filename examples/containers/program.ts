// The containers example: a host running Docker publishes a container's
// port (`docker run -p 8080:80`). The group `app` allows that published port
// only from members of `web`; everyone else is dropped, although Docker's own
// rules would let the whole network in. The container's egress follows the
// host's egress rules (only HTTPS out, and DNS to the resolvers), and it still
// reaches services on its host over the Docker bridge.
import type * as pulumi from "@pulumi/pulumi";
import type { FleetArgs } from "../../sdk/inputs";

export interface ContainersConfig {
  /** The Docker host and a web host that may use the published port. */
  dockerHost: { name: string; address: string };
  webHost: { name: string; address: string };
  privateKey: pulumi.Input<string>;
  /** The published (host) port of the container. */
  publishedPort: number;
  /** Resolvers the host and its containers may query. */
  resolvers: string[];
}

export function containersFleet(cfg: ContainersConfig): FleetArgs {
  const connection = (address: string) => ({ host: address, user: "root", privateKey: cfg.privateKey });
  return {
    // The defaults, spelled out: published ports follow the ingress rules,
    // container egress follows the egress rules, these bridges are local.
    containers: { publishedPorts: true, egress: true, interfaces: ["docker0", "br-*"] },
    securityGroups: [
      { name: "web", description: "web servers" },
      {
        name: "app",
        description: "hosts running the app container",
        ingress: [{ protocol: "tcp", ports: cfg.publishedPort, securityGroups: ["web"], description: "the app's published port, from web" }],
        egress: [
          { protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0", "::/0"], description: "https out" },
          { protocol: "udp", ports: 53, cidrs: cfg.resolvers, description: "dns" },
        ],
      },
    ],
    hosts: [
      { name: cfg.dockerHost.name, connection: connection(cfg.dockerHost.address), securityGroups: ["app"] },
      { name: cfg.webHost.name, connection: connection(cfg.webHost.address), securityGroups: ["web"] },
    ],
  };
}
