// Groups shared across stacks (docs/multistack.md). A Fleet publishes the
// membership of chosen groups — member names and addresses, nothing else —
// as one versioned value (`Fleet.published`, exported as a stack output);
// another stack, in any project and any backend, reads that value (through a
// StackReference, or as JSON handed over by CI) and declares it as a remote
// group. This file is the one definition of that value: how it is written
// (publishedGroups), how a consumer cuts out the group it uses
// (pickPublishedGroup), and how it is read, with a problem for everything
// missing or malformed (readRemoteGroup): remote data that is missing never
// silently becomes an empty group unless the consumer said it may.
import { type Address, FAMILY_BITS, formatAddress, parseAddress } from "../addressing/cidr";
import { specialRangeOf } from "./checks/specialAddresses";
import { HOST_NAME_PATTERN } from "../vocabulary/names";

/** The key that marks a published value, holding its format number. */
export const REMOTE_GROUPS_KEY = "nftsg.dev/remote-groups";
/** The format this version writes and reads. A reader refuses a newer one. */
export const REMOTE_GROUPS_FORMAT = 1;

/** One published member: its host name and the addresses other hosts see it by. */
export interface PublishedMember {
  name: string;
  /** Canonical text, sorted (IPv4 first), unique; never empty. */
  addresses: string[];
}

/**
 * The published value, format 1 (documented in docs/multistack.md). Readers
 * ignore fields they do not know; a change that a reader must not ignore
 * raises the format number.
 */
export interface PublishedGroups {
  [REMOTE_GROUPS_KEY]: number;
  /** The publishing stack, "organization/project/stack" (informative). */
  stack?: string;
  /** The publishing Fleet's name (informative). */
  fleet?: string;
  /** Each published group's members, sorted by name. */
  groups: Record<string, { members: PublishedMember[] }>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** What publishing needs of a host: never its credentials. */
export interface PublishableHost {
  name: string;
  securityGroups: readonly string[];
  addresses?: readonly string[] | null;
  connection: { host: string };
}

function usable(a: Address | undefined): a is Address {
  return a !== undefined && specialRangeOf({ family: a.family, value: a.value, length: FAMILY_BITS[a.family] }) === undefined;
}

/** A host's addresses as other hosts see them: `addresses`, else connection.host when it is an IP (as the compiler takes them). */
export function memberAddresses(h: PublishableHost): string[] {
  const parsed = (h.addresses ?? [h.connection.host]).map((a) => parseAddress(a)).filter(usable);
  parsed.sort((x, y) => x.family - y.family || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0));
  return [...new Set(parsed.map((a) => formatAddress(a.family, a.value)))];
}

/**
 * The published value for `groups` of a fleet: each group's members (hosts
 * attached to it), by name, with their addresses. Deterministic: the same
 * membership gives the same value whatever the declaration order.
 */
export function publishedGroups(hosts: readonly PublishableHost[], groups: readonly string[], meta: { stack?: string; fleet?: string } = {}): PublishedGroups {
  const out: PublishedGroups["groups"] = {};
  for (const g of [...new Set(groups)].sort()) {
    const members = hosts
      .filter((h) => h.securityGroups.includes(g))
      .map((h) => ({ name: h.name, addresses: memberAddresses(h) }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    out[g] = { members };
  }
  return {
    [REMOTE_GROUPS_KEY]: REMOTE_GROUPS_FORMAT,
    ...(meta.stack !== undefined ? { stack: meta.stack } : {}),
    ...(meta.fleet !== undefined ? { fleet: meta.fleet } : {}),
    groups: out,
  };
}

/**
 * The part of a published value a consumer needs for one group: the same
 * value with only that group's members (the other published groups keep
 * their names only, for the message that names them when the group is
 * missing). Anything that is not a value of a known format is returned as
 * it is, for the check to explain.
 */
export function pickPublishedGroup(source: unknown, group: string): unknown {
  if (!isObj(source) || source[REMOTE_GROUPS_KEY] !== REMOTE_GROUPS_FORMAT || !isObj(source["groups"])) return source;
  const groups = source["groups"] as Obj;
  const picked = Object.prototype.hasOwnProperty.call(groups, group)
    ? { [group]: groups[group] }
    : Object.fromEntries(Object.keys(groups).map((k) => [k, {}]));
  return { ...source, groups: picked };
}

/** A member as read: addresses parsed. */
export interface RemoteMember {
  name: string;
  addresses: Address[];
}

export interface RemoteGroupRead {
  /** Sorted by name. */
  members: RemoteMember[];
  stack?: string;
  fleet?: string;
  /** Why the group is empty although allowEmpty let it be (for lines and notes). */
  emptyBecause?: string;
}

/** A problem at `path` (relative to the remote group: "source.groups.web", "group", "" for the entry itself). */
export interface RemoteProblem {
  path: string;
  message: string;
}

const CONTROL = /[\u0000-\u001f\u007f]/;
const MAX_META = 200;

function keyPath(k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)})`;
  return `${typeof v === "object" ? "an object" : `a ${typeof v}`}`;
}

const PUBLISH_HINT = "export the publishing Fleet's `published` value as a stack output (export const published = fleet.published) and pass that output here";

/**
 * Reads one remote group from a published value. `group` is the published
 * group's name, `groupField` the field that names it ("group" or "name"),
 * for messages. Every problem is returned (with its path), never thrown.
 */
export function readRemoteGroup(
  source: unknown,
  group: string,
  opts: { allowEmpty: boolean; groupField: "group" | "name" },
): { ok: true; read: RemoteGroupRead } | { ok: false; problems: RemoteProblem[] } {
  const problems: RemoteProblem[] = [];
  const fail = (path: string, message: string) => ({ ok: false as const, problems: [{ path, message }] });
  const empty = (why: string) => ({ ok: true as const, read: { members: [], emptyBecause: why } });
  if (source === undefined || source === null) {
    if (opts.allowEmpty) return empty("no published value yet");
    return fail(
      "source",
      `no published value (got ${describe(source)}): the publishing stack has no such output, or has not run \`pulumi up\` since it started publishing. ` +
        `${PUBLISH_HINT}, and run \`pulumi up\` there first; or set allowEmpty: true to accept an empty group until it has (its rules then match nothing)`,
    );
  }
  if (!isObj(source)) {
    const parsesAsJson = typeof source === "string" && (() => {
      try {
        return isObj(JSON.parse(source));
      } catch {
        return false;
      }
    })();
    return fail(
      "source",
      `expected the value a Fleet publishes (an object with ${JSON.stringify(REMOTE_GROUPS_KEY)} and groups), got ${describe(source)}` +
        (parsesAsJson ? "; it is JSON text: pass the parsed value (JSON.parse, or pulumi.Config.requireObject)" : `; ${PUBLISH_HINT}`),
    );
  }
  if (!(REMOTE_GROUPS_KEY in source)) {
    const nested = Object.entries(source).find(([, v]) => isObj(v) && REMOTE_GROUPS_KEY in v);
    return fail(
      "source",
      nested
        ? `is an object whose field ${JSON.stringify(nested[0])} holds the published value (the stack's outputs?); pass that field (e.g. stackReference.getOutput(${JSON.stringify(nested[0])}))`
        : `is not a published nftsg value: it has no ${JSON.stringify(REMOTE_GROUPS_KEY)} field (fields: ${Object.keys(source).slice(0, 8).join(", ") || "none"}); ${PUBLISH_HINT}`,
    );
  }
  const format = source[REMOTE_GROUPS_KEY];
  if (typeof format === "number" && Number.isInteger(format) && format > REMOTE_GROUPS_FORMAT) {
    return fail(
      `source${keyPath(REMOTE_GROUPS_KEY)}`,
      `the value was published in format ${format} by a newer pulumi-nftsg; this version reads format ${REMOTE_GROUPS_FORMAT}: upgrade pulumi-nftsg in this project`,
    );
  }
  if (format !== REMOTE_GROUPS_FORMAT) {
    return fail(`source${keyPath(REMOTE_GROUPS_KEY)}`, `must be the format number ${REMOTE_GROUPS_FORMAT}, got ${describe(format)}${typeof format === "number" ? ` (${format})` : ""}`);
  }
  const meta: { stack?: string; fleet?: string } = {};
  for (const field of ["stack", "fleet"] as const) {
    const v = source[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string" || CONTROL.test(v) || v.length > MAX_META) {
      problems.push({ path: `source.${field}`, message: `must be a single line of text of at most ${MAX_META} characters, got ${describe(v)}` });
    } else {
      meta[field] = v;
    }
  }
  const from = meta.stack ? ` (stack ${meta.stack}${meta.fleet ? `, Fleet ${meta.fleet}` : ""})` : "";
  const groups = source["groups"];
  if (!isObj(groups)) {
    problems.push({ path: "source.groups", message: `expected an object of published groups by name, got ${describe(groups)}` });
    return { ok: false, problems };
  }
  if (!Object.prototype.hasOwnProperty.call(groups, group)) {
    if (problems.length) return { ok: false, problems };
    if (opts.allowEmpty) return { ok: true, read: { members: [], ...meta, emptyBecause: `group ${group} not published` } };
    const names = Object.keys(groups).sort();
    return fail(
      opts.groupField,
      `the published value${from} has no group ${JSON.stringify(group)} (it publishes ${names.length ? names.join(", ") : "no group"}); ` +
        `add it to the publishing Fleet's publish.groups and run \`pulumi up\` there, name a published group${opts.groupField === "name" ? " (set group)" : ""}, or set allowEmpty: true to accept an empty group`,
    );
  }
  const base = `source.groups${keyPath(group)}`;
  const entry = groups[group];
  const list = isObj(entry) ? entry["members"] : undefined;
  if (!Array.isArray(list)) {
    problems.push({ path: isObj(entry) ? `${base}.members` : base, message: `expected { members: [{ name, addresses }] }, got ${describe(isObj(entry) ? list : entry)}` });
    return { ok: false, problems };
  }
  const members: RemoteMember[] = [];
  list.forEach((m, k) => {
    const at = `${base}.members[${k}]`;
    if (!isObj(m)) return void problems.push({ path: at, message: `expected { name, addresses }, got ${describe(m)}` });
    const name = m["name"];
    if (typeof name !== "string" || !HOST_NAME_PATTERN.test(name)) {
      problems.push({ path: `${at}.name`, message: `expected a host name (1-64 letters, digits, ".", "_", "-"), got ${describe(name)}` });
    }
    const addrs = m["addresses"];
    if (!Array.isArray(addrs)) return void problems.push({ path: `${at}.addresses`, message: `expected a list of IP addresses, got ${describe(addrs)}` });
    const parsed: Address[] = [];
    addrs.forEach((a, n) => {
      const p = typeof a === "string" ? parseAddress(a) : undefined;
      if (!p) return void problems.push({ path: `${at}.addresses[${n}]`, message: `expected an IPv4 or IPv6 address, got ${describe(a)}` });
      const special = specialRangeOf({ family: p.family, value: p.value, length: FAMILY_BITS[p.family] });
      if (special) return void problems.push({ path: `${at}.addresses[${n}]`, message: `${a} is ${special.kind} (${special.range}): ${special.why}` });
      parsed.push(p);
    });
    if (addrs.length === 0) {
      problems.push({
        path: `${at}.addresses`,
        message: `member ${typeof name === "string" ? JSON.stringify(name) : k} has no address, so rules naming the group would silently not match it; give the host addresses in the publishing stack`,
      });
    }
    if (typeof name === "string") members.push({ name, addresses: parsed });
  });
  if (problems.length) return { ok: false, problems };
  if (members.length === 0) {
    if (opts.allowEmpty) return { ok: true, read: { members: [], ...meta, emptyBecause: "published without members" } };
    return fail(
      `${base}.members`,
      `the published group ${JSON.stringify(group)}${from} has no members; set allowEmpty: true if an empty group is acceptable here (rules naming it then match nothing)`,
    );
  }
  members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const m of members) {
    m.addresses.sort((x, y) => x.family - y.family || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0));
    m.addresses = m.addresses.filter((a, i) => i === 0 || a.family !== m.addresses[i - 1]!.family || a.value !== m.addresses[i - 1]!.value);
  }
  return { ok: true, read: { members, ...meta } };
}
