// The compiler: one complete fleet declaration in, one nftables script per
// host out (docs/semantics.md, docs/compiler.md). Pure and deterministic: no I/O, no clock, no
// randomness; the same fleet declared in any order gives byte-identical
// scripts, and a host's script depends only on what affects that host.
//
// Each host's script replaces its whole table in one `nft -f` transaction:
//
//   table inet nftsg {}          create the table if it does not exist...
//   delete table inet nftsg      ...so this never fails, and drops every old
//   table inet nftsg { ... }     set, element and chain before the new ones.
//
// (`destroy table` needs nft >= 1.0.8; `flush table` keeps old sets and
// elements; `flush ruleset` would wipe other software's tables; the table
// flag `owner` would delete the table when the loading nft process exits.)
//
// The table body is printed exactly the way nft 1.0.6 lists it, so reading
// the table back gives the same text (see nftListing.ts for the comparison).

import { createHash } from "node:crypto";
import { type Family, type Interval, addressToInterval, familyMax, formatAddress, formatPrefix, intervalToNftElement, mergeIntervals, prefixToInterval } from "../addressing/cidr";
import type { CompiledFleet, FleetDeclaration, HostRuleset, RulesetFacts } from "../declaration/declaration";
import type { NormalisedAddressList, NormalisedFleet, NormalisedGroup, NormalisedHost, NormalisedHostObserve, NormalisedRemoteGroup, NormalisedRule, ValidationIssue } from "../declaration/fleetModel";
import { TABLE_FAMILY, nftName } from "../nft/names";
import { type SetKeyType, quote, renderCounter, renderSet } from "../nft/render";
import { icmpCodeSymbol, icmpTypeSymbol } from "../nft/symbols";
import { BASELINE_LINES, FAILSAFE_COMMENT, chainHead, EGRESS_OPEN_HEAD, indentStatements, proposalEgressPrelude, statefulLines } from "./baseline";
import { dedupe, mergeSorted, sortedUnique } from "./sortedLists";
import { containerChains, containerLines, containerLocalStatements, filteredPaths, publishedPortMatch } from "./containers";
import { counterName, countedStatement, dropEnd, flowSets, invalidStatement, observeLines, proposalEnd, proposalJump, stagedLine } from "./observe";
import { ruleContentKey } from "../declaration/normalise";
import { proposedFleet, withoutObserve } from "../declaration/proposal";
import { formatPortRange } from "../addressing/ports";
import { FleetValidationError, validateFleet } from "../declaration/validate";
import { type Direction } from "../vocabulary/directions";
import { OWNER_PATTERN } from "../vocabulary/names";
import { hasPorts, isIcmp, protocolFamilies } from "../vocabulary/protocols";
export { OWNER_PATTERN } from "../vocabulary/names";

export { FleetValidationError, validateFleet } from "../declaration/validate";
export type { ValidationIssue, ValidationResult } from "../declaration/validate";
export type { NormalisedFleet } from "../declaration/fleetModel";

export interface CompileOptions {
  /**
   * Identifier of the stack that owns the tables (e.g. "org/project/stack"),
   * recorded as the table's comment so another stack can refuse to overwrite
   * it. 1-128 characters: letters, digits and . _ / @ : = + -
   */
  owner?: string;
  /** Per-host owners, overriding `owner` for the hosts named. */
  owners?: Readonly<Record<string, string>>;
  /**
   * How rules that name a peer group read in `lines`: "addresses" (default),
   * one line per member address; "groups", one line per rule in group terms
   * plus one `peer sg …` line per peer group (member count and digest), so
   * the lines grow with the host's own ruleset rather than with its peers.
   */
  lineStyle?: LineStyle;
  /** Compile only these hosts (the rest of the fleet is still validated and used as peers). */
  only?: Iterable<string>;
}

export type LineStyle = "addresses" | "groups";


const FAMILIES: readonly Family[] = [4, 6];
const SET_TYPE: Record<Family, SetKeyType> = { 4: "ipv4_addr", 6: "ipv6_addr" };
const ADDR_EXPR: Record<Family, string> = { 4: "ip", 6: "ip6" };
const FAMILY_LABEL: Record<Family, string> = { 4: "IPv4", 6: "IPv6" };

/** sshd's side of a session: from the SSH port, never opening a connection (nft 1.0.6 lists "& syn == 0" so). */
const FAILSAFE_SERVER_SIDE = (port: number) => `tcp sport ${port} tcp flags ! syn`;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The script that removes a host's table (whether or not it exists). */
export function tableRemovalScript(table: string): string {
  return `table ${TABLE_FAMILY} ${table} {}\ndelete table ${TABLE_FAMILY} ${table}\n`;
}

// ---------------------------------------------------------------------------

/**
 * What one group contributes to every host attached to it — the same for all
 * of them, so it is built once per group, not once per host.
 */
interface GroupChunk {
  /** Chain statements, already indented and newline-terminated. */
  ingress: string;
  egress: string;
  /** The ingress statements for published container ports (containers.ts). */
  published: string;
  /** Names of the sets the statements use, sorted, unique. */
  sets: string[];
  /** Human-readable lines, sorted, unique. */
  lines: string[];
  /** The group declares egress rules (even ones that match nothing). */
  hasEgressRules: boolean;
  /** Peer groups its rules name, sorted, unique. */
  peers: string[];
  /** The same statements with each rule's named counter (observed hosts, docs/observe.md). */
  counted: { ingress: string; egress: string; published: string };
  /** The rules' counter names, sorted, unique. */
  counters: string[];
  /** Address lists its rules name, sorted, unique. */
  lists: string[];
}

/** A host's script and lines without the owner, shared by hosts with the same groups and SSH port. */
interface HostBody {
  /** Script up to the table's opening line, and the rest after it (the owner comment goes between). */
  head: string;
  tail: string;
  /** Sorted, without the table line (it names the owner). */
  lines: string[];
  /** What the host side needs to know of the script (HostRuleset.facts). */
  facts: RulesetFacts;
}

interface SetEntry {
  key: string;
  block: string;
}

function protocolLabel(r: NormalisedRule): string {
  if (hasPorts(r.protocol)) return `${r.protocol}/${r.ports ? r.ports.map(formatPortRange).join(",") : "all"}`;
  if (isIcmp(r.protocol)) {
    if (r.icmpType === undefined) return `${r.protocol}/all`;
    return `${r.protocol}/type ${r.icmpType}${r.icmpCode === undefined ? "" : ` code ${r.icmpCode}`}`;
  }
  return r.protocol;
}

function ruleFamilies(r: NormalisedRule): readonly Family[] {
  return protocolFamilies(r.protocol);
}

/** Without a description, a rule is described by its content. */
function ruleSummary(r: NormalisedRule): string {
  const peers = [...r.cidrElements, ...r.groups.map((g) => `sg ${g}`), ...(r.lists ?? []).map((l) => `list ${l}`)];
  const shown = peers.slice(0, 6).join(", ") + (peers.length > 6 ? `, +${peers.length - 6} more` : "");
  return `${protocolLabel(r)} ${r.direction === "ingress" ? "from" : "to"} ${shown}`;
}

/** A compiler of the main fleet, or of a staged change evaluated beside it (docs/observe.md). */
type Role = "main" | "proposal";
/** What the compiler needs of a peer group's member: a fleet host, or a remote group's member. */
type Member = Pick<NormalisedHost, "name" | "addresses">;

class Compiler {
  private readonly groups = new Map<string, NormalisedGroup>();
  private readonly members = new Map<string, Member[]>();
  private readonly remote = new Map<string, NormalisedRemoteGroup>();
  private readonly lists = new Map<string, NormalisedAddressList>();
  private readonly memberIntervals = new Map<string, Record<Family, Interval[]>>();
  private readonly sets = new Map<string, SetEntry>();
  private readonly peerSetCache = new Map<string, string | null>();
  private readonly chunks = new Map<string, GroupChunk>();
  private readonly hostCache = new Map<string, HostBody>();
  private readonly peerLineCache = new Map<string, string>();
  /** Text of single addresses, per family: member addresses recur in many sets and lines. */
  private readonly addressTexts: Record<Family, Map<bigint, string>> = { 4: new Map(), 6: new Map() };

  /** The staged change, compiled as shadow chains and as the plain policy it proposes. */
  private shadow?: { fleet: NormalisedFleet; shadow: Compiler; plain: Compiler };
  /** The plain policy of each observed host (its policyHash). */
  private plainCompiler?: Compiler;

  constructor(
    private readonly fleet: NormalisedFleet,
    private readonly options: CompileOptions,
    private readonly role: Role = "main",
  ) {
    for (const g of fleet.groups) {
      this.groups.set(g.name, g);
      this.members.set(g.name, []);
    }
    for (const h of fleet.hosts) for (const g of h.groups) this.members.get(g)!.push(h);
    // A remote group is a peer group whose members are another stack's hosts.
    for (const r of fleet.remoteGroups ?? []) {
      this.remote.set(r.name, r);
      this.members.set(r.name, r.members);
    }
    for (const l of fleet.addressLists ?? []) this.lists.set(l.name, l);
    for (const [g, hosts] of this.members) {
      const iv: Record<Family, Interval[]> = { 4: [], 6: [] };
      for (const h of hosts) for (const a of h.addresses) iv[a.family].push(addressToInterval(a));
      this.memberIntervals.set(g, iv);
    }
  }

  private addressText(family: Family, value: bigint): string {
    const cache = this.addressTexts[family];
    let text = cache.get(value);
    if (text === undefined) {
      text = formatAddress(family, value);
      cache.set(value, text);
    }
    return text;
  }

  /** Register a set; names are content-derived, so a clash is a bug. */
  private addSet(name: string, key: string, type: SetKeyType, elements: readonly string[]): void {
    const existing = this.sets.get(name);
    if (existing) {
      if (existing.key !== key) throw new Error(`internal: nft set name collision for ${name}`);
      return;
    }
    this.sets.set(name, { key, block: renderSet(name, type, elements) });
  }

  /** Name of the peer set of a rule in one family, or null if it would be empty. */
  private peerSet(family: Family, r: NormalisedRule): string | null {
    const cidrs = r.mergedCidrs[family];
    const lists = r.lists ?? [];
    const cacheKey = `${family}|${cidrs.elements.join(",")}|${r.groups.join(",")}|${lists.join(",")}`;
    const cached = this.peerSetCache.get(cacheKey);
    if (cached !== undefined) return cached;
    let name: string | null = null;
    const all: Interval[] = [...cidrs.intervals];
    for (const g of r.groups) for (const iv of this.memberIntervals.get(g)![family]) all.push(iv);
    for (const l of lists) for (const iv of this.lists.get(l)!.merged[family].intervals) all.push(iv);
    if (all.length > 0) {
      const onlyCidrs = r.groups.length === 0 && lists.length === 0;
      const merged = onlyCidrs ? cidrs.intervals : mergeIntervals(all);
      const fullRange = onlyCidrs && merged.length === 1 && merged[0]!.lo === 0n && merged[0]!.hi === familyMax(family);
      name = nftName({ kind: "peers", family, cidrs: cidrs.elements, groups: r.groups, ...(lists.length > 0 ? { lists } : {}), fullRange }, { proposal: this.role === "proposal" });
      const elements = onlyCidrs ? cidrs.elements : merged.map((iv) => (iv.lo === iv.hi ? this.addressText(family, iv.lo) : intervalToNftElement(family, iv)));
      this.addSet(name, `${family}|${elements.join(",")}`, SET_TYPE[family], elements);
    }
    this.peerSetCache.set(cacheKey, name);
    return name;
  }

  /** `published`: match the port a client connected to before DNAT (containers.ts). */
  private protocolMatch(r: NormalisedRule, sets: string[], published = false): string {
    switch (r.protocol) {
      case "tcp":
      case "udp":
      case "sctp": {
        if (!r.ports) return `meta l4proto ${r.protocol}`;
        const dport = published ? publishedPortMatch(r.protocol) : `${r.protocol} dport`;
        if (r.ports.length === 1) return `${dport} ${formatPortRange(r.ports[0]!)}`;
        const name = nftName({ kind: "ports", ranges: r.ports }, { proposal: this.role === "proposal" });
        const elements = r.ports.map(formatPortRange);
        this.addSet(name, `ports|${elements.join(",")}`, "inet_service", elements);
        sets.push(name);
        return `${dport} @${name}`;
      }
      case "icmp":
      case "icmpv6": {
        const v6 = r.protocol === "icmpv6";
        if (r.icmpType === undefined) return `meta l4proto ${v6 ? "ipv6-icmp" : "icmp"}`;
        let m = `${r.protocol} type ${icmpTypeSymbol(v6, r.icmpType)}`;
        if (r.icmpCode !== undefined) m += ` ${r.protocol} code ${icmpCodeSymbol(v6, r.icmpCode)}`;
        return m;
      }
      case "esp":
      case "ah":
      case "gre":
        return `meta l4proto ${r.protocol}`;
      case "all":
        return "";
    }
  }

  private ruleLines(g: NormalisedGroup, r: NormalisedRule): string[] {
    // Built with join(): flat strings, cheap to sort and compare.
    const lines: string[] = [];
    const head = `${r.direction} ${protocolLabel(r)} ${r.direction === "ingress" ? "from" : "to"} `;
    const why = ` [${g.name}${r.description ? `: ${r.description}` : ""}]`;
    const families = ruleFamilies(r);
    for (const c of r.cidrs) if (families.includes(c.family)) lines.push([head, formatPrefix(c), why].join(""));
    if (this.options.lineStyle === "groups") {
      for (const s of r.groups) lines.push([head, "sg ", s, why].join(""));
      // The list's CIDRs are on its own peer line (digest) and on the AddressList record.
      for (const l of r.lists ?? []) lines.push([head, "list ", l, why].join(""));
      return lines;
    }
    for (const l of r.lists ?? []) {
      for (const c of this.lists.get(l)!.cidrs) if (families.includes(c.family)) lines.push([head, formatPrefix(c), " (list ", l, ")", why].join(""));
    }
    for (const s of r.groups) {
      const before = lines.length;
      const members = this.members.get(s)!;
      const remote = this.remote.get(s);
      const inGroup = ` in ${remote ? "remote " : ""}sg ${s})${why}`;
      for (const m of members) {
        for (const a of m.addresses) {
          if (families.includes(a.family)) lines.push([head, this.addressText(a.family, a.value), " (host ", m.name, inGroup].join(""));
        }
      }
      if (lines.length === before) {
        const what = members.length === 0 ? `no members${remote?.emptyBecause ? `, ${remote.emptyBecause}` : ""}` : `no ${FAMILY_LABEL[families[0]!]} members`;
        lines.push([head, "sg ", s, " (", what, ": matches nothing)", why].join(""));
      }
    }
    return lines;
  }

  /** Rules and lines of one group: the same for every host attached to it. */
  private chunk(name: string): GroupChunk {
    const cached = this.chunks.get(name);
    if (cached) return cached;
    const g = this.groups.get(name)!;
    const statements: Record<Direction, string[]> = { ingress: [], egress: [] };
    const published: string[] = [];
    const counted: Record<Direction, string[]> = { ingress: [], egress: [] };
    const countedPublished: string[] = [];
    const counters: string[] = [];
    const proposal = this.role === "proposal";
    const verdict = proposal ? "return" : "accept";
    const withPublished = this.fleet.containers.publishedPorts;
    const sets: string[] = [];
    const lines: string[] = [];
    const peers: string[] = [];
    const lists: string[] = [];
    for (const r of [...g.ingress, ...g.egress]) {
      peers.push(...r.groups);
      lists.push(...(r.lists ?? []));
      const comment = quote(`${g.name}: ${r.description ?? ruleSummary(r)}`);
      const counter = nftName({ kind: "ruleCounter", group: g.name, direction: r.direction, contentKey: ruleContentKey(r), proposal });
      for (const family of ruleFamilies(r)) {
        const peers = this.peerSet(family, r);
        if (peers === null) continue;
        sets.push(peers);
        counters.push(counter);
        const proto = this.protocolMatch(r, sets);
        const addr = `${ADDR_EXPR[family]} ${r.direction === "ingress" ? "saddr" : "daddr"} @${peers}`;
        const statement = `${addr}${proto ? ` ${proto}` : ""} accept comment ${comment}`;
        statements[r.direction].push(statement);
        counted[r.direction].push(countedStatement(statement, counter, verdict));
        if (withPublished && r.direction === "ingress") {
          const pub = this.protocolMatch(r, sets, true);
          const pubStatement = `${addr}${pub ? ` ${pub}` : ""} accept comment ${comment}`;
          published.push(pubStatement);
          countedPublished.push(countedStatement(pubStatement, counter, verdict));
        }
      }
      for (const l of this.ruleLines(g, r)) lines.push(l);
    }
    const chunk: GroupChunk = {
      ingress: indentStatements(dedupe(statements.ingress)),
      egress: indentStatements(dedupe(statements.egress)),
      published: indentStatements(dedupe(published)),
      sets: sortedUnique(sets),
      lines: sortedUnique(lines),
      hasEgressRules: g.egress.length > 0,
      peers: sortedUnique(peers),
      counted: {
        ingress: indentStatements(dedupe(counted.ingress)),
        egress: indentStatements(dedupe(counted.egress)),
        published: indentStatements(dedupe(countedPublished)),
      },
      counters: sortedUnique(counters),
      lists: sortedUnique(lists),
    };
    this.chunks.set(name, chunk);
    return chunk;
  }

  /**
   * The failsafe's ingress rules and, for a host with restricted egress, the
   * matching egress rules for the SSH server's own packets. Those are replies
   * and normally pass as established; but when conntrack starts tracking a
   * session mid-stream (the first ruleset with `ct` on a host) it may take the
   * server's side for the original direction, and the management session
   * would then stall or, with revokeEstablished, die.
   */
  /**
   * The failsafe's egress half (the host's groups restrict egress).
   * The first ruleset with conntrack on a host picks the running SSH session
   * up mid-stream and may take sshd's side for the original direction, so
   * sshd's packets are not all "replies"; accept them, but never a SYN: a
   * program bound to the SSH port cannot open a connection anywhere.
   */
  private failsafe(host: NormalisedHost, sets: string[], lines: string[]): { ingress: string[]; egress: string[]; counted: string[] } {
    const fs = this.fleet.failsafe;
    const port = host.sshPort;
    const comment = quote(FAILSAFE_COMMENT.ingress);
    const replyComment = quote(FAILSAFE_COMMENT.serverSide);
    const count = (statements: string[]) => statements.map((st) => countedStatement(st, counterName("failsafe")));
    if (!fs.ssh) {
      lines.push("ingress failsafe ssh disabled [failsafe]");
      return { ingress: [], egress: [], counted: [] };
    }
    if (!fs.cidrs) {
      lines.push(`ingress tcp/${port} from any [failsafe ssh]`);
      const ingress = [`tcp dport ${port} accept comment ${comment}`];
      return { ingress, egress: [`${FAILSAFE_SERVER_SIDE(port)} accept comment ${replyComment}`], counted: count(ingress) };
    }
    const rules: string[] = [];
    const egress: string[] = [];
    for (const family of FAMILIES) {
      const prefixes = fs.cidrs.filter((c) => c.family === family);
      if (prefixes.length === 0) continue;
      const name = nftName({ kind: "failsafe", family }, { proposal: this.role === "proposal" });
      const elements = mergeIntervals(prefixes.map(prefixToInterval)).map((iv) => intervalToNftElement(family, iv));
      this.addSet(name, `failsafe|${family}|${elements.join(",")}`, SET_TYPE[family], elements);
      sets.push(name);
      rules.push(`${ADDR_EXPR[family]} saddr @${name} tcp dport ${port} accept comment ${comment}`);
      egress.push(`${ADDR_EXPR[family]} daddr @${name} ${FAILSAFE_SERVER_SIDE(port)} accept comment ${replyComment}`);
      for (const p of prefixes) lines.push(`ingress tcp/${port} from ${formatPrefix(p)} [failsafe ssh]`);
    }
    return { ingress: rules, egress, counted: count(rules) };
  }

  /**
   * One line standing for a peer group's members in "groups" line style: the
   * count and a digest of its members' names and addresses, so a membership
   * change shows on every host that allows the group (the members themselves
   * are listed once, on the SecurityGroup).
   */
  private peerLine(group: string): string {
    let line = this.peerLineCache.get(group);
    if (line !== undefined) return line;
    const members = this.members.get(group)!;
    const remote = this.remote.get(group);
    const name = remote ? `sg ${group} (${remoteOrigin(remote)})` : `sg ${group}`;
    if (members.length === 0) {
      line = `peer ${name}: no members${remote?.emptyBecause ? ` (${remote.emptyBecause}; allowEmpty)` : ""}`;
    } else {
      const entries = memberEntries(members);
      const digest = sha256(entries.join("\n")).slice(0, 16);
      line = `peer ${name}: ${plural(members.length, "member")}, ${plural(entries.length, "address", "addresses")}, sha256:${digest}`;
    }
    this.peerLineCache.set(group, line);
    return line;
  }

  /**
   * One line standing for an address list's CIDRs in "groups" line style:
   * how many and a digest, so a change of the list shows on every host whose
   * rules name it (the CIDRs themselves are listed once, on the AddressList).
   */
  private listLine(name: string): string {
    const key = `list\u0000${name}`;
    let line = this.peerLineCache.get(key);
    if (line !== undefined) return line;
    const entries = this.lists.get(name)!.cidrs.map(formatPrefix);
    line = `peer list ${name}: ${plural(entries.length, "CIDR")}, sha256:${sha256(entries.join("\n")).slice(0, 16)}`;
    this.peerLineCache.set(key, line);
    return line;
  }

  /** Every host's ruleset, or only those named. */
  compileAll(only?: Iterable<string>): CompiledFleet {
    const wanted = only === undefined ? undefined : new Set(only);
    const out: CompiledFleet = {};
    for (const host of this.fleet.hosts) if (!wanted || wanted.has(host.name)) out[host.name] = this.compileHost(host);
    return out;
  }

  compileHost(host: NormalisedHost): HostRuleset {
    const table = this.fleet.table;
    if (host.groups.length === 0) {
      // A host attached to no group keeps no nftsg table (docs/semantics.md#no-group-no-table).
      return { host: host.name, table, script: "", lines: [], hash: sha256(""), facts: { localInterfaces: [] } };
    }
    const observe = this.role === "main" ? host.observe : undefined;
    const proposal = observe?.mode === "enforce" ? this.proposalOf(host) : undefined;
    // A host's ruleset depends only on its groups, its SSH port, how it is
    // observed (and a staged change's groups for it) and the owner (the script
    // names no host), so hosts that share all but the owner share the work.
    const key = [host.sshPort, host.groups.join(","), observeKey(observe), proposal ? proposal.host.groups.join(",") : "-"].join("|");
    let body = this.hostCache.get(key);
    if (!body) {
      body = this.compileBody(host, observe, proposal);
      this.hostCache.set(key, body);
    }
    const owner = this.options.owners?.[host.name] ?? this.options.owner;
    const script = owner ? [body.head, `\tcomment ${quote(owner)}\n`, body.tail].join("") : body.head + body.tail;
    const tableLine = owner ? `table ${TABLE_FAMILY} ${table} [owner: ${owner}]` : `table ${TABLE_FAMILY} ${table}`;
    const hash = sha256(script);
    const facts = { ...body.facts, localInterfaces: [...body.facts.localInterfaces] };
    const ruleset: HostRuleset = { host: host.name, table, script, lines: mergeSorted([[tableLine], body.lines]), hash, facts };
    if (!observe) return ruleset;
    // The plain policy's hash: equal whether the host is staged or enforced
    // (and to a staged change's, once that is the declaration).
    this.plainCompiler ??= new Compiler(withoutObserve(this.fleet), this.options);
    const policyHash = this.plainCompiler.compileHost({ ...host, observe: undefined }).hash;
    const proposalHash = proposal ? this.shadow!.plain.compileHost(proposal.host).hash : undefined;
    return { ...ruleset, observe: { mode: observe.mode, policyHash, ...(proposalHash !== undefined ? { proposalHash } : {}) } };
  }

  /**
   * The host under the staged change, when one is evaluated on it: an
   * enforced host (a staged one observes its declared policy itself) whose
   * proposed groups are not none (no table would deny nothing).
   */
  private proposalOf(host: NormalisedHost): { host: NormalisedHost; compiler: Compiler } | undefined {
    if (!this.fleet.proposal) return undefined;
    if (!this.shadow) {
      const fleet = proposedFleet(this.fleet)!;
      this.shadow = { fleet, shadow: new Compiler(fleet, this.options, "proposal"), plain: new Compiler(fleet, this.options) };
    }
    const proposed = this.shadow.fleet.hosts.find((h) => h.name === host.name);
    if (!proposed || proposed.groups.length === 0) return undefined;
    return { host: proposed, compiler: this.shadow.shadow };
  }

  /** A staged change's chains for one host (docs/observe.md), from the proposal compiler. */
  private proposalChains(host: NormalisedHost, o: NormalisedHostObserve): ProposalParts {
    const chunks = host.groups.map((g) => this.chunk(g));
    const egressRestricted = chunks.some((c) => c.hasEgressRules);
    const sets = mergeSorted(chunks.map((c) => c.sets));
    const failsafeSets: string[] = [];
    const failsafe = this.failsafe(host, failsafeSets, []);
    const containers = this.fleet.containers;
    const chains: string[] = [];
    const jumps: Record<Direction, boolean> = { ingress: true, egress: egressRestricted };
    chains.push(
      `\n\tchain ${nftName({ kind: "proposalChain", direction: "ingress" })} {\n`,
      ...chunks.map((c) => c.counted.ingress),
      indentStatements(proposalEnd("ingress")),
      "\t}\n",
    );
    if (egressRestricted) {
      chains.push(
        `\n\tchain ${nftName({ kind: "proposalChain", direction: "egress" })} {\n`,
        indentStatements(proposalEgressPrelude(this.fleet.revokeEstablished, containerLocalStatements(containers, "egress"), failsafe.egress)),
        ...chunks.map((c) => c.counted.egress),
        indentStatements(proposalEnd("egress")),
        "\t}\n",
      );
    }
    const directions: Direction[] = egressRestricted ? ["ingress", "egress"] : ["ingress"];
    return {
      chains: chains.join(""),
      jumps,
      sets: mergeSorted([sortedUnique(failsafeSets), sets]).map((name) => ({ name, block: this.sets.get(name)!.block })),
      flowSets: flowSets(o, directions, true),
      counters: mergeSorted([...chunks.map((c) => c.counters), directions.map((d) => counterName(d === "ingress" ? "proposalUnrecordedIngress" : "proposalUnrecordedEgress")).sort()]),
      lines: mergeSorted(chunks.map((c) => c.lines))
        .filter((l) => /^(ingress|egress) /.test(l))
        .map((l) => `proposed ${l}`),
    };
  }

  private compileBody(host: NormalisedHost, observe?: NormalisedHostObserve, proposal?: { host: NormalisedHost; compiler: Compiler }): HostBody {
    const table = this.fleet.table;
    const chunks = host.groups.map((g) => this.chunk(g));
    const egressRestricted = chunks.some((c) => c.hasEgressRules);
    const hostLines: string[] = [];
    const hostSets: string[] = [];
    const failsafeRules = this.failsafe(host, hostSets, hostLines);
    const shadow = proposal && observe ? proposal.compiler.proposalChains(proposal.host, observe) : undefined;

    const revoke = this.fleet.revokeEstablished;
    const containers = this.fleet.containers;
    hostLines.push(...BASELINE_LINES.ingress, ...statefulLines(revoke, "ingress"), ...containerLines(containers, egressRestricted));
    if (egressRestricted) {
      hostLines.push(...BASELINE_LINES.egressRestricted, ...statefulLines(revoke, "egress"));
      if (failsafeRules.egress.length > 0) hostLines.push(`egress tcp from port ${host.sshPort}, no new connection [failsafe ssh: server side]`);
    } else {
      hostLines.push(...BASELINE_LINES.egressOpen);
    }
    if (observe?.mode === "staged") hostLines.splice(0, hostLines.length, ...hostLines.map(stagedLine));
    if (observe) hostLines.push(...observeLines(observe, table, egressRestricted));
    if (shadow) hostLines.push(...shadow.lines);

    // One array, one join: a flat string (no rope to flatten when hashing).
    const head = [
      `# nftsg: the firewall of a host in security groups ${host.groups.join(", ")}.\n`,
      "# Generated; the whole table is replaced on every apply.\n",
      tableRemovalScript(table),
      `table ${TABLE_FAMILY} ${table} {\n`,
    ].join("");
    const parts: string[] = [];
    const rules = (c: GroupChunk) => (observe ? c.counted : c);
    // Observed: the table's counters first (nft lists them before sets), then its flow sets with the others.
    const paths = filteredPaths({ containers, revokeEstablished: revoke, published: [], egress: egressRestricted ? [] : null });
    const extraSets: { name: string; block: string }[] = [];
    if (observe) {
      const dropDirections: Direction[] = egressRestricted || paths.egress ? ["ingress", "egress"] : ["ingress"];
      const fixed: string[] = [
        counterName("since"),
        counterName("invalid"),
        counterName("dropIngress"),
        counterName("unrecordedIngress"),
        ...(failsafeRules.counted.length > 0 ? [counterName("failsafe")] : []),
        ...(egressRestricted ? [counterName("dropEgress")] : []),
        ...(dropDirections.includes("egress") ? [counterName("unrecordedEgress")] : []),
        ...(paths.published ? [counterName("dropPublished")] : []),
        ...(paths.egress ? [counterName("dropContainerEgress")] : []),
      ];
      const counters = [...fixed, ...mergeSorted(chunks.map((c) => c.counters)), ...(shadow?.counters ?? [])];
      for (const name of dedupe(counters)) parts.push(renderCounter(name), "\n\n");
      extraSets.push(...flowSets(observe, dropDirections, false), ...(shadow ? [...shadow.sets, ...shadow.flowSets] : []));
    }
    const extra = new Map(extraSets.map((x) => [x.name, x.block]));
    for (const name of mergeSorted([sortedUnique(hostSets), ...chunks.map((c) => c.sets), [...extra.keys()].sort()])) {
      parts.push(extra.get(name) ?? this.sets.get(name)!.block, "\n\n");
    }
    const local = (direction: Direction) => containerLocalStatements(containers, direction);
    parts.push(
      `\tchain ${nftName({ kind: "chain", direction: "ingress" })} {\n`,
      observe ? chainHead("ingress", revoke, local("ingress"), invalidStatement(observe)) : chainHead("ingress", revoke, local("ingress")),
      indentStatements(observe ? failsafeRules.counted : failsafeRules.ingress),
      shadow?.jumps.ingress ? indentStatements([proposalJump("ingress")]) : "",
    );
    for (const c of chunks) parts.push(rules(c).ingress);
    if (observe) parts.push(indentStatements(dropEnd("ingress", observe, table)));
    parts.push("\t}\n\n", `\tchain ${nftName({ kind: "chain", direction: "egress" })} {\n`);
    if (egressRestricted) {
      parts.push(
        observe ? chainHead("egress", revoke, local("egress"), invalidStatement(observe)) : chainHead("egress", revoke, local("egress")),
        indentStatements(failsafeRules.egress),
        shadow?.jumps.egress ? indentStatements([proposalJump("egress")]) : "",
      );
      for (const c of chunks) parts.push(rules(c).egress);
      if (observe) parts.push(indentStatements(dropEnd("egress", observe, table)));
    } else {
      parts.push(EGRESS_OPEN_HEAD, shadow?.jumps.egress ? indentStatements([proposalJump("egress")]) : "");
    }
    parts.push(
      "\t}\n",
      shadow?.chains ?? "",
      containerChains({
        containers,
        revokeEstablished: revoke,
        published: chunks.map((c) => rules(c).published),
        egress: egressRestricted ? chunks.map((c) => rules(c).egress) : null,
        ...(observe ? { observe, table } : {}),
      }),
      "}\n",
    );

    if (this.options.lineStyle === "groups") {
      const peers = mergeSorted(chunks.map((c) => c.peers));
      hostLines.push(...peers.map((p) => this.peerLine(p)));
      hostLines.push(...mergeSorted(chunks.map((c) => c.lists)).map((l) => this.listLine(l)));
    }
    const lines = mergeSorted([sortedUnique(hostLines), ...chunks.map((c) => c.lines)]);
    // What the host side must know of this script, from what was decided
    // above: the failsafe's port when its ingress rules were written, and the
    // interfaces the input chain accepts like loopback (containerLocalStatements).
    const facts: RulesetFacts = {
      ...(failsafeRules.ingress.length > 0 ? { failsafePort: host.sshPort } : {}),
      localInterfaces: local("ingress").length > 0 ? [...containers.interfaces] : [],
    };
    return { head, tail: parts.join(""), lines, facts };
  }
}

/** What a staged change adds to one host's table. */
interface ProposalParts {
  chains: string;
  /** Which base chains jump into it. */
  jumps: Record<Direction, boolean>;
  /** Its peer, port and failsafe sets (p_...). */
  sets: { name: string; block: string }[];
  flowSets: { name: string; block: string }[];
  counters: string[];
  lines: string[];
}

/** The part of a host's observe settings that changes its script (not its acknowledgements). */
function observeKey(o: NormalisedHostObserve | undefined): string {
  return o ? `${o.mode}/${o.maxFlows}/${o.retentionHours}/${o.logPerMinute ?? ""}` : "-";
}

/** Compile an already validated fleet. */
export function compileNormalisedFleet(fleet: NormalisedFleet, options: CompileOptions = {}): CompiledFleet {
  const optIssues = optionIssues(options);
  if (optIssues.length > 0) throw new FleetValidationError(optIssues);
  return new Compiler(fleet, options).compileAll(options.only);
}

/** Where a remote group's members come from, for lines: "remote, bastion of org/platform/prod". */
export function remoteOrigin(r: Pick<NormalisedRemoteGroup, "name" | "group" | "stack">): string {
  const group = r.group !== r.name ? ` ${r.group}` : "";
  return `remote${group}${r.stack ? `${group ? "" : ","} ${group ? "of" : "from"} ${r.stack}` : ""}`;
}

/** `name address` for every address of every member, sorted. */
function memberEntries(members: readonly Member[]): string[] {
  const entries: string[] = [];
  for (const m of members) for (const a of m.addresses) entries.push(`${m.name} ${formatAddress(a.family, a.value)}`);
  return entries.sort();
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function optionIssues(options: CompileOptions | undefined): ValidationIssue[] {
  if (options === undefined) return [];
  const owners: [string, unknown][] = [["options.owner", options.owner]];
  for (const [host, o] of Object.entries(options.owners ?? {})) owners.push([`options.owners.${host}`, o]);
  return owners
    .filter(([, owner]) => owner !== undefined && (typeof owner !== "string" || !OWNER_PATTERN.test(owner)))
    .map(([path, owner]) => ({
      path,
      message: `owner ${JSON.stringify(owner)} is invalid; use 1-128 characters: letters, digits and . _ / @ : = + - (e.g. "org/project/stack")`,
    }));
}

/**
 * Validate and compile a fleet: one HostRuleset per declared host (hosts
 * attached to no group get `script: ""`, `lines: []`: they keep no table).
 * Throws FleetValidationError listing every problem found.
 */
export function compileFleet(decl: FleetDeclaration, options: CompileOptions = {}): CompiledFleet {
  const v = validateFleet(decl);
  const optIssues = optionIssues(options);
  if (!v.ok || optIssues.length > 0) throw new FleetValidationError([...(v.ok ? [] : v.issues), ...optIssues]);
  return new Compiler(v.fleet, options).compileAll(options.only);
}
