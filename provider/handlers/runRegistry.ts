// What the Attachments of one engine operation know about each other. The
// engine serves every dynamic resource of a `pulumi up`, `preview` or
// `destroy` from one provider process and calls `check` for every resource
// the program declares before it creates, updates or deletes anything for
// it; so this process sees every Attachment declared in this run.
//
// It answers two questions no single Attachment can:
// - is this host's table declared twice (two Fleets, or a table renamed onto
//   another Attachment's)? The second declaration is refused in its check;
// - may an Attachment that is no longer declared remove its table? Not while
//   another declared Attachment targets the same host and table and has not
//   confirmed an apply (a moved host whose new Attachment failed, under
//   `--continue-on-error`): the delete fails, so the resource stays in state
//   and the table stays on the host, until a later run confirms the successor.

/** Where an Attachment's table is: the host as nftsg reaches it, and the table. */
export function locationKey(address: string, port: number, table: string): string {
  return `${address}:${port}/${table}`;
}

/**
 * The problem of one host's table declared twice in one stack, in the same
 * words from the provider's check and from the SDK (sdk/locationGate.ts).
 */
export function alsoDeclaredProblem(address: string, port: number, table: string, others: readonly string[]): string {
  return `${address}:${port} table inet ${table} is also declared by ${others.join(" and ")} in this stack: ` +
    "one host's table has one Attachment; remove one declaration, or give one of them another table name";
}

/** The host by its name in the declaration, and the table: a move between Fleets keeps both. */
export function nameKey(hostName: string, table: string): string {
  return `host ${hostName}/${table}`;
}

interface Declared {
  /** "Fleet web, host web-1": for messages. */
  label: string;
  /** A confirmed apply (or removal) for this Attachment happened in this run. */
  confirmed: boolean;
}

export class RunRegistry {
  private readonly byLocation = new Map<string, Declared>();
  private readonly byName = new Map<string, Declared[]>();

  /**
   * Records a declared Attachment (from its check). Returns the label of
   * another declared Attachment at the same location, if there is one.
   */
  declare(fleet: string, hostName: string, address: string, port: number, table: string): string | undefined {
    const label = `Fleet ${fleet}, host ${hostName}`;
    const key = locationKey(address, port, table);
    const existing = this.byLocation.get(key);
    if (existing && existing.label !== label) return existing.label;
    if (!existing) {
      const d: Declared = { label, confirmed: false };
      this.byLocation.set(key, d);
      const byName = this.byName.get(nameKey(hostName, table)) ?? [];
      byName.push(d);
      this.byName.set(nameKey(hostName, table), byName);
    }
    return undefined;
  }

  /** A declared Attachment confirmed its apply (or its removal) at this location. */
  confirm(address: string, port: number, table: string): void {
    const d = this.byLocation.get(locationKey(address, port, table));
    if (d) d.confirmed = true;
  }

  /**
   * A declared Attachment that targets this host's table (same location, or
   * the same host name and table: a moved host) and has not confirmed in
   * this run; undefined if there is none.
   */
  unconfirmedSuccessor(hostName: string, address: string, port: number, table: string): string | undefined {
    const candidates = [this.byLocation.get(locationKey(address, port, table)), ...(this.byName.get(nameKey(hostName, table)) ?? [])];
    return candidates.find((d) => d !== undefined && !d.confirmed)?.label;
  }
}
