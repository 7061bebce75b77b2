// The web/db fleets the end-to-end tests declare over lab hosts:
// - webDbFleet: the smallest one, a web group and a db group that accepts
//   postgres from web, in the variants the tests need;
// - webDbExampleHosts: the lab's hosts as examples/web-db's program takes
//   them (bastion, web and db tiers, a spare).
import type * as pulumi from "@pulumi/pulumi";
import type { Lab } from "../../lab";
import type { WebDbHost } from "../../examples/web-db/program";
import type { FleetArgs, HostArgs, SecurityGroupArgs } from "../../sdk/inputs";
import { connectionAt, connectionTo } from "./labConnection";

export interface WebDbOptions {
  /**
   * The declared hosts, in this order: a lab host name, or [declared name,
   * lab host]. A host joins the group its name starts with: web-1 joins web,
   * db-1 db, cache-1 cache.
   */
  hosts: readonly (string | readonly [name: string, labHost: string])[];
  /** web's public rule, tcp from 0.0.0.0/0: "http" (80 and 443, the default), "https" (443), or "none" (web has no rule). */
  web?: "http" | "https" | "none";
  /** db accepts postgres from web (the default); false leaves db without rules. */
  postgres?: boolean;
  /** More groups, after web and db. */
  extraGroups?: SecurityGroupArgs[];
  /** Declare each host's IPv4 and IPv6 addresses (default: its connection address only). */
  addresses?: boolean;
  /** A host's groups other than by its name (e.g. a web host taken out of web: []). */
  groups?: Record<string, string[]>;
  /** A web host "web-2" at an address that may be unknown at preview (see unknownAtPreview). */
  newWebHost?: pulumi.Input<string>;
}

const webRules = (web: "http" | "https"): SecurityGroupArgs["ingress"] =>
  web === "http"
    ? [{ protocol: "tcp", ports: [80, 443], cidrs: ["0.0.0.0/0"], description: "http" }]
    : [{ protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0"], description: "https" }];

export function webDbFleet(lab: Lab, opts: WebDbOptions): FleetArgs {
  const web = opts.web ?? "http";
  const hosts: HostArgs[] = opts.hosts.map((h) => {
    const [name, labHost] = typeof h === "string" ? [h, h] : h;
    return {
      name,
      connection: connectionTo(lab, labHost),
      ...(opts.addresses ? { addresses: [lab.host(labHost).ipv4, lab.host(labHost).ipv6] } : {}),
      securityGroups: opts.groups?.[name] ?? [name.replace(/-\d+$/, "")],
    };
  });
  if (opts.newWebHost !== undefined) hosts.push({ name: "web-2", connection: connectionAt(lab, opts.newWebHost), securityGroups: ["web"] });
  return {
    securityGroups: [
      web === "none" ? { name: "web" } : { name: "web", ingress: webRules(web) },
      {
        name: "db",
        ingress: opts.postgres === false ? [] : [{ protocol: "tcp", ports: 5432, securityGroups: ["web"], description: "postgres from web" }],
      },
      ...(opts.extraGroups ?? []),
    ],
    hosts,
  };
}

/** The lab's hosts for examples/web-db's program: the role is the name without its number (web-1: web); "spare" has none. */
export function webDbExampleHosts(lab: Lab, opts: { ipv6?: boolean } = {}): WebDbHost[] {
  return lab.hosts.map((h) => ({
    name: h.name,
    address: h.ipv4,
    ...(opts.ipv6 === false ? {} : { address6: h.ipv6 }),
    role: h.name === "spare" ? "spare" : (h.name.replace(/-\d+$/, "") as WebDbHost["role"]),
  }));
}
