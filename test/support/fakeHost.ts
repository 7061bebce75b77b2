// A fake of the hosts (provider/host/ops.ts HostOps) with the real semantics
// of what the handlers rely on: one table per name with its listing, owner
// and instance records, a boot file and whether boot loads it, the host key,
// and the refusals (owner, foreign table, host key, lockout, unreachable).
// It mirrors the remote programs in provider/host/remoteScript.ts;
// test/hostContract.test.ts runs the same scenarios against a real lab host
// and this fake and requires the same outcomes, so handler tests on it
// (milliseconds, no root) mean what they would on a real host.
import { createHash } from "node:crypto";
import type { ConnectionDeclaration, RulesetFacts } from "../../provider/declaration/declaration";
import { HostError, type HostErrorKind } from "../../provider/host/errors";
import type { ApplyOptions, ApplyResult, HostOps, LiveState, ReadOptions, RemoveOptions, RemoveResult } from "../../provider/host/ops";
import { assertOwner, assertRulesetFacts, assertTableName } from "../../provider/host/remoteQuote";
import { assertScriptScope, ownerInScript } from "../../provider/host/remoteScriptScope";
import { tableDefinition } from "../../provider/nft/listing";
import { parseNftDuration } from "../../provider/nft/observations";
import { MAX_ROLLBACK_SECONDS, MIN_ROLLBACK_SECONDS } from "../../provider/vocabulary/defaults";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** One table on a fake machine. */
export interface FakeTable {
  /** `nft list table inet T`, as the kernel prints it. */
  listing: string;
}

/** One machine: what nftsg can see of it. */
export class FakeMachine {
  readonly tables = new Map<string, FakeTable>();
  /** /etc/nftsg/<table>.{nft,owner,instance}. */
  readonly bootFiles = new Map<string, string>();
  readonly ownerFiles = new Map<string, string>();
  readonly instanceFiles = new Map<string, string>();
  readonly stackFiles = new Map<string, string>();
  /** Tables whose boot loading (unit or include line) is installed. */
  readonly bootLoaded = new Set<string>();
  /** Operations that reached the machine (each one SSH connection or more). */
  readonly calls: string[] = [];
  /**
   * The facts each apply of a table was given (RulesetFacts: the failsafe
   * port and the local interfaces, which the real host checks), in order.
   */
  readonly appliedFacts: { table: string; facts: RulesetFacts }[] = [];
  reachable = true;
  /** When set, the next apply's lockout probe fails (the ruleset cuts SSH); one-shot. */
  lockoutNext = false;
  /** When set, the next apply is confirmed and then fails saving the ruleset for boot (the host keeps it live); one-shot. */
  failAfterConfirmNext = false;
  /** When set, the next operation of that kind fails with that kind of error, changing nothing; one-shot. */
  failNext: { op: "apply" | "read" | "remove"; kind: HostErrorKind } | undefined;

  /** The machine's clock (ms): tests may move it. */
  clockOffsetMs = 0;
  clockMs(): number {
    return Date.now() + this.clockOffsetMs;
  }

  constructor(
    readonly name: string,
    public hostKey: string,
  ) {}

  /**
   * Observe: what the kernel would record in a table: a flow in a dynamic set
   * (element text as nft lists it, e.g. "198.18.0.6 . tcp . 5432 counter
   * packets 3 bytes 180 expires 6d23h59m"), or a named counter's values.
   */
  record(table: string, set: string, element: string): void {
    const t = this.tables.get(table);
    if (!t) throw new Error(`no table ${table}`);
    const re = new RegExp(`(\\tset ${set} \\{\\n(?:\\t\\t(?!elements)[^\\n]*\\n)*)(?:\\t\\telements = \\{ ([^}]*) \\}\\n)?`);
    t.listing = t.listing.replace(re, (_all, head: string, els?: string) => `${head}\t\telements = { ${els ? `${els}, ` : ""}${element} }\n`);
  }

  /** Time passes on the machine: its clock moves, recorded flows come closer to expiring (none is removed). */
  advance(ms: number): void {
    this.clockOffsetMs += ms;
    for (const t of this.tables.values()) {
      t.listing = t.listing.replace(/ expires (\S+?)(,| \}|\n)/g, (_all, d: string, end: string) => ` expires ${formatDuration(Math.max(0, (parseNftDuration(d) ?? 0) - ms))}${end}`);
    }
  }

  count(table: string, counter: string, packets: number, bytes: number): void {
    const t = this.tables.get(table);
    if (!t) throw new Error(`no table ${table}`);
    t.listing = t.listing.replace(new RegExp(`(\\tcounter ${counter} \\{\\n\\t\\t)packets \\d+ bytes \\d+`), `$1packets ${packets} bytes ${bytes}`);
  }

  /** What boot would bring up: every table whose file boot loads. */
  reboot(): void {
    this.tables.clear();
    for (const t of this.bootLoaded) {
      const file = this.bootFiles.get(t);
      if (file !== undefined) this.tables.set(t, { listing: tableDefinition(file) });
    }
  }

  /** A table nftsg did not create (a distribution's inet filter). */
  addForeignTable(table: string, listing: string): void {
    this.tables.set(table, { listing });
  }
}

/** The owner a table records: its comment ("owner=<id>" or a bare id), else the owner file. */
function liveOwner(m: FakeMachine, table: string): string {
  const t = m.tables.get(table);
  const comment = t ? /^\tcomment "(.*)"$/m.exec(t.listing)?.[1] : undefined;
  if (comment !== undefined) {
    const inner = /owner=([^\s";,]*)/.exec(comment);
    if (inner?.[1]) return inner[1];
    if (/^[A-Za-z0-9._/@:=+-]+$/.test(comment)) return comment;
  }
  return m.ownerFiles.get(table) ?? "";
}

const stackOf = (owner: string) => owner.replace(/\/host=.*$/, "");

export class FakeHosts implements HostOps {
  readonly machines = new Map<string, FakeMachine>();

  /** A machine reachable at `host` (and `port`, default 22). */
  add(host: string, opts: { port?: number; name?: string; hostKey?: string } = {}): FakeMachine {
    const m = new FakeMachine(opts.name ?? host, opts.hostKey ?? `ssh-ed25519 FAKE${sha256(host).slice(0, 40)}`);
    this.machines.set(`${host}:${opts.port ?? 22}`, m);
    return m;
  }

  /** The same machine also reachable at another address (IPv4 and IPv6). */
  alias(host: string, machine: FakeMachine, port = 22): void {
    this.machines.set(`${host}:${port}`, machine);
  }

  machine(host: string, port = 22): FakeMachine {
    const m = this.machines.get(`${host}:${port}`);
    if (!m) throw new Error(`no fake machine at ${host}:${port}`);
    return m;
  }

  /** Every operation that reached any machine. */
  get calls(): string[] {
    return [...new Set(this.machines.values())].flatMap((m) => m.calls);
  }

  private connect(conn: ConnectionDeclaration, expected: string | undefined, op: string): FakeMachine {
    const m = this.machines.get(`${conn.host}:${conn.port ?? 22}`);
    if (!m || !m.reachable) throw new HostError(conn.host, "unreachable", "cannot connect: ECONNREFUSED");
    if (m.failNext && op.startsWith(m.failNext.op)) {
      const { kind } = m.failNext;
      m.failNext = undefined;
      throw new HostError(conn.host, kind, `injected ${kind} failure`);
    }
    const pinned = conn.hostKey ?? expected;
    if (pinned !== undefined && pinned !== m.hostKey) {
      throw new HostError(conn.host, "hostkey", `host key for ${conn.host} changed. No command was run.`);
    }
    m.calls.push(op);
    return m;
  }

  private refuseOwner(m: FakeMachine, conn: ConnectionDeclaration, table: string, owner: string, takeover: boolean | undefined, stackId?: string): void {
    const live = liveOwner(m, table);
    if (m.tables.has(table) && live === "" && !takeover) {
      throw hostError(conn, "owner", `table inet ${table} already exists and was not created by nftsg; nothing was changed`);
    }
    if (live !== "" && stackOf(live) !== stackOf(owner) && !takeover) {
      throw hostError(conn, "owner", `table inet ${table} is owned by stack ${live}, not by ${owner}; nothing was changed`);
    }
    const liveStack = m.stackFiles.get(table);
    if (liveStack !== undefined && stackId !== undefined && liveStack !== stackId && !takeover) {
      throw hostError(conn, "owner", `table inet ${table} is owned by another stack of the same name; nothing was changed`);
    }
  }

  async applyAtomically(conn: ConnectionDeclaration, table: string, script: string, opts: ApplyOptions): Promise<ApplyResult> {
    try {
      assertTableName(table);
      assertOwner(opts.owner);
      assertScriptScope(script, table);
      assertRulesetFacts(opts.facts);
      const rb = opts.rollbackSeconds ?? 30;
      if (!(rb >= MIN_ROLLBACK_SECONDS && rb <= MAX_ROLLBACK_SECONDS)) throw new Error("rollbackSeconds out of range");
    } catch (e) {
      throw hostError(conn, "check", (e as Error).message);
    }
    const scriptOwner = ownerInScript(script);
    if (scriptOwner !== undefined && scriptOwner !== opts.owner) throw hostError(conn, "owner", `the ruleset's table comment names owner ${scriptOwner}`);
    const m = this.connect(conn, opts.expectedHostKey, `apply ${table}`);
    this.refuseOwner(m, conn, table, opts.owner, opts.takeover, opts.stackId);
    m.appliedFacts.push({ table, facts: opts.facts });
    if (m.lockoutNext) {
      m.lockoutNext = false;
      throw hostError(conn, "lockout", "applying this ruleset would have cut SSH access; the host was rolled back to its previous ruleset");
    }
    // Observe: an observed table starts from the live one's counters and recorded flows (remoteLib.ts SH_SEED).
    const live = m.tables.get(table);
    const seed = live === undefined || stackOf(liveOwner(m, table)) === stackOf(opts.owner);
    const fresh = tableDefinition(script);
    const listing = seed && /^\tcounter counting_since \{$/m.test(fresh) ? seedListing(live?.listing ?? "", fresh, Math.floor(m.clockMs() / 1000)) : fresh;
    m.tables.set(table, { listing });
    if (m.failAfterConfirmNext) {
      m.failAfterConfirmNext = false;
      m.ownerFiles.set(table, opts.owner);
      if (opts.instance) m.instanceFiles.set(table, opts.instance);
      throw new HostError(conn.host, "apply", "applied and confirmed, but saving it for boot failed", { confirmed: true, hostKey: m.hostKey });
    }
    m.bootFiles.set(table, script.endsWith("\n") ? script : `${script}\n`);
    m.ownerFiles.set(table, opts.owner);
    if (opts.instance) m.instanceFiles.set(table, opts.instance);
    if (opts.stackId) m.stackFiles.set(table, opts.stackId);
    m.bootLoaded.add(table);
    return { hostKey: m.hostKey, listing, connections: 2, roundTrips: 2, appliedAtMs: m.clockMs() };
  }

  async readLive(conn: ConnectionDeclaration, table: string, opts: ReadOptions): Promise<LiveState> {
    const m = this.connect(conn, opts.expectedHostKey, `read ${table}`);
    const t = m.tables.get(table);
    const boot = m.bootFiles.get(table);
    const owner = liveOwner(m, table);
    const instance = m.instanceFiles.get(table);
    return {
      hostKey: m.hostKey,
      exists: t !== undefined,
      listing: t?.listing ?? "",
      persisted: boot !== undefined && m.bootLoaded.has(table),
      ...(owner ? { owner } : {}),
      ...(instance ? { instance } : {}),
      ...(boot !== undefined ? { bootSha256: sha256(boot) } : {}),
      nowMs: m.clockMs(),
    };
  }

  async removeTable(conn: ConnectionDeclaration, table: string, opts: RemoveOptions): Promise<RemoveResult> {
    try {
      assertTableName(table);
      assertOwner(opts.owner);
    } catch (e) {
      throw hostError(conn, "check", (e as Error).message);
    }
    const m = this.connect(conn, opts.expectedHostKey, `remove ${table}`);
    const result = (notes: string[]): RemoveResult => ({ hostKey: m.hostKey, notes });
    const live = liveOwner(m, table);
    if (m.tables.has(table) && live === "" && !opts.takeover) return result([`table inet ${table} was not created by nftsg; left in place`]);
    this.refuseOwner(m, conn, table, opts.owner, opts.takeover, opts.stackId);
    const liveInstance = m.instanceFiles.get(table);
    if (liveInstance !== undefined && liveInstance !== (opts.instance ?? "")) {
      return result([`table inet ${table} now belongs to another resource instance; left in place`]);
    }
    if (live !== "" && live !== opts.owner && !opts.takeover) return result([`table inet ${table} now belongs to ${live}; left in place`]);
    m.tables.delete(table);
    m.bootLoaded.delete(table);
    m.bootFiles.delete(table);
    m.ownerFiles.delete(table);
    m.instanceFiles.delete(table);
    m.stackFiles.delete(table);
    return result([]);
  }
}

/**
 * The host's seeding (provider/host/remoteLib.ts SH_SEED) on listings: the new
 * table's counters start from the live ones' values (counting_since from now
 * when the live table has none), its dynamic sets whose definition is
 * unchanged get the live elements.
 */
export function seedListing(live: string, fresh: string, nowS: number): string {
  const values = new Map([...live.matchAll(/^\tcounter (\S+) \{\n\t\t(packets \d+ bytes \d+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const sets = new Map<string, { def: string; elements?: string }>();
  for (const m of live.matchAll(/^\tset (\S+) \{\n((?:\t\t(?!elements)[^\n]*\n)*)(?:\t\telements = \{ ([^}]*) \}\n)?\t\}/gm)) {
    sets.set(m[1]!, { def: m[2]!, ...(m[3] !== undefined ? { elements: m[3].replace(/,\s+/g, ", ") } : {}) });
  }
  let out = fresh.replace(/^\tcounter (\S+) \{\n\t\tpackets 0 bytes 0$/gm, (all, name: string) => {
    const v = values.get(name) ?? (name === "counting_since" ? `packets ${nowS} bytes 0` : undefined);
    return v === undefined ? all : `\tcounter ${name} {\n\t\t${v}`;
  });
  out = out.replace(/^\tset (\S+) \{\n((?:\t\t[^\n]*\n)*)\t\}/gm, (all, name: string, def: string) => {
    const was = sets.get(name);
    if (!was?.elements || was.def !== def || !/flags .*dynamic/.test(def)) return all;
    return `\tset ${name} {\n${def}\t\telements = { ${was.elements} }\n\t}`;
  });
  return out;
}

/** Milliseconds as nft prints a duration ("1d2h3m4s5ms"). */
function formatDuration(ms: number): string {
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]] as const) {
    const n = Math.floor(ms / size);
    ms -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.join("") || "0s";
}

function hostError(conn: ConnectionDeclaration, kind: HostErrorKind, message: string): HostError {
  return new HostError(conn.host, kind, message);
}
