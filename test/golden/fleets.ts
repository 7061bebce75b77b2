// The fleets whose compiled scripts are pinned in test/golden/*.nft.
// Regenerate after an intended change with UPDATE_GOLDEN=1 npx vitest run test/unit/golden.test.ts
// and review the diff by eye.

import type { FleetDeclaration } from "../../provider/declaration/declaration";
import { generateFleet } from "../support/fleetGen";

export interface GoldenFleet {
  name: string;
  decl: FleetDeclaration;
  owner?: string;
}

/** The classic: public web tier, database tier reachable from web, office SSH. */
const webDb: FleetDeclaration = {
  securityGroups: [
    {
      name: "web",
      description: "public web servers",
      ingress: [
        { protocol: "tcp", ports: [80, 443], cidrs: ["0.0.0.0/0", "::/0"], description: "http and https from anywhere" },
        { protocol: "icmp", icmpType: 8, cidrs: ["0.0.0.0/0"], description: "ping" },
        { protocol: "icmpv6", icmpType: 128, cidrs: ["::/0"], description: "ping6" },
      ],
    },
    {
      name: "db",
      description: "databases",
      ingress: [
        { protocol: "tcp", ports: 5432, securityGroups: ["web"], description: "postgres from web" },
        { protocol: "tcp", ports: 5432, securityGroups: ["db"], description: "replication" },
      ],
    },
    {
      name: "admin",
      ingress: [{ protocol: "tcp", ports: "22", cidrs: ["198.51.100.0/24", "2001:db8:ffff::/48"], description: "ssh from the office" }],
    },
  ],
  hosts: [
    { name: "web-1", connection: { host: "198.18.0.11" }, addresses: ["198.18.0.11", "2001:db8::11"], securityGroups: ["web", "admin"] },
    { name: "web-2", connection: { host: "198.18.0.12" }, addresses: ["198.18.0.12", "2001:db8::12"], securityGroups: ["web", "admin"] },
    { name: "db-1", connection: { host: "198.18.0.21", port: 2222 }, securityGroups: ["db", "admin"] },
    { name: "db-2", connection: { host: "198.18.0.22" }, securityGroups: ["db"] },
  ],
};

/** Mutual and self references, an egress-locked host, every protocol, narrowed failsafe, owner, custom table. */
const mesh: FleetDeclaration = {
  table: "edge_fw",
  failsafe: { cidrs: ["198.18.0.0/15", "2001:db8::/32", "192.0.2.0/24"] },
  securityGroups: [
    {
      name: "app",
      ingress: [
        { protocol: "tcp", ports: "8000-8100", securityGroups: ["worker"], description: "api from workers" },
        { protocol: "udp", ports: [53, "5000-5010", 5011], securityGroups: ["app"] },
        { protocol: "sctp", ports: 9899, securityGroups: ["worker"] },
        { protocol: "all", securityGroups: ["app"], description: "app cluster talks freely" },
      ],
    },
    {
      name: "worker",
      ingress: [
        { protocol: "tcp", ports: 9000, securityGroups: ["app"], description: "jobs from app" },
        { protocol: "esp", securityGroups: ["app"] },
        { protocol: "ah", securityGroups: ["app"] },
        { protocol: "gre", securityGroups: ["worker"] },
        { protocol: "icmp", securityGroups: ["app", "worker"], description: "ping within the mesh" },
        { protocol: "icmpv6", icmpType: 1, icmpCode: 4, securityGroups: ["app"], description: "port unreachable" },
      ],
    },
    {
      name: "locked",
      description: "may only talk to what is listed",
      ingress: [{ protocol: "tcp", ports: 22, securityGroups: ["app"] }],
      egress: [
        { protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0"], description: "https out (IPv4 only)" },
        { protocol: "udp", ports: 53, cidrs: ["198.18.0.0/15", "2001:db8::/32"], description: "dns" },
        { protocol: "tcp", ports: 5432, securityGroups: ["app"], description: "postgres on app" },
        { protocol: "icmp", icmpType: 8, cidrs: ["198.18.0.0/15"] },
      ],
    },
  ],
  hosts: [
    { name: "app-1", connection: { host: "198.18.1.1" }, addresses: ["198.18.1.1", "2001:db8:1::1"], securityGroups: ["app"] },
    { name: "app-2", connection: { host: "198.18.1.2" }, addresses: ["198.18.1.2", "2001:db8:1::2"], securityGroups: ["app", "worker"] },
    { name: "worker-1", connection: { host: "2001:db8:2::1", port: 2200 }, securityGroups: ["worker"] },
    { name: "worker-2", connection: { host: "198.18.2.2" }, securityGroups: ["worker"] },
    { name: "locked-1", connection: { host: "198.18.3.1" }, addresses: ["198.18.3.1", "2001:db8:3::1"], securityGroups: ["locked"] },
  ],
};

/** Normalisation and corner cases. */
const edges: FleetDeclaration = {
  failsafe: { ssh: false },
  securityGroups: [
    {
      name: "edge",
      ingress: [
        {
          protocol: "tcp",
          ports: [22, "20-21", 23, 80, 443, "8000-8080", 8081, 9000, "9100-9200", 10000, 65535, "1-5"],
          cidrs: ["10.0.0.0/8", "10.1.0.0/16", "10.0.0.0/8", "11.0.0.0/8", "12.0.1.0/24", "12.0.2.0/24", "192.0.2.7", "64:ff9b::/96", "::/127", "2001:db8::/33", "2001:db8:8000::/33"],
          description: 'merged: "quoted" text, ünïcödé, and a description long enough that the nft comment must be cut at one hundred and twenty-eight bytes',
        },
        { protocol: "tcp", ports: 80, securityGroups: ["nobody"], description: "from an empty group" },
        { protocol: "icmp", icmpType: 3, icmpCode: 4, securityGroups: ["v6only"], description: "no IPv4 members" },
        { protocol: "udp", cidrs: ["0.0.0.0/0", "::/0"] },
      ],
      egress: [{ protocol: "tcp", ports: 443, securityGroups: ["nobody"], description: "egress to nobody: egress closed" }],
    },
    { name: "nobody", description: "no members" },
    { name: "v6only", ingress: [{ protocol: "icmpv6", cidrs: ["fd00::/8"] }] },
  ],
  hosts: [
    { name: "edge-1", connection: { host: "edge-1.example.net" }, securityGroups: ["edge"] },
    { name: "v6-1", connection: { host: "2001:db8:6::1" }, securityGroups: ["v6only"] },
    { name: "loose-1", connection: { host: "198.18.9.9" }, securityGroups: [] },
  ],
};

/** Observe (docs/observe.md): staged with drop logging, one canary enforcing; counters everywhere. */
const meshStaged: FleetDeclaration = {
  ...mesh,
  observe: { mode: "staged", maxFlows: 1024, retentionHours: 36, log: { perMinute: 30 } },
  hosts: mesh.hosts.map((h) => (h.name === "app-2" ? { ...h, observe: { mode: "enforce" as const, acknowledge: ["0123456789ab"] } } : h)),
};

/** Observe: enforced, with a staged change (a new rule, a removed one, a host moved to another group). */
const webDbProposal: FleetDeclaration = {
  ...webDb,
  observe: {
    proposal: {
      securityGroups: [
        { ...webDb.securityGroups[0]!, ingress: webDb.securityGroups[0]!.ingress!.filter((r) => r.description !== "ping6") },
        { ...webDb.securityGroups[1]!, egress: [{ protocol: "udp", ports: 53, cidrs: ["198.18.0.0/15"], description: "dns" }] },
        webDb.securityGroups[2]!,
      ],
      hosts: [{ name: "db-2", securityGroups: ["db", "admin"] }],
    },
  },
};
/**
 * Address lists and remote groups (docs/multistack.md): a team's hosts reached
 * from a platform stack's bastion and monitoring (published values), the
 * office and partner lists; an egress rule to a list; a remote group mixed
 * with a list and a CIDR in one rule.
 */
const published = {
  "nftsg.dev/remote-groups": 1,
  stack: "acme/platform/prod",
  fleet: "platform",
  groups: {
    bastion: { members: [{ name: "bastion-1", addresses: ["198.51.100.10", "2001:db8:5::10"] }, { name: "bastion-2", addresses: ["198.51.100.11"] }] },
    monitoring: { members: [{ name: "mon-1", addresses: ["198.51.100.20", "2001:db8:5::20"] }] },
  },
};
const multistack: FleetDeclaration = {
  addressLists: [
    { name: "office", cidrs: ["203.0.113.0/25", "203.0.113.128/26", "2001:db8:ff::/48"], description: "office networks" },
    { name: "partners", cidrs: ["192.0.2.0/26", "192.0.2.64/27"] },
    { name: "mirrors", cidrs: ["198.18.200.0/24", "2001:db8:200::/48"], description: "package mirrors" },
  ],
  remoteGroups: [
    { name: "bastion", source: published },
    { name: "platform-mon", group: "monitoring", source: published },
  ],
  securityGroups: [
    {
      name: "app",
      ingress: [
        { protocol: "tcp", ports: 22, securityGroups: ["bastion"], description: "ssh from the platform's bastion" },
        { protocol: "tcp", ports: [80, 443], addressLists: ["office"], description: "web from the office" },
        { protocol: "tcp", ports: 9100, securityGroups: ["platform-mon"], addressLists: ["office"], cidrs: ["198.18.50.0/24"] },
        { protocol: "icmp", addressLists: ["office"], description: "ping from the office" },
        { protocol: "icmpv6", icmpType: 128, addressLists: ["office"], description: "ping6 from the office" },
      ],
      egress: [
        { protocol: "tcp", ports: [80, 443], addressLists: ["mirrors"], description: "packages" },
        { protocol: "udp", ports: 53, cidrs: ["198.18.0.53/32"], description: "dns" },
      ],
    },
    { name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["app"] }, { protocol: "tcp", ports: 5432, addressLists: ["partners"], description: "partners" }] },
  ],
  hosts: [
    { name: "app-1", connection: { host: "198.18.0.11" }, addresses: ["198.18.0.11", "2001:db8::11"], securityGroups: ["app"] },
    { name: "db-1", connection: { host: "198.18.0.21" }, securityGroups: ["db"] },
  ],
};

export const GOLDEN_FLEETS: readonly GoldenFleet[] = [
  { name: "web-db", decl: webDb },
  { name: "mesh", decl: mesh, owner: "acme/nftsg-demo/prod" },
  // AWS-style stateful handling: established connections are never re-checked.
  { name: "mesh-keep", decl: { ...mesh, revokeEstablished: false } },
  { name: "edges", decl: edges },
  // Container paths: own interfaces, container egress left open; and switched off entirely.
  { name: "mesh-containers", decl: { ...mesh, containers: { interfaces: ["virbr0", "docker0", "br-*"], egress: false } } },
  { name: "edges-no-containers", decl: { ...edges, containers: { publishedPorts: false, interfaces: [] } } },
  { name: "multistack", decl: multistack, owner: "acme/team/prod" },
  { name: "random", decl: generateFleet({ seed: 5, hosts: 6, groups: 4, rules: 24, cidrs: 90 }), owner: "org/random/s5" },
  { name: "mesh-staged", decl: meshStaged, owner: "acme/nftsg-demo/prod" },
  { name: "web-db-proposal", decl: webDbProposal },
];
