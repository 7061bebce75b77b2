// One compile for the whole fleet, handed out per host. Each host's Output
// still depends only on its own slice of the declaration (sdk/slice.ts), so a
// value unknown at preview makes only the hosts that depend on it unknown;
// but once a host's slice is known its ruleset comes from one compile of
// every slice known so far, not from a compile of its own slice (which,
// repeated for every member of an all-to-all group, was cubic).
//
// Hosts ask as their slices resolve; requests that arrive in the same turn of
// the event loop (with plain inputs: all of them) share one compile.
import type {
  AddressListDeclaration, FleetDeclaration, HostDeclaration, HostRuleset, RemoteGroupDeclaration, SecurityGroupDeclaration,
} from "../provider/declaration/declaration";

/** Fleet-wide options: the same in every slice. */
export type FleetOptions = Pick<FleetDeclaration, "table" | "failsafe" | "revokeEstablished" | "containers" | "observe">;

/** The plain values of one host's slice. */
export interface SliceValues {
  options: FleetOptions;
  /** The host's own groups, with their rules. */
  ownGroups: SecurityGroupDeclaration[];
  /** Groups its rules name as peers: only their names matter. */
  peerGroups: { name: string; description?: string }[];
  self: HostDeclaration;
  /** Members of the peer groups (only their addresses matter). */
  peerMembers: readonly HostDeclaration[];
  /** Remote groups its rules name, their published values read (docs/multistack.md). */
  remoteGroups?: readonly RemoteGroupDeclaration[];
  /** Address lists its rules name. */
  addressLists?: readonly AddressListDeclaration[];
}

/** Compiles `only` these hosts of a declaration; throws on an invalid one. */
export type CompileHosts = (decl: FleetDeclaration, only: string[]) => Record<string, HostRuleset>;

interface Waiter {
  resolve(r: HostRuleset | Error): void;
}

export class SharedCompile {
  private options: FleetOptions | undefined;
  /** Groups by name; `full` once some host has it as its own (rules included). */
  private readonly groups = new Map<string, { decl: SecurityGroupDeclaration; full: boolean }>();
  private readonly hosts = new Map<string, HostDeclaration>();
  private readonly remoteGroups = new Map<string, RemoteGroupDeclaration>();
  private readonly addressLists = new Map<string, AddressListDeclaration>();
  /** Peer member lists are shared between hosts: register each one once. */
  private readonly seenMemberLists = new WeakSet<readonly HostDeclaration[]>();
  private batch: Map<string, Waiter[]> | undefined;

  /** `declared`: every group name of the declaration, whether or not a registered slice holds it. */
  constructor(
    private readonly declared: ReadonlySet<string>,
    private readonly compileHosts: CompileHosts,
  ) {}

  /** The ruleset of `host`, from a compile that includes its whole slice; an Error if the declaration is invalid. */
  request(host: string, slice: SliceValues): Promise<HostRuleset | Error> {
    this.register(slice);
    if (!this.batch) {
      const batch = new Map<string, Waiter[]>();
      this.batch = batch;
      setImmediate(() => {
        this.batch = undefined;
        this.flush(batch);
      });
    }
    const batch = this.batch;
    return new Promise((resolve) => {
      const waiters = batch.get(host) ?? [];
      waiters.push({ resolve });
      batch.set(host, waiters);
    });
  }

  private register(slice: SliceValues): void {
    this.options ??= slice.options;
    for (const g of slice.ownGroups) this.groups.set(g.name, { decl: g, full: true });
    for (const g of slice.peerGroups) if (!this.groups.has(g.name)) this.groups.set(g.name, { decl: g, full: false });
    this.hosts.set(slice.self.name, slice.self);
    for (const r of slice.remoteGroups ?? []) this.remoteGroups.set(r.name, r);
    for (const l of slice.addressLists ?? []) this.addressLists.set(l.name, l);
    if (!this.seenMemberLists.has(slice.peerMembers)) {
      this.seenMemberLists.add(slice.peerMembers);
      for (const h of slice.peerMembers) this.hosts.set(h.name, h);
    }
  }

  /**
   * The union of the slices registered so far. It holds each requester's
   * whole slice, and a host's script depends on nothing outside its slice,
   * so the result for it is what a compile of the complete fleet would give.
   * Groups known only as peers get no rules (theirs may name groups outside
   * every registered slice), and hosts keep only the registered groups — and
   * every name that no group of the declaration has, so that validation
   * refuses a misspelt group instead of the host silently losing it.
   */
  private union(): FleetDeclaration {
    const securityGroups = [...this.groups.values()].map((g) =>
      g.full ? g.decl : { name: g.decl.name, description: g.decl.description },
    );
    const hosts = [...this.hosts.values()].map((h) => ({
      ...h,
      securityGroups: h.securityGroups.filter((s) => this.groups.has(s) || !this.declared.has(s)),
    }));
    return {
      ...this.options,
      securityGroups,
      hosts,
      ...(this.addressLists.size > 0 ? { addressLists: [...this.addressLists.values()] } : {}),
      ...(this.remoteGroups.size > 0 ? { remoteGroups: [...this.remoteGroups.values()] } : {}),
    };
  }

  private flush(batch: Map<string, Waiter[]>): void {
    let results: Record<string, HostRuleset> | Error;
    try {
      results = this.compileHosts(this.union(), [...batch.keys()]);
    } catch (err) {
      results = err instanceof Error ? err : new Error(String(err));
    }
    for (const [host, waiters] of batch) {
      const r = results instanceof Error ? results : results[host] ?? new Error(`internal: ${host} missing from the fleet compile`);
      for (const w of waiters) w.resolve(r);
    }
  }
}
