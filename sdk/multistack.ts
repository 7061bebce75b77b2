// The records of address lists and remote groups (docs/multistack.md): what
// `pulumi preview --diff` shows once per list or remote group when it
// changes, while each affected host shows only a digest line (`peer list
// office: ...`, `peer sg bastion (remote, ...): ...`) in its Attachment.
import type { RemoteGroupDeclaration } from "../provider/declaration/declaration";
import { formatAddress, formatPrefix, parsePrefix } from "../provider/addressing/cidr";
import { readRemoteGroup } from "../provider/declaration/remoteGroups";

const LIST_HEADER = (name: string) => `@cidrs of address list ${name}, one per line`;
const MEMBERS_HEADER = "@members: name and addresses, one per line";
/** Names shown in `affects` before the rest are counted. */
const MAX_NAMES = 10;

/** The list's CIDRs, canonical and sorted, one per line: a change reads as `+ 203.0.113.7/32`. */
export function addressListText(name: string, cidrs: readonly string[]): string {
  const parsed = cidrs.map((c) => ({ text: c, p: parsePrefix(c) }));
  const good = parsed.flatMap((x) => (x.p.ok ? [x.p.prefix] : []));
  good.sort((a, b) => a.family - b.family || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0) || a.length - b.length);
  // What does not parse is shown as written (the model's check names it).
  const bad = parsed.filter((x) => !x.p.ok).map((x) => x.text);
  return `${LIST_HEADER(name)}\n${[...good.map(formatPrefix), ...bad].join("\n")}\n`;
}

interface RuleLike { securityGroups?: string[]; addressLists?: string[] }
interface GroupLike { name: string; ingress?: RuleLike[]; egress?: RuleLike[] }
interface HostLike { name: string; securityGroups: string[] }

/**
 * The hosts whose rulesets a peer (an address list, a remote group) reaches:
 * the hosts attached to a group with a rule that names it. Plain names only,
 * so it is known at construction: "3 hosts (groups app, db): app-1, app-2, db-1".
 */
export function affectedHostsText(groups: readonly GroupLike[], hosts: readonly HostLike[], names: (r: RuleLike) => boolean): string {
  const using = groups.filter((g) => [...(g.ingress ?? []), ...(g.egress ?? [])].some(names)).map((g) => g.name).sort();
  const affected = hosts.filter((h) => h.securityGroups.some((g) => using.includes(g))).map((h) => h.name).sort();
  if (affected.length === 0) return using.length === 0 ? "no host: no rule names it" : `no host: no host is attached to ${using.join(", ")}`;
  const shown = affected.slice(0, MAX_NAMES).join(", ") + (affected.length > MAX_NAMES ? `, +${affected.length - MAX_NAMES} more` : "");
  return `${affected.length} host${affected.length === 1 ? "" : "s"} (group${using.length === 1 ? "" : "s"} ${using.join(", ")}): ${shown}`;
}

export interface RemoteGroupRecord {
  /** "group bastion of stack organization/platform/prod (Fleet platform)". */
  source: string;
  members: string[];
  /** One line per member with its addresses. */
  memberAddresses: string;
}

/** What the RemoteGroup record shows of a remote group's published value. */
export function remoteGroupRecord(d: RemoteGroupDeclaration): RemoteGroupRecord {
  const group = d.group ?? d.name;
  const read = readRemoteGroup(d.source, group, { allowEmpty: d.allowEmpty === true, groupField: d.group ? "group" : "name" });
  if (!read.ok) {
    return {
      source: `group ${group}: invalid published value`,
      members: [],
      memberAddresses: `${MEMBERS_HEADER}\n(invalid published value: the problems are reported with their paths)\n`,
    };
  }
  const r = read.read;
  const where = r.stack ? ` of stack ${r.stack}${r.fleet ? ` (Fleet ${r.fleet})` : ""}` : "";
  const lines = r.members.map((m) => [m.name, ...m.addresses.map((a) => formatAddress(a.family, a.value))].join(" "));
  return {
    source: `group ${group}${where}`,
    members: r.members.map((m) => m.name),
    memberAddresses: `${MEMBERS_HEADER}\n${lines.length ? lines.join("\n") : `(no members: ${r.emptyBecause ?? "none"}; allowEmpty)`}\n`,
  };
}
