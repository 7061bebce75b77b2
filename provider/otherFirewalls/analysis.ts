import { hasPorts } from "../vocabulary/protocols";
import { BASELINE_COMMENT, BASELINE_COMMENTS } from "../compiler/baseline";
// Other firewalls on a host (docs/containers.md, "Coexistence"). nftsg never
// touches another table, but every base chain on a hook sees every packet,
// and a packet passes only if none of them drops it: another table's drop
// wins over our accept, and another table's accept cannot undo our drop.
// This module reads a host's whole ruleset (`nft -j list ruleset`) and says
// which other chains sit on the hooks and where they contradict our table.
// Pure: text in, report out.

/** The other tables' base chains and what contradicts our table. */
export interface OtherFirewalls {
  /** One line per base chain of another table, sorted. */
  chains: string[];
  /** Contradictions with our table, sorted, each naming both sides. */
  warnings: string[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

interface Chain {
  family: string;
  table: string;
  name: string;
  hook?: string;
  type?: string;
  prio?: number;
  policy?: string;
  rules: Rule[];
}

type Verdict = { kind: "accept" | "drop" | "return" } | { kind: "jump" | "goto"; target: string } | { kind: "none" };

/** What a rule matches, as far as a new connection to (proto, port) is concerned. */
interface Rule {
  /** tcp, udp, sctp, ... ; undefined = any protocol. */
  proto?: string;
  /** Destination port spans; undefined = any port. */
  ports?: [number, number][];
  /**
   * Never matches the first packet of a new connection from another host
   * (ct state established, ct direction reply, iif "lo", ...).
   */
  neverNew: boolean;
  /** Has other conditions (addresses, interfaces, marks, xt matches): matches only some packets. */
  conditional: boolean;
  verdict: Verdict;
  /** The rule's comment, if any. */
  comment?: string;
  /** Interface names/patterns of an `iifname ==` match. */
  ifnames?: string[];
}

/** How the usual tools name their tables and chains. */
const WELL_KNOWN_TOOLS: readonly { tool: string; chain?: RegExp; table?: RegExp }[] = [
  { tool: "docker", chain: /^DOCKER/ },
  { tool: "firewalld", table: /^firewalld$/ },
  { tool: "ufw", chain: /^ufw6?-/ },
  { tool: "libvirt", chain: /^LIBVIRT_/, table: /^libvirt/ },
  { tool: "kube-proxy", chain: /^KUBE-/, table: /^kube-proxy$/ },
  { tool: "fail2ban", chain: /^f2b-/, table: /^f2b-table$/ },
];

const PRIORITY_NAMES: Record<number, string> = { [-300]: "raw", [-150]: "mangle", [-100]: "dstnat", 0: "filter", 50: "security", 100: "srcnat" };

function portValue(v: unknown, sets: Map<string, unknown[]>): [number, number][] | null {
  if (typeof v === "number") return [[v, v]];
  if (typeof v === "string" && v.startsWith("@")) {
    const elems = sets.get(v.slice(1));
    return elems ? portList(elems, sets) : null;
  }
  if (isObj(v) && Array.isArray(v["range"])) {
    const [a, b] = v["range"] as unknown[];
    return typeof a === "number" && typeof b === "number" ? [[a, b]] : null;
  }
  if (isObj(v) && Array.isArray(v["set"])) return portList(v["set"] as unknown[], sets);
  return null;
}

function portList(items: readonly unknown[], sets: Map<string, unknown[]>): [number, number][] | null {
  const out: [number, number][] = [];
  for (const i of items) {
    const p = portValue(i, sets);
    if (!p) return null;
    out.push(...p);
  }
  return out;
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : isObj(v) && Array.isArray(v["set"]) ? (v["set"] as unknown[]) : [v]);

const VERDICT_TARGETS: Record<string, "accept" | "drop"> = { ACCEPT: "accept", DROP: "drop", REJECT: "drop" };
/** Statements that do not decide whether a rule matches. */
const NEUTRAL = new Set(["counter", "log", "comment", "notrack"]);

function parseRule(expr: readonly unknown[], sets: Map<string, unknown[]>, comment: string | undefined): Rule {
  const rule: Rule = { neverNew: false, conditional: false, verdict: { kind: "none" }, ...(comment ? { comment } : {}) };
  for (const e of expr) {
    if (!isObj(e)) continue;
    const key = Object.keys(e)[0]!;
    const body = e[key];
    if (key === "accept" || key === "drop" || key === "return") rule.verdict = { kind: key };
    else if (key === "reject") rule.verdict = { kind: "drop" };
    else if ((key === "jump" || key === "goto") && isObj(body) && typeof body["target"] === "string") {
      rule.verdict = { kind: key, target: body["target"] };
    } else if (key === "xt" && isObj(body) && body["type"] === "target" && typeof body["name"] === "string" && VERDICT_TARGETS[body["name"]]) {
      rule.verdict = { kind: VERDICT_TARGETS[body["name"]]! };
    } else if (key === "match" && isObj(body)) {
      parseMatch(rule, body, sets);
    } else if (!NEUTRAL.has(key)) {
      rule.conditional = true; // xt matches, limits, quotas, set statements...
    }
  }
  return rule;
}

function parseMatch(rule: Rule, m: Json, sets: Map<string, unknown[]>): void {
  const left = m["left"];
  const op = m["op"];
  const positive = op === "==" || op === "in";
  if (isObj(left) && isObj(left["payload"])) {
    const p = left["payload"] as Json;
    if (p["field"] === "dport" && positive) {
      const ports = portValue(m["right"], sets);
      if (p["protocol"] !== "th" && typeof p["protocol"] === "string") rule.proto = p["protocol"];
      if (ports) {
        rule.ports = ports;
        return;
      }
    }
  } else if (isObj(left) && isObj(left["meta"]) && (left["meta"] as Json)["key"] === "l4proto" && positive && typeof m["right"] === "string") {
    rule.proto = m["right"];
    return;
  } else if (isObj(left) && isObj(left["meta"]) && ["iif", "iifname"].includes(String((left["meta"] as Json)["key"])) && positive) {
    if (m["right"] === "lo") {
      rule.neverNew = true;
      return;
    }
    if ((left["meta"] as Json)["key"] === "iifname") rule.ifnames = asList(m["right"]).map(String);
  } else if (isObj(left) && isObj(left["ct"])) {
    const ct = left["ct"] as Json;
    const values = asList(m["right"]).map(String);
    if (ct["key"] === "state" && positive) {
      if (!values.includes("new")) rule.neverNew = true;
      return;
    }
    if (ct["key"] === "state" && op === "!=") {
      if (values.includes("new")) rule.neverNew = true;
      return;
    }
    if (ct["key"] === "direction" && positive) {
      if (!values.includes("original")) rule.neverNew = true;
      return;
    }
  }
  rule.conditional = true;
}

function parseRuleset(json: string): { chains: Map<string, Chain>; tables: Map<string, string[]> } {
  const doc = JSON.parse(json) as { nftables?: unknown[] };
  const items = Array.isArray(doc.nftables) ? doc.nftables : [];
  const chains = new Map<string, Chain>();
  const tables = new Map<string, string[]>(); // "family name" -> chain names
  const sets = new Map<string, Map<string, unknown[]>>(); // "family table" -> set name -> elements
  const key = (family: unknown, table: unknown) => `${String(family)} ${String(table)}`;
  for (const item of items) {
    if (!isObj(item)) continue;
    const set = item["set"] ?? item["map"];
    if (isObj(set)) {
      const k = key(set["family"], set["table"]);
      if (!sets.has(k)) sets.set(k, new Map());
      sets.get(k)!.set(String(set["name"]), Array.isArray(set["elem"]) ? set["elem"] : []);
    }
  }
  for (const item of items) {
    if (!isObj(item)) continue;
    const t = item["table"];
    if (isObj(t)) tables.set(key(t["family"], t["name"]), []);
    const c = item["chain"];
    if (isObj(c)) {
      const tk = key(c["family"], c["table"]);
      chains.set(`${tk} ${String(c["name"])}`, {
        family: String(c["family"]), table: String(c["table"]), name: String(c["name"]),
        ...(typeof c["hook"] === "string" ? { hook: c["hook"] } : {}),
        ...(typeof c["type"] === "string" ? { type: c["type"] } : {}),
        ...(typeof c["prio"] === "number" ? { prio: c["prio"] } : {}),
        ...(typeof c["policy"] === "string" ? { policy: c["policy"] } : {}),
        rules: [],
      });
      if (!tables.has(tk)) tables.set(tk, []);
      tables.get(tk)!.push(String(c["name"]));
    }
    const r = item["rule"];
    if (isObj(r) && Array.isArray(r["expr"])) {
      const tk = key(r["family"], r["table"]);
      const chain = chains.get(`${tk} ${String(r["chain"])}`);
      const comment = typeof r["comment"] === "string" ? r["comment"] : undefined;
      chain?.rules.push(parseRule(r["expr"], sets.get(tk) ?? new Map(), comment));
    }
  }
  return { chains, tables };
}

function toolsOf(table: string, chainNames: readonly string[]): string[] {
  return WELL_KNOWN_TOOLS.filter((t) => t.table?.test(table) || (t.chain && chainNames.some((n) => t.chain!.test(n)))).map((t) => t.tool);
}

/** A new connection to one of the ports our table accepts (tcp, udp or sctp). */
interface Probe {
  proto: string;
  span: [number, number];
  why: string;
}

/** Families whose input hook sees IP traffic (arp, bridge and netdev chains are listed, not analysed). */
const IP_FAMILIES = new Set(["ip", "ip6", "inet"]);

const ALL_PORTS: [number, number] = [1, 65535];

/** Where a rule's match stands for a probe: "no" match, "yes" for every such packet, "some" of them. */
function matches(rule: Rule, probe: Probe): "no" | "yes" | "some" {
  if (rule.neverNew) return "no";
  if (rule.proto !== undefined && rule.proto !== probe.proto) return "no";
  let full = !rule.conditional;
  if (rule.ports) {
    const [lo, hi] = probe.span;
    if (!rule.ports.some(([a, b]) => a <= hi && b >= lo)) return "no";
    if (!rule.ports.some(([a, b]) => a <= lo && b >= hi)) full = false;
  }
  return full ? "yes" : "some";
}

interface Walk {
  outcome: "accept" | "drop" | "return";
  /** The rule or policy that decided. */
  by: string;
  /** A rule with other conditions accepted some such packets before the outcome. */
  someAccepted: boolean;
}

function describeRule(c: Chain, r: Rule): string {
  return `${c.family} ${c.table} ${c.name}${r.comment ? ` ("${r.comment}")` : ""}`;
}

function walk(chains: Map<string, Chain>, c: Chain, probe: Probe, depth: number): Walk {
  let someAccepted = false;
  for (const r of c.rules) {
    const m = matches(r, probe);
    if (m === "no") continue;
    const v = r.verdict;
    if (v.kind === "none") continue;
    if (v.kind === "jump" || v.kind === "goto") {
      const target = chains.get(`${c.family} ${c.table} ${v.target}`);
      if (!target || depth > 16) continue;
      const sub = walk(chains, target, probe, depth + 1);
      someAccepted ||= sub.someAccepted;
      if (m === "some") {
        if (sub.outcome === "accept") someAccepted = true;
        continue;
      }
      if (sub.outcome !== "return") return { ...sub, someAccepted };
      if (v.kind === "goto") return { outcome: "return", by: sub.by, someAccepted };
      continue;
    }
    if (m === "some") {
      if (v.kind === "accept") someAccepted = true;
      continue;
    }
    return { outcome: v.kind, by: describeRule(c, r), someAccepted };
  }
  return { outcome: "return", by: `${c.family} ${c.table} ${c.name}`, someAccepted };
}


/** New connections our ingress chain accepts (from some peers): its tcp/udp/sctp rules, one probe per port span. */
function probesOf(own: Chain | undefined): Probe[] {
  if (!own) return [];
  const out: Probe[] = [];
  for (const r of own.rules) {
    if (r.verdict.kind !== "accept" || r.neverNew || !r.proto || !hasPorts(r.proto)) continue;
    if (r.comment !== undefined && BASELINE_COMMENTS.has(r.comment)) continue;
    for (const span of r.ports ?? [ALL_PORTS]) out.push({ proto: r.proto, span, why: r.comment ?? "a rule of nftsg" });
  }
  return out;
}

const formatSpan = ([a, b]: [number, number]) => (a === b ? `${a}` : a === 1 && b === 65535 ? "all ports" : `${a}-${b}`);
const formatProbe = (p: Probe) => `${p.proto}/${formatSpan(p.span)}`;

function describeChain(c: Chain, tools: readonly string[]): string {
  const prio = c.prio === undefined ? "?" : PRIORITY_NAMES[c.prio] ? `${PRIORITY_NAMES[c.prio]} (${c.prio})` : String(c.prio);
  return `${c.family} ${c.table} ${c.name}: ${c.type ?? "filter"} hook ${c.hook} priority ${prio} policy ${c.policy ?? "accept"}, ${c.rules.length} rule${c.rules.length === 1 ? "" : "s"}${tools.length ? ` [${tools.join(", ")}]` : ""}`;
}

/**
 * The other tables' base chains and their contradictions with ours, on the
 * input hook, where a verdict is a function of what our ingress rules name
 * (protocol and destination port). Published ports are not analysed: on the
 * forward hook other tools see the port after DNAT, and Docker's own chain
 * accepts exactly what it publishes.
 */
export function analyseOtherFirewalls(rulesetJson: string, ownTable: string, ownFamily = "inet", host?: HostInterfaces): OtherFirewalls {
  const { chains, tables } = parseRuleset(rulesetJson);
  const lines: string[] = [];
  const warnings: string[] = [];
  const own = chains.get(`${ownFamily} ${ownTable} ingress`);
  const probes = probesOf(own);
  // An "all protocols" group rule admits every port (from its peers).
  const ownAllProtocols = (own?.rules ?? []).some(
    (r) => r.verdict.kind === "accept" && !r.neverNew && r.proto === undefined && !r.ports && r.comment !== undefined && !BASELINE_COMMENTS.has(r.comment),
  );
  const ownPorts = (proto: string | undefined, span: [number, number]) =>
    ownAllProtocols || probes.some((p) => p.proto === proto && p.span[0] <= span[0] && p.span[1] >= span[1]);
  for (const c of [...chains.values()].sort((a, b) => `${a.family} ${a.table} ${a.name}`.localeCompare(`${b.family} ${b.table} ${b.name}`))) {
    if (c.hook === undefined || (c.family === ownFamily && c.table === ownTable)) continue;
    const tools = toolsOf(c.table, tables.get(`${c.family} ${c.table}`) ?? []);
    lines.push(describeChain(c, tools));
    if (c.hook !== "input" || (c.type ?? "filter") !== "filter" || !IP_FAMILIES.has(c.family)) continue;
    const who = `${c.family} ${c.table} ${c.name}${tools.length ? ` (${tools.join(", ")})` : ""}`;
    for (const probe of probes) {
      const w = walk(chains, c, probe, 0);
      const dropped = w.outcome === "drop" || (w.outcome === "return" && c.policy === "drop");
      if (!dropped) continue;
      const by = w.outcome === "drop" ? `its rule in ${w.by}` : "its policy drop";
      warnings.push(
        `${who} ${w.someAccepted ? "may drop" : "drops"} ${formatProbe(probe)}, which nftsg allows (${probe.why}): ${by}${w.someAccepted ? " (a rule with other conditions accepts some of it)" : ""}; a packet must pass every table on the hook, so allow it there too or remove that rule`,
      );
    }
    for (const r of reachableAccepts(chains, c)) {
      if (!r.ports || !r.proto || !hasPorts(r.proto)) continue;
      const missing = r.ports.filter((span) => !ownPorts(r.proto, span));
      if (missing.length === 0) continue;
      warnings.push(
        `${who} accepts ${r.proto}/${missing.map(formatSpan).join(",")}${r.conditional ? " (for some sources)" : ""}, which nftsg drops: another table's accept cannot override nftsg's drop; allow it in one of the host's security groups`,
      );
    }
  }
  if (host) warnings.push(...uplinkWarnings(own, host));
  return { chains: lines.sort(), warnings: [...new Set(warnings)].sort() };
}

/** The host's interfaces, for the check that no uplink is taken for a container bridge. */
export interface HostInterfaces {
  /** `ip -j addr show`. */
  addresses: string;
  /** `ip -j route show default` (and -6), one JSON array per line. */
  routes: string;
  /** The address nftsg connects to (connection.host). */
  connectAddress?: string;
}

const matchesPattern = (name: string, pattern: string) =>
  pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern;

function parseJsonArray(text: string): unknown[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

/**
 * An interface that carries the default route or the address nftsg connects
 * to, but matches a container interface pattern: everything arriving there
 * would be accepted as local container traffic.
 */
function uplinkWarnings(own: Chain | undefined, host: HostInterfaces): string[] {
  const patterns = own?.rules.find((r) => r.comment === BASELINE_COMMENT.localContainers)?.ifnames ?? [];
  if (patterns.length === 0) return [];
  const uplinks = new Map<string, string[]>(); // interface -> why it is an uplink
  const note = (dev: unknown, why: string) => {
    if (typeof dev !== "string") return;
    uplinks.set(dev, [...(uplinks.get(dev) ?? []), why]);
  };
  for (const line of host.routes.split("\n")) for (const r of parseJsonArray(line)) if (isObj(r)) note(r["dev"], "the default route");
  for (const link of parseJsonArray(host.addresses)) {
    if (!isObj(link) || !Array.isArray(link["addr_info"])) continue;
    for (const a of link["addr_info"] as unknown[]) {
      if (isObj(a) && a["local"] === host.connectAddress) note(link["ifname"], `${host.connectAddress}, the address nftsg connects to`);
    }
  }
  const out: string[] = [];
  for (const [dev, why] of uplinks) {
    const pattern = patterns.find((p) => matchesPattern(dev, p));
    if (!pattern) continue;
    out.push(
      `interface ${dev} carries ${[...new Set(why)].join(" and ")} but matches the container interface pattern "${pattern}": ` +
        `everything arriving on it is accepted as local container traffic, so the security groups do not protect it; ` +
        `set containers.interfaces to this host's container bridges only`,
    );
  }
  return out;
}

/** Accept rules for new connections in a base chain and the chains it jumps to. */
function reachableAccepts(chains: Map<string, Chain>, base: Chain): Rule[] {
  const seen = new Set<string>();
  const out: Rule[] = [];
  const visit = (c: Chain) => {
    const id = `${c.family} ${c.table} ${c.name}`;
    if (seen.has(id)) return;
    seen.add(id);
    for (const r of c.rules) {
      if (r.neverNew) continue;
      if (r.verdict.kind === "accept") out.push(r);
      else if (r.verdict.kind === "jump" || r.verdict.kind === "goto") {
        const t = chains.get(`${c.family} ${c.table} ${r.verdict.target}`);
        if (t) visit(t);
      }
    }
  };
  visit(base);
  return out;
}
