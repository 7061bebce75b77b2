// The Attachment's report of other firewalls on its host (outputs
// `otherFirewalls` and `firewallWarnings`), made at apply and at refresh from
// the host's tables read on the same connection (host/rulesetJson.ts). Pure:
// the handler sends the warnings to the engine.

/** What the host printed: its ruleset and interfaces (host/rulesetJson.ts), as text. */
export interface HostTables {
  /** `nft -j list ruleset`. */
  json: string;
  /** `ip -j addr show` ("" if unavailable). */
  addresses: string;
  /** `ip -j route show default`, IPv4 then IPv6 (JSON arrays, one per line; "" if unavailable). */
  routes: string;
}

/** The host's tables, or why they could not be read (never fatal: the report is advice). */
export type RulesetRead = HostTables | { error: string };

export interface OtherFirewallsOutputs {
  /** Base chains of other tables on the host's hooks, one line each, with the tool that made them. */
  otherFirewalls: string[];
  /** Where they contradict the host's nftsg table. */
  firewallWarnings: string[];
}

export const NO_REPORT: OtherFirewallsOutputs = { otherFirewalls: [], firewallWarnings: [] };

export function reportOtherFirewalls(table: string, read: RulesetRead | undefined, connectAddress?: string): OtherFirewallsOutputs {
  if (read === undefined) return NO_REPORT;
  let report: OtherFirewallsOutputs;
  if ("error" in read) {
    report = { otherFirewalls: [], firewallWarnings: [`could not read the host's other tables: ${read.error}`] };
  } else {
    const { analyseOtherFirewalls } = require("./analysis") as typeof import("./analysis");
    try {
      const r = analyseOtherFirewalls(read.json, table, "inet", { addresses: read.addresses, routes: read.routes, connectAddress });
      report = { otherFirewalls: r.chains, firewallWarnings: r.warnings };
    } catch (e) {
      report = { otherFirewalls: [], firewallWarnings: [`could not analyse the host's other tables: ${(e as Error).message}`] };
    }
  }
  return report;
}
