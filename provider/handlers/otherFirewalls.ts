// The Attachment's report of other firewalls on its host (outputs
// `otherFirewalls` and `firewallWarnings`), made at apply and at refresh from
// the ruleset read on the same connection, and its warnings sent to the
// engine so that `pulumi up` / `pulumi refresh` show them.
import type { RulesetRead } from "../host/otherTables";
import { warn } from "./engineLog";

export interface OtherFirewallsOutputs {
  /** Base chains of other tables on the host's hooks, one line each, with the tool that made them. */
  otherFirewalls: string[];
  /** Where they contradict the host's nftsg table. */
  firewallWarnings: string[];
}

export const NO_REPORT: OtherFirewallsOutputs = { otherFirewalls: [], firewallWarnings: [] };

export async function reportOtherFirewalls(
  hostName: string,
  table: string,
  read: RulesetRead | undefined,
  connectAddress?: string,
): Promise<OtherFirewallsOutputs> {
  if (read === undefined) return NO_REPORT;
  let report: OtherFirewallsOutputs;
  if ("error" in read) {
    report = { otherFirewalls: [], firewallWarnings: [`could not read the host's other tables: ${read.error}`] };
  } else {
    const { analyseOtherFirewalls } = require("../compiler/coexistence") as typeof import("../compiler/coexistence");
    try {
      const r = analyseOtherFirewalls(read.json, table, "inet", { addresses: read.addresses, routes: read.routes, connectAddress });
      report = { otherFirewalls: r.chains, firewallWarnings: r.warnings };
    } catch (e) {
      report = { otherFirewalls: [], firewallWarnings: [`could not analyse the host's other tables: ${(e as Error).message}`] };
    }
  }
  for (const w of report.firewallWarnings) await warn(`nftsg: host ${hostName}: ${w}`);
  return report;
}
