// Fleets for the semantic test (real packets vs the reference evaluator): one
// hand-written fleet covering every feature of docs/semantics.md on named lab hosts,
// and a seeded generator of valid random fleets over any lab. Both are built
// from the lab's real addresses, so the CIDRs in rules actually match (or
// deliberately miss) the packets the matrix sends.
import type { FleetDeclaration, HostDeclaration, PortSpec, RuleDeclaration } from "../../provider/declaration/declaration";
import type { Lab } from "../../lab";
import type { Service } from "./matrix";
import { makeRng } from "./fleetGen";

/** Lab host names the hand-written fleet expects (labUp({ hostNames: MAIN_HOSTS })). */
export const MAIN_HOSTS = ["web1", "web2", "db", "cache", "worker", "loner"] as const;

export const MAIN_SERVICES: Service[] = [
  { proto: "tcp", port: 22 }, // failsafe (the lab's sshd)
  { proto: "tcp", port: 80 },
  { proto: "tcp", port: 5432 },
  { proto: "tcp", port: 8100 }, // top of the 8000-8100 range
  { proto: "tcp", port: 8101 }, // just past it
  { proto: "tcp", port: 9000 },
  { proto: "udp", port: 53 },
  { proto: "udp", port: 11211 },
  { proto: "icmp" },
];

const v4Subnet = (lab: Lab): string => `${lab.runnerIpv4.split(".").slice(0, 3).join(".")}.0/24`;
const v6Subnet = (lab: Lab): string => `${lab.runnerIpv6.replace(/::1$/, "::")}/64`;

/**
 * Six hosts, six groups:
 * - web (web1, web2): http from anywhere in both families, 8000-8100 from web itself, IPv4 ping from the lab range;
 * - db: 5432 from web and app, udp 53 from the lab subnets, ping6 from the lab v6 range;
 * - app (web2, worker) and cache reference each other: tcp 9000 both ways, udp 11211 into cache;
 * - mgmt (db): everything from the runner's IPv4 only;
 * - egress-lock (worker): only 5432 and udp 53 to db, and IPv4 ping anywhere, may leave worker;
 * - web2 is in two groups and declares no `addresses` (so only its IPv4 connection host is a member address);
 * - loner is in no group (no table: open both ways).
 */
export function mainFleet(lab: Lab): FleetDeclaration {
  const both = (name: string): string[] => [lab.host(name).ipv4, lab.host(name).ipv6];
  const host = (name: string, securityGroups: string[], addresses?: string[]): HostDeclaration => ({
    name,
    connection: { host: lab.host(name).ipv4, port: 22, user: "root" },
    ...(addresses ? { addresses } : {}),
    securityGroups,
  });
  return {
    securityGroups: [
      {
        name: "web",
        description: "public web tier",
        ingress: [
          { protocol: "tcp", ports: 80, cidrs: ["0.0.0.0/0", "::/0"], description: "http" },
          { protocol: "tcp", ports: "8000-8100", securityGroups: ["web"], description: "cluster gossip" },
          { protocol: "icmp", cidrs: ["198.18.0.0/15"] },
        ],
      },
      {
        name: "db",
        ingress: [
          { protocol: "tcp", ports: [5432], securityGroups: ["web", "app"] },
          { protocol: "udp", ports: 53, cidrs: [v4Subnet(lab), v6Subnet(lab)] },
          { protocol: "icmpv6", icmpType: 128, cidrs: ["2001:db8::/32"] },
        ],
      },
      { name: "app", ingress: [{ protocol: "tcp", ports: 9000, securityGroups: ["cache"] }] },
      {
        name: "cache",
        ingress: [
          { protocol: "tcp", ports: 9000, securityGroups: ["app"] },
          { protocol: "udp", ports: ["11211"], securityGroups: ["app"] },
        ],
      },
      { name: "mgmt", ingress: [{ protocol: "all", cidrs: [`${lab.runnerIpv4}/32`] }] },
      {
        name: "egress-lock",
        egress: [
          { protocol: "tcp", ports: 5432, securityGroups: ["db"] },
          { protocol: "udp", ports: 53, securityGroups: ["db"] },
          { protocol: "icmp", cidrs: ["0.0.0.0/0"] },
        ],
      },
    ],
    hosts: [
      host("web1", ["web"], both("web1")),
      host("web2", ["web", "app"]),
      host("db", ["db", "mgmt"], both("db")),
      host("cache", ["cache"], both("cache")),
      host("worker", ["app", "egress-lock"], both("worker")),
      host("loner", [], both("loner")),
    ],
  };
}

// ---- random fleets ----------------------------------------------------------------

/** Seeded random numbers: the same generator as the compiler tests' fleets. */
export const rng = makeRng;

const isV6 = (cidr: string): boolean => cidr.includes(":");

/** Port choices: singles, ranges and lists, some overlapping so the compiler has to merge them. */
const PORT_POOL: PortSpec[][] = [[80], [443], [80, 443], ["1000-1010"], ["1005-1020", 443], [5000], ["6000-6001"], [22]];

/**
 * A valid random fleet over the lab's hosts (all of them declared, some in no
 * group). Rules draw their peers from prefixes that cover lab hosts, the runner,
 * the whole lab, or nothing in the lab, and from groups (own group included).
 */
export function randomFleet(lab: Lab, seed: number): FleetDeclaration {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const chance = (p: number): boolean => r() < p;
  const some = <T>(xs: readonly T[], max: number): T[] => {
    const n = 1 + Math.floor(r() * max);
    return [...new Set(Array.from({ length: n }, () => pick(xs)))];
  };

  const hosts = lab.hosts;
  const prefix4 = lab.runnerIpv4.split(".").slice(0, 3).join(".");
  const cidrPool: string[] = [
    v4Subnet(lab),
    v6Subnet(lab),
    `${prefix4}.8/29`, // .8-.15: lab hosts 1-5 (host i is .10+i)
    `${lab.runnerIpv4}/32`,
    `${lab.runnerIpv6}/128`,
    "0.0.0.0/0",
    "::/0",
    "203.0.113.0/24", // outside the lab: matches nothing here
    "2001:db8:ffff::/48",
    ...hosts.flatMap((h) => [`${h.ipv4}/32`, `${h.ipv6}/128`]),
  ];
  const groupNames = Array.from({ length: 3 + Math.floor(r() * 3) }, (_, i) => `g${i + 1}`);

  const rule = (self: string): RuleDeclaration => {
    const protocol = pick(["tcp", "tcp", "udp", "udp", "icmp", "icmpv6", "all"] as const);
    const out: RuleDeclaration = { protocol };
    if ((protocol === "tcp" || protocol === "udp") && chance(0.85)) {
      const ports = pick(PORT_POOL);
      out.ports = ports.length === 1 ? (ports[0] as PortSpec) : ports;
    }
    if (protocol === "icmpv6" && chance(0.3)) out.icmpType = 128;
    // icmp matches IPv4 peers only and icmpv6 IPv6 ones: a CIDR of the other
    // family in the same rule is rejected by validation.
    const family = protocol === "icmp" ? (c: string) => !isV6(c) : protocol === "icmpv6" ? isV6 : () => true;
    const cidrs = (chance(0.6) ? some(cidrPool, 3) : []).filter(family);
    const groups = chance(0.6) || cidrs.length === 0 ? some([...groupNames, self, self], 2) : [];
    if (protocol === "icmp" && !cidrs.some((c) => !isV6(c))) cidrs.push(pick(cidrPool.filter((c) => !isV6(c))));
    if (protocol === "icmpv6" && !cidrs.some(isV6)) cidrs.push(pick(cidrPool.filter(isV6)));
    if (cidrs.length > 0) out.cidrs = [...new Set(cidrs)];
    if (groups.length > 0) out.securityGroups = groups;
    return out;
  };

  const securityGroups = groupNames.map((name) => {
    const ingress = Array.from({ length: Math.floor(r() * 4) }, () => rule(name));
    const egress = chance(0.3) ? Array.from({ length: 1 + Math.floor(r() * 2) }, () => rule(name)) : [];
    return { name, ...(ingress.length ? { ingress } : {}), ...(egress.length ? { egress } : {}) };
  });

  const hostDecls: HostDeclaration[] = hosts.map((h) => {
    const addresses = pick([[h.ipv4, h.ipv6], [h.ipv4, h.ipv6], [h.ipv6, h.ipv4], undefined, [h.ipv6], [h.ipv4]]);
    return {
      name: h.name,
      connection: { host: h.ipv4, port: chance(0.15) ? 2222 : 22 },
      ...(addresses ? { addresses } : {}),
      securityGroups: chance(0.15) ? [] : some(groupNames, 2),
    };
  });

  const failsafe = pick([undefined, undefined, undefined, { cidrs: [`${lab.runnerIpv4}/32`] }, { ssh: false }]);
  return { ...(failsafe ? { failsafe } : {}), securityGroups, hosts: hostDecls };
}

// ---- applying compiled rulesets ---------------------------------------------------

/** The part of compileFleet's per-host result this needs. */
export interface CompiledHost {
  script: string;
  table?: string;
}

/**
 * Loads each host's compiled script with one `nft -f` in its namespace (the
 * same transaction the provider runs over SSH), and removes the nftsg table
 * from hosts the compiler produced no script for (compileFleet gives a host in
 * no group `script: ""`: it keeps no table).
 * Throws with nft's message if a script is rejected.
 */
export async function applyCompiled(
  lab: Lab,
  decl: FleetDeclaration,
  compiled: Readonly<Record<string, CompiledHost>>,
): Promise<void> {
  const defaultTable = decl.table ?? "nftsg";
  await Promise.all(
    lab.hosts.map(async (h) => {
      const c = compiled[h.name];
      const r = c && c.script.trim() !== ""
        ? await lab.exec(h.name, "nft -f /dev/stdin", { input: c.script })
        : await lab.exec(h.name, `nft delete table inet ${c?.table ?? defaultTable} 2>/dev/null; true`);
      if (r.code !== 0) throw new Error(`nft -f on ${h.name} failed (${r.code}): ${r.stderr.trim()}`);
    }),
  );
}

/** Names of the inet tables present on a host, e.g. ["nftsg"]. */
export async function inetTables(lab: Lab, host: string): Promise<string[]> {
  const r = await lab.exec(host, "nft list tables inet");
  if (r.code !== 0) throw new Error(`nft list tables on ${host}: ${r.stderr.trim()}`);
  return r.stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w[0] === "table")
    .map((w) => w[2] as string);
}
