// Validation of a fleet declaration (awsx style: find every problem, report
// them all at once, each with the path of the offending field, what is wrong,
// and how to fix it — with the numbers).
//
// Two passes over the same input, both always run:
//   1. zod: structure — types, required fields, unknown fields (strict
//      objects: a misspelt `port:` must not silently mean "all ports"),
//      enums and integer ranges;
//   2. semantics, written defensively against `unknown` so it still runs
//      where zod found problems elsewhere: CIDRs, port specs, names,
//      duplicates, unknown group references, protocol/field combinations,
//      peer groups whose members have no usable address.
// Then, if nothing was found, the declaration is normalised (sorted,
// de-duplicated, parsed) for the compiler.

import { z } from "zod";
import {
  type Address,
  type Family,
  type Prefix,
  type PrefixParse,
  parseAddress,
  parsePrefix as parsePrefixText,
  formatAddress,
  intervalToNftElement,
  mergeIntervals,
  prefixToInterval,
} from "./cidr";
import type { Protocol } from "./declaration";
import type {
  NormalisedFleet,
  NormalisedGroup,
  NormalisedHost,
  NormalisedRule,
  ValidationIssue,
} from "./fleetModel";
import {
  DEFAULT_TABLE,
  GROUP_NAME_PATTERN,
  HOST_NAME_PATTERN,
  NFT_RESERVED_WORDS,
  TABLE_NAME_PATTERN,
  type Direction,
} from "./nftNames";
import { mergePortRanges, parsePortSpec, type PortRange } from "./ports";

export type { ValidationIssue } from "./fleetModel";

export const PROTOCOLS = ["tcp", "udp", "icmp", "icmpv6", "all", "sctp", "esp", "ah", "gre"] as const;
const PORT_PROTOCOLS: ReadonlySet<string> = new Set(["tcp", "udp", "sctp"]);
const ICMP_PROTOCOLS: ReadonlySet<string> = new Set(["icmp", "icmpv6"]);
const DIRECTIONS: readonly Direction[] = ["ingress", "egress"];
const MAX_DESCRIPTION = 256;
export const DEFAULT_SSH_PORT = 22;

// ---------------------------------------------------------------------------
// Pass 1: structure (zod)

const optional = <T extends z.ZodTypeAny>(t: T) => t.nullish();
const portSpecSchema = z.union([z.number(), z.string()]);
const portNumber = z.number().int().min(1).max(65535);

const ruleSchema = z
  .object({
    protocol: z.enum(PROTOCOLS),
    ports: optional(z.union([portSpecSchema, z.array(portSpecSchema)])),
    icmpType: optional(z.number().int().min(0).max(255)),
    icmpCode: optional(z.number().int().min(0).max(255)),
    cidrs: optional(z.array(z.string())),
    securityGroups: optional(z.array(z.string())),
    description: optional(z.string().max(MAX_DESCRIPTION)),
  })
  .strict();

const groupSchema = z
  .object({
    name: z.string(),
    description: optional(z.string().max(MAX_DESCRIPTION)),
    ingress: optional(z.array(ruleSchema)),
    egress: optional(z.array(ruleSchema)),
  })
  .strict();

const connectionFields = {
  host: z.string(),
  port: optional(portNumber),
  user: optional(z.string()),
  password: optional(z.string()),
  privateKey: optional(z.string()),
  privateKeyPassword: optional(z.string()),
  agentSocketPath: optional(z.string()),
  dialErrorLimit: optional(z.number().int().min(1)),
  perDialTimeout: optional(z.number().int().min(1)),
  hostKey: optional(z.string()),
};

const connectionSchema = z
  .object({
    ...connectionFields,
    proxy: optional(z.object(connectionFields).strict()),
    sudo: optional(z.boolean()),
  })
  .strict();

const hostSchema = z
  .object({
    name: z.string(),
    connection: connectionSchema,
    addresses: optional(z.array(z.string())),
    securityGroups: z.array(z.string()),
  })
  .strict();

export const fleetSchema = z
  .object({
    table: optional(z.string()),
    failsafe: optional(
      z
        .object({
          ssh: optional(z.boolean()),
          cidrs: optional(z.array(z.string())),
        })
        .strict(),
    ),
    securityGroups: z.array(groupSchema),
    hosts: z.array(hostSchema),
  })
  .strict();

export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out;
}

function describeReceived(received: string): string {
  return received === "undefined" ? "nothing" : received;
}

/** Field names whose values must never appear in a message. */
const SECRET_FIELDS = new Set(["password", "privateKey", "privateKeyPassword"]);

function zodIssues(error: z.ZodError): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of error.issues) {
    const path = formatPath(issue.path);
    const last = issue.path[issue.path.length - 1];
    switch (issue.code) {
      case "invalid_type":
        out.push({
          path,
          message:
            issue.received === "undefined"
              ? `is required (expected ${issue.expected})`
              : `expected ${issue.expected}, got ${describeReceived(issue.received)}`,
        });
        break;
      case "unrecognized_keys":
        for (const key of issue.keys) {
          const known = knownKeysAt(issue.path);
          const hint = didYouMean(key, known);
          out.push({
            path: formatPath([...issue.path, key]),
            message: `unknown field ${JSON.stringify(key)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ""}${
              known.length ? ` (allowed: ${known.join(", ")})` : ""
            }`,
          });
        }
        break;
      case "invalid_enum_value":
        out.push({
          path,
          message: `${JSON.stringify(issue.received)} is not supported; use one of ${issue.options.join(", ")}`,
        });
        break;
      case "invalid_union":
        if (last === "ports" || typeof last === "number") {
          out.push({ path, message: `expected a port (22), a port range ("8000-8100") or a list of them` });
        } else {
          out.push({ path, message: "has an invalid type" });
        }
        break;
      case "too_small":
      case "too_big": {
        const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
        if (issue.type === "string") {
          out.push({ path, message: `is too long; at most ${String(bound)} characters` });
        } else if (issue.type === "number") {
          const field = typeof last === "string" ? last : "value";
          const range = rangeText(field);
          out.push({
            path,
            message: `${issue.code === "too_small" ? "is below" : "is above"} the allowed ${
              range ? `range ${range}` : `${issue.code === "too_small" ? "minimum" : "maximum"} ${String(bound)}`
            }`,
          });
        } else {
          out.push({ path, message: issue.message });
        }
        break;
      }
      case "not_finite":
        out.push({ path, message: "must be a finite number" });
        break;
      default:
        out.push({
          path,
          message: typeof last === "string" && SECRET_FIELDS.has(last) ? "is invalid" : issue.message,
        });
    }
    // zod reports "expected integer, got float" as invalid_type; make it clear.
    const lastIssue = out[out.length - 1];
    if (lastIssue && issue.code === "invalid_type" && issue.expected === "integer") {
      lastIssue.message = `must be an integer${rangeText(String(last)) ? ` in ${rangeText(String(last))}` : ""}`;
    }
  }
  return out;
}

function rangeText(field: string): string | undefined {
  switch (field) {
    case "port":
      return "1-65535";
    case "icmpType":
    case "icmpCode":
      return "0-255";
    case "dialErrorLimit":
    case "perDialTimeout":
      return ">= 1";
    default:
      return undefined;
  }
}

function knownKeysAt(path: readonly (string | number)[]): string[] {
  const p = path.filter((s) => typeof s === "string");
  const last = p[p.length - 1];
  if (path.length === 0) return Object.keys(fleetSchema.shape);
  if (last === "failsafe") return ["ssh", "cidrs"];
  if (last === "ingress" || last === "egress") return Object.keys(ruleSchema.shape);
  if (last === "securityGroups" && p.length === 1) return Object.keys(groupSchema.shape);
  if (last === "hosts") return Object.keys(hostSchema.shape);
  if (last === "connection") return Object.keys(connectionSchema.shape);
  if (last === "proxy") return Object.keys(connectionFields);
  return [];
}

// ---------------------------------------------------------------------------
// Pass 2: semantics (defensive: input may be partly malformed)

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const present = (v: unknown) => v !== undefined && v !== null;

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate, if it is close enough to be a plausible typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    // "hostname" for "host", "port" for "ports": a prefix is a strong hint.
    const d = lc.length >= 3 && w.length >= 3 && (w.startsWith(lc) || lc.startsWith(w)) ? 1 : editDistance(w, lc);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;

function checkConnectionHost(host: string, path: string, add: (p: string, m: string) => void): void {
  if (host === "") return add(path, "is empty; set the SSH host name or IP address");
  if (/^\[.*\]$/.test(host)) {
    return add(path, `${JSON.stringify(host)}: write IPv6 addresses without brackets (${host.slice(1, -1)})`);
  }
  if (host.includes(":")) {
    if (!parseAddress(host)) add(path, `${JSON.stringify(host)} is not a valid IPv6 address`);
    return;
  }
  if (/^[0-9.]+$/.test(host)) {
    if (!parseAddress(host)) add(path, `${JSON.stringify(host)} is not a valid IPv4 address`);
    return;
  }
  if (!HOSTNAME.test(host)) {
    add(path, `${JSON.stringify(host)} is neither an IP address nor a valid DNS host name`);
  }
}

function checkDescription(v: unknown, path: string, add: (p: string, m: string) => void): void {
  if (typeof v === "string" && CONTROL_CHARS.test(v)) {
    add(path, "contains control characters (newline, tab, ...); use a single line of text");
  }
}

/** Usable addresses of a host: explicit `addresses`, else connection.host if it is an IP literal. */
function usableAddresses(host: Obj): Address[] {
  if (Array.isArray(host["addresses"])) {
    return host["addresses"].flatMap((a) => {
      const p = typeof a === "string" ? parseAddress(a) : undefined;
      return p ? [p] : [];
    });
  }
  const conn = host["connection"];
  if (isObj(conn) && typeof conn["host"] === "string") {
    const a = parseAddress(conn["host"]);
    if (a) return [a];
  }
  return [];
}

function semanticIssues(decl: unknown, parsePrefix: (text: string) => PrefixParse = parsePrefixText): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  if (!isObj(decl)) {
    add("", "the fleet declaration must be an object with securityGroups and hosts");
    return issues;
  }

  // table
  const table = decl["table"];
  if (typeof table === "string") {
    if (!TABLE_NAME_PATTERN.test(table)) {
      add(
        "table",
        `table name ${JSON.stringify(table)} is not a safe nft identifier; use 1-32 characters: lower-case letters, digits and "_", starting with a letter (e.g. "${DEFAULT_TABLE}")`,
      );
    } else if (NFT_RESERVED_WORDS.has(table)) {
      add("table", `table name ${JSON.stringify(table)} is an nft keyword; choose another, e.g. "${DEFAULT_TABLE}_${table}"`);
    }
  }

  // failsafe
  const failsafe = decl["failsafe"];
  if (isObj(failsafe)) {
    const cidrs = failsafe["cidrs"];
    if (Array.isArray(cidrs)) {
      if (failsafe["ssh"] === false) {
        add("failsafe.cidrs", "has no effect when failsafe.ssh is false; remove cidrs or enable the failsafe");
      }
      if (cidrs.length === 0) {
        add("failsafe.cidrs", "is empty; omit it to allow SSH from anywhere, or set failsafe.ssh: false to disable the failsafe");
      }
      cidrs.forEach((c, k) => {
        if (typeof c !== "string") return;
        const p = parsePrefix(c);
        if (!p.ok) add(`failsafe.cidrs[${k}]`, p.message);
      });
    }
  }

  // groups: names and duplicates first, so rules can resolve references.
  const groups = Array.isArray(decl["securityGroups"]) ? decl["securityGroups"] : [];
  const groupIndex = new Map<string, number>();
  groups.forEach((g, i) => {
    if (!isObj(g) || typeof g["name"] !== "string") return;
    const name = g["name"];
    if (!GROUP_NAME_PATTERN.test(name)) {
      add(
        `securityGroups[${i}].name`,
        `group name ${JSON.stringify(name)} is invalid; use 1-41 characters: lower-case letters, digits and "-", starting with a letter`,
      );
    }
    const first = groupIndex.get(name);
    if (first !== undefined) {
      add(`securityGroups[${i}].name`, `duplicate security group name ${JSON.stringify(name)} (already declared at securityGroups[${first}])`);
    } else {
      groupIndex.set(name, i);
    }
  });
  const groupNames = [...groupIndex.keys()].sort();
  const unknownGroup = (name: string): string => {
    const hint = didYouMean(name, groupNames);
    return `unknown security group ${JSON.stringify(name)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ""}${
      groupNames.length ? ` (declared: ${groupNames.join(", ")})` : " (no groups are declared)"
    }`;
  };

  /** Peer group name -> path of the first rule using it. */
  const peerGroupUse = new Map<string, string>();

  groups.forEach((g, i) => {
    if (!isObj(g)) return;
    checkDescription(g["description"], `securityGroups[${i}].description`, add);
    for (const dir of DIRECTIONS) {
      const rules = g[dir];
      if (!Array.isArray(rules)) continue;
      rules.forEach((r, j) => {
        if (!isObj(r)) return;
        checkRule(r, `securityGroups[${i}].${dir}[${j}]`);
      });
    }
  });

  function checkRule(r: Obj, path: string): void {
    const protocol = typeof r["protocol"] === "string" && (PROTOCOLS as readonly string[]).includes(r["protocol"]) ? r["protocol"] : undefined;
    checkDescription(r["description"], `${path}.description`, add);

    // ports
    const ports = r["ports"];
    if (present(ports)) {
      if (protocol !== undefined && !PORT_PROTOCOLS.has(protocol)) {
        add(`${path}.ports`, `ports apply only to tcp, udp and sctp; remove ports from this ${protocol} rule`);
      }
      if (Array.isArray(ports)) {
        if (ports.length === 0) add(`${path}.ports`, "is an empty list; omit ports to allow all ports");
        ports.forEach((p, k) => {
          if (typeof p !== "number" && typeof p !== "string") return;
          const parsed = parsePortSpec(p);
          if (!parsed.ok) add(`${path}.ports[${k}]`, parsed.message);
        });
      } else if (typeof ports === "number" || typeof ports === "string") {
        const parsed = parsePortSpec(ports);
        if (!parsed.ok) add(`${path}.ports`, parsed.message);
      }
    }

    // icmp type / code
    const hasType = present(r["icmpType"]);
    const hasCode = present(r["icmpCode"]);
    if (protocol !== undefined && !ICMP_PROTOCOLS.has(protocol)) {
      if (hasType) add(`${path}.icmpType`, `icmpType applies only to icmp and icmpv6; remove it from this ${protocol} rule`);
      if (hasCode) add(`${path}.icmpCode`, `icmpCode applies only to icmp and icmpv6; remove it from this ${protocol} rule`);
    } else if (hasCode && !hasType) {
      add(`${path}.icmpCode`, "icmpCode needs icmpType (a code is only meaningful within a type)");
    }

    // peers
    const cidrs = Array.isArray(r["cidrs"]) ? r["cidrs"] : [];
    const peerGroups = Array.isArray(r["securityGroups"]) ? r["securityGroups"] : [];
    const families = new Set<Family>();
    let allCidrsValid = true;
    cidrs.forEach((c, k) => {
      if (typeof c !== "string") {
        allCidrsValid = false;
        return;
      }
      const p = parsePrefix(c);
      if (!p.ok) {
        allCidrsValid = false;
        add(`${path}.cidrs[${k}]`, p.message);
      } else {
        families.add(p.prefix.family);
      }
    });
    peerGroups.forEach((s, k) => {
      if (typeof s !== "string") return;
      if (!groupIndex.has(s)) add(`${path}.securityGroups[${k}]`, unknownGroup(s));
      else if (!peerGroupUse.has(s)) peerGroupUse.set(s, path);
    });
    const cidrsField = r["cidrs"];
    const groupsField = r["securityGroups"];
    const cidrsTypedOk = !present(cidrsField) || Array.isArray(cidrsField);
    const groupsTypedOk = !present(groupsField) || Array.isArray(groupsField);
    if (cidrs.length === 0 && peerGroups.length === 0 && cidrsTypedOk && groupsTypedOk) {
      add(path, `rule has no peers; set cidrs (["0.0.0.0/0", "::/0"] for anywhere) and/or securityGroups`);
    }
    if (peerGroups.length === 0 && cidrs.length > 0 && allCidrsValid) {
      if (protocol === "icmp" && !families.has(4)) {
        add(
          `${path}.cidrs`,
          `protocol icmp (ICMPv4) only matches IPv4 peers, but every CIDR here is IPv6 (${cidrs.join(", ")}); use protocol icmpv6, or add IPv4 CIDRs`,
        );
      }
      if (protocol === "icmpv6" && !families.has(6)) {
        add(
          `${path}.cidrs`,
          `protocol icmpv6 only matches IPv6 peers, but every CIDR here is IPv4 (${cidrs.join(", ")}); use protocol icmp, or add IPv6 CIDRs`,
        );
      }
    }
  }

  // hosts
  const hosts = Array.isArray(decl["hosts"]) ? decl["hosts"] : [];
  const hostIndex = new Map<string, number>();
  hosts.forEach((h, i) => {
    if (!isObj(h)) return;
    const name = h["name"];
    if (typeof name === "string") {
      if (!HOST_NAME_PATTERN.test(name)) {
        add(
          `hosts[${i}].name`,
          `host name ${JSON.stringify(name)} is invalid; use 1-64 characters: letters, digits, ".", "_" and "-", starting with a letter or digit`,
        );
      }
      const first = hostIndex.get(name);
      if (first !== undefined) add(`hosts[${i}].name`, `duplicate host name ${JSON.stringify(name)} (already declared at hosts[${first}])`);
      else hostIndex.set(name, i);
    }
    const conn = h["connection"];
    if (isObj(conn)) {
      if (typeof conn["host"] === "string") checkConnectionHost(conn["host"], `hosts[${i}].connection.host`, add);
      const proxy = conn["proxy"];
      if (isObj(proxy) && typeof proxy["host"] === "string") {
        checkConnectionHost(proxy["host"], `hosts[${i}].connection.proxy.host`, add);
      }
    }
    const addresses = h["addresses"];
    if (Array.isArray(addresses)) {
      if (addresses.length === 0) {
        add(`hosts[${i}].addresses`, "is empty; omit it to default to connection.host, or list at least one address");
      }
      addresses.forEach((a, k) => {
        if (typeof a !== "string") return;
        if (parseAddress(a)) return;
        const asPrefix = parsePrefix(a);
        add(
          `hosts[${i}].addresses[${k}]`,
          a.includes("/") && asPrefix.ok
            ? `${JSON.stringify(a)} is a prefix; addresses are single IPs (e.g. ${formatAddress(asPrefix.prefix.family, asPrefix.prefix.value)})`
            : `${JSON.stringify(a)} is not a valid IPv4 or IPv6 address`,
        );
      });
    }
    const attached = h["securityGroups"];
    if (Array.isArray(attached)) {
      attached.forEach((s, k) => {
        if (typeof s === "string" && !groupIndex.has(s)) add(`hosts[${i}].securityGroups[${k}]`, unknownGroup(s));
      });
    }
  });

  // Members of peer groups need an address, or "from <group>" would silently
  // not include them.
  hosts.forEach((h, i) => {
    if (!isObj(h) || !Array.isArray(h["securityGroups"])) return;
    if (present(h["addresses"])) return; // explicit addresses: checked above
    const conn = h["connection"];
    if (!isObj(conn) || typeof conn["host"] !== "string" || conn["host"] === "") return;
    if (usableAddresses(h).length > 0) return;
    const used = (h["securityGroups"] as unknown[]).find((s): s is string => typeof s === "string" && peerGroupUse.has(s));
    if (used === undefined) return;
    const name = typeof h["name"] === "string" ? JSON.stringify(h["name"]) : `hosts[${i}]`;
    add(
      `hosts[${i}].addresses`,
      `host ${name} has no usable address, but it is a member of group ${JSON.stringify(used)}, which ${peerGroupUse.get(
        used,
      )} uses as a peer; connection.host ${JSON.stringify(conn["host"])} is not an IP literal, so set addresses (e.g. ["198.51.100.7"])`,
    );
  });

  return issues;
}

// ---------------------------------------------------------------------------
// Issue ordering

function naturalCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const ta = a.match(re) ?? [];
  const tb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return ta.length - tb.length;
}

export function sortIssues(issues: readonly ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  const unique = issues.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return unique
    .map((issue, n) => ({ issue, n }))
    .sort((x, y) => naturalCompare(x.issue.path, y.issue.path) || x.n - y.n)
    .map((x) => x.issue);
}

// ---------------------------------------------------------------------------
// Errors

export class FleetValidationError extends Error {
  readonly issues: ValidationIssue[];
  constructor(issues: readonly ValidationIssue[]) {
    const sorted = sortIssues(issues);
    const n = sorted.length;
    super(
      `invalid nftsg fleet declaration (${n} problem${n === 1 ? "" : "s"}):\n` +
        sorted.map((i) => `${i.path === "" ? "(declaration)" : i.path}: ${i.message}`).join("\n"),
    );
    this.name = "FleetValidationError";
    this.issues = sorted;
  }
}

// ---------------------------------------------------------------------------
// Normalisation (only on valid input)

type ParsedFleet = z.infer<typeof fleetSchema>;
type ParsedRule = z.infer<typeof ruleSchema>;

export function comparePrefixes(a: Prefix, b: Prefix): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  return a.length - b.length;
}

export function compareAddresses(a: Address, b: Address): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

function uniqueSorted<T>(items: readonly T[], cmp: (a: T, b: T) => number): T[] {
  const sorted = [...items].sort(cmp);
  return sorted.filter((x, i) => i === 0 || cmp(sorted[i - 1]!, x) !== 0);
}

function parsePrefixes(list: readonly string[], parsePrefix: (text: string) => PrefixParse): Prefix[] {
  return uniqueSorted(
    list.map((c) => {
      const p = parsePrefix(c);
      if (!p.ok) throw new Error(`internal: unvalidated CIDR ${c}`);
      return p.prefix;
    }),
    comparePrefixes,
  );
}

/** Merged CIDRs per family, as intervals and nft elements. */
export function mergeCidrs(prefixes: readonly Prefix[]): NormalisedRule["mergedCidrs"] {
  const out = {} as NormalisedRule["mergedCidrs"];
  for (const family of [4, 6] as const) {
    const intervals = mergeIntervals(prefixes.filter((p) => p.family === family).map(prefixToInterval));
    out[family] = { intervals, elements: intervals.map((iv) => intervalToNftElement(family, iv)) };
  }
  return out;
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

function ruleKey(r: Omit<NormalisedRule, "key">): string {
  const ports = r.ports ? r.ports.map((p) => `${pad(p.lo, 5)}-${pad(p.hi, 5)}`).join(",") : "*";
  const icmp = r.icmpType === undefined ? "*" : `${pad(r.icmpType, 3)}/${r.icmpCode === undefined ? "*" : pad(r.icmpCode, 3)}`;
  return [r.protocol, ports, icmp, r.cidrElements.join(","), r.groups.join(","), JSON.stringify(r.description ?? "")].join("|");
}

function normaliseRule(direction: Direction, r: ParsedRule, parsePrefix: (text: string) => PrefixParse): NormalisedRule {
  const protocol = r.protocol as Protocol;
  let ports: PortRange[] | undefined;
  if (r.ports !== undefined && r.ports !== null) {
    const specs = Array.isArray(r.ports) ? r.ports : [r.ports];
    ports = mergePortRanges(
      specs.map((s) => {
        const p = parsePortSpec(s);
        if (!p.ok) throw new Error(`internal: unvalidated port ${String(s)}`);
        return p.range;
      }),
    );
  }
  const description = r.description ?? undefined;
  const cidrs = parsePrefixes(r.cidrs ?? [], parsePrefix);
  const mergedCidrs = mergeCidrs(cidrs);
  const base: Omit<NormalisedRule, "key"> = {
    direction,
    protocol,
    ...(ports ? { ports } : {}),
    ...(r.icmpType !== undefined && r.icmpType !== null ? { icmpType: r.icmpType } : {}),
    ...(r.icmpCode !== undefined && r.icmpCode !== null ? { icmpCode: r.icmpCode } : {}),
    cidrs,
    cidrElements: [...mergedCidrs[4].elements, ...mergedCidrs[6].elements],
    mergedCidrs,
    groups: uniqueSorted(r.securityGroups ?? [], (a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    ...(description !== undefined && description !== "" ? { description } : {}),
  };
  return { ...base, key: ruleKey(base) };
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function normaliseRules(direction: Direction, rules: readonly ParsedRule[] | null | undefined, parsePrefix: (text: string) => PrefixParse): NormalisedRule[] {
  const out = (rules ?? []).map((r) => normaliseRule(direction, r, parsePrefix));
  return uniqueSorted(out, (a, b) => byString(a.key, b.key));
}

function normalise(p: ParsedFleet, parsePrefix: (text: string) => PrefixParse): NormalisedFleet {
  const groups: NormalisedGroup[] = p.securityGroups
    .map((g) => ({
      name: g.name,
      ...(g.description ? { description: g.description } : {}),
      ingress: normaliseRules("ingress", g.ingress, parsePrefix),
      egress: normaliseRules("egress", g.egress, parsePrefix),
    }))
    .sort((a, b) => byString(a.name, b.name));
  const hosts: NormalisedHost[] = p.hosts
    .map((h) => {
      let addresses: Address[];
      if (h.addresses) {
        addresses = h.addresses.map((a) => parseAddress(a)!);
      } else {
        const a = parseAddress(h.connection.host);
        addresses = a ? [a] : [];
      }
      return {
        name: h.name,
        connectionHost: h.connection.host,
        sshPort: h.connection.port ?? DEFAULT_SSH_PORT,
        addresses: uniqueSorted(addresses, compareAddresses),
        groups: uniqueSorted(h.securityGroups, byString),
      };
    })
    .sort((a, b) => byString(a.name, b.name));
  const fs = p.failsafe ?? {};
  return {
    table: p.table ?? DEFAULT_TABLE,
    failsafe: {
      ssh: fs.ssh !== false,
      ...(fs.cidrs ? { cidrs: parsePrefixes(fs.cidrs, parsePrefix) } : {}),
    },
    groups,
    hosts,
  };
}

// ---------------------------------------------------------------------------

export type ValidationResult = { ok: true; fleet: NormalisedFleet } | { ok: false; issues: ValidationIssue[] };

/** Validate and normalise a fleet declaration. Never throws. */
export function validateFleet(decl: unknown): ValidationResult {
  let issues: ValidationIssue[] = [];
  let parsed: ParsedFleet | undefined;
  // CIDRs are parsed in both the checking and the normalising pass; big
  // fleets repeat the same ones, so parse each distinct text once.
  const prefixCache = new Map<string, PrefixParse>();
  const parsePrefix = (text: string): PrefixParse => {
    let p = prefixCache.get(text);
    if (p === undefined) {
      p = parsePrefixText(text);
      prefixCache.set(text, p);
    }
    return p;
  };
  try {
    if (!isObj(decl)) return { ok: false, issues: semanticIssues(decl) };
    const r = fleetSchema.safeParse(decl);
    if (r.success) parsed = r.data;
    else issues.push(...zodIssues(r.error));
    issues.push(...semanticIssues(decl, parsePrefix));
    issues = sortIssues(issues);
    if (issues.length > 0 || !parsed) {
      return { ok: false, issues: issues.length ? issues : [{ path: "", message: "invalid declaration" }] };
    }
    return { ok: true, fleet: normalise(parsed, parsePrefix) };
  } catch (e) {
    // A bug here must not escape as an exception from a "never throws" API.
    return {
      ok: false,
      issues: [...issues, { path: "", message: `internal error while validating: ${e instanceof Error ? e.message : String(e)}` }],
    };
  }
}
