// Lint: declarations that are valid but probably not what was meant —
// warnings, never errors, never silent (`nftsg lint`, docs/evaluate.md):
//   - a rule implied by another rule of the same group and direction;
//   - a rule whose peer group has no members (it matches nothing through it);
//   - a group no host is attached to; an address list no rule names;
//   - ingress open to the whole internet on a well-known admin/database port
//     (the failsafe included).
import type { Family, Interval } from "../addressing/cidr";
import type { NormalisedAddressList, NormalisedFleet, NormalisedRule } from "../declaration/fleetModel";
import type { FleetIndex } from "./fleetIndex";
import { indexFleet } from "./fleetIndex";
import { subtract, unionMerged } from "../addressing/intervals";
import { FULL } from "./grants";
import { ruleText } from "./ruleText";

export interface LintWarning {
  /** implied-rule | empty-peer-group | unused-group | unused-address-list | world-open-admin-port */
  code: "implied-rule" | "empty-peer-group" | "unused-group" | "unused-address-list" | "world-open-admin-port";
  /** Where: "sg db ingress \"replication\"" or "failsafe". */
  where: string;
  message: string;
}

export const ADMIN_PORTS: ReadonlyMap<number, string> = new Map([
  [22, "ssh"],
  [3389, "rdp"],
  [5432, "postgresql"],
  [3306, "mysql"],
  [6379, "redis"],
  [9200, "elasticsearch"],
  [27017, "mongodb"],
]);

export function ruleLabel(group: string, r: NormalisedRule): string {
  return `sg ${group} ${r.direction} ${r.description ? JSON.stringify(r.description) : `(${ruleText(r)})`}`;
}

type ListLookup = (name: string) => NormalisedAddressList | undefined;

/** A rule's CIDR peers in one family: its own and its address lists' (their current entries). */
function cidrPeers(r: NormalisedRule, f: Family, lists?: ListLookup): Interval[] {
  if (!r.lists || !lists) return r.mergedCidrs[f].intervals;
  return unionMerged([r.mergedCidrs[f].intervals, ...r.lists.map((l) => lists(l)?.merged[f].intervals ?? [])]);
}

/** Does rule a accept every packet rule b accepts, whatever the membership (address lists as they are now)? */
export function ruleImplies(a: NormalisedRule, b: NormalisedRule, lists?: ListLookup): boolean {
  if (a.protocol !== "all" && a.protocol !== b.protocol) return false;
  if (a.protocol !== "all") {
    if (a.ports && (!b.ports || !b.ports.every((r) => a.ports!.some((s) => s.lo <= r.lo && r.hi <= s.hi)))) return false;
    if (a.icmpType !== undefined) {
      if (b.icmpType !== a.icmpType) return false;
      if (a.icmpCode !== undefined && b.icmpCode !== a.icmpCode) return false;
    }
  }
  if (!b.groups.every((g) => a.groups.includes(g))) return false;
  return ([4, 6] as const).every((f) => subtract(cidrPeers(b, f, lists), cidrPeers(a, f, lists)).length === 0);
}

/** Ports of a rule that are well-known admin/database ports (all of them when the rule has no ports). */
function adminPorts(r: NormalisedRule): number[] {
  if (r.protocol !== "all" && r.protocol !== "tcp" && r.protocol !== "udp") return [];
  return [...ADMIN_PORTS.keys()].filter((p) => r.ports === undefined || r.ports.some((x) => x.lo <= p && p <= x.hi));
}

const worldOpen = (r: NormalisedRule, lists: ListLookup): string[] =>
  ([4, 6] as const).flatMap((f) => (cidrPeers(r, f, lists).some((iv) => iv.lo === 0n && iv.hi === FULL[f][0]!.hi) ? [f === 4 ? "0.0.0.0/0" : "::/0"] : []));

const portNames = (ports: number[]) => ports.map((p) => `${p} (${ADMIN_PORTS.get(p)})`).join(", ");

export function lintFleet(fleet: NormalisedFleet | FleetIndex): LintWarning[] {
  const index = "rulesOf" in fleet ? fleet : indexFleet(fleet);
  const out: LintWarning[] = [];
  const lists: ListLookup = (name) => index.addressList(name);
  const named = new Set<string>();
  for (const g of index.fleet.groups) {
    const members = index.members(g.name);
    if (members.length === 0) {
      out.push({ code: "unused-group", where: `sg ${g.name}`, message: "no host is attached to this group: its rules apply nowhere" });
    }
    for (const direction of ["ingress", "egress"] as const) {
      const rules = g[direction];
      rules.forEach((r, i) => {
        const where = ruleLabel(g.name, r);
        // Of two rules implying each other (same content), only the later one is reported.
        const by = rules.find((o, j) => j !== i && ruleImplies(o, r, lists) && (!ruleImplies(r, o, lists) || j < i));
        for (const l of r.lists ?? []) named.add(l);
        if (by) out.push({ code: "implied-rule", where, message: `implied by ${ruleLabel(g.name, by)}: it allows nothing more; remove it or narrow the other` });
        for (const peer of r.groups) {
          const remote = index.remoteGroup(peer);
          if ((remote ? remote.members.length : index.members(peer).length) === 0) {
            const why = remote ? ` (remote group${remote.emptyBecause ? `: ${remote.emptyBecause}` : ""}, allowEmpty)` : "";
            out.push({ code: "empty-peer-group", where, message: `peer group ${peer} has no members${why}: the rule matches nothing through it` });
          }
        }
        const world = direction === "ingress" ? worldOpen(r, lists) : [];
        const ports = adminPorts(r);
        if (world.length > 0 && ports.length > 0) {
          out.push({
            code: "world-open-admin-port",
            where,
            message: `open to ${world.join(" and ")} on ${portNames(ports)}; narrow the peers to the networks that need it`,
          });
        }
      });
    }
  }
  for (const l of index.fleet.addressLists ?? []) {
    if (!named.has(l.name)) out.push({ code: "unused-address-list", where: `list ${l.name}`, message: "no rule names this address list: it applies nowhere" });
  }
  const fs = index.fleet.failsafe;
  if (fs.ssh && fs.cidrs === undefined && index.fleet.hosts.some((h) => h.groups.length > 0)) {
    const ports = [...new Set(index.fleet.hosts.filter((h) => h.groups.length > 0).map((h) => h.sshPort))].sort((a, b) => a - b);
    out.push({
      code: "world-open-admin-port",
      where: "failsafe",
      message: `the SSH failsafe accepts tcp/${ports.join(",")} from anywhere on every host; narrow it with failsafe.cidrs (your management networks)`,
    });
  }
  return out;
}

export function formatLint(warnings: readonly LintWarning[]): string {
  if (warnings.length === 0) return "no warnings";
  return warnings.map((w) => `warning [${w.code}] ${w.where}: ${w.message}`).join("\n");
}
