// The flow diff of a change as Markdown, for a pull-request comment: per host
// whose flows change, the flows newly allowed (+) and newly denied (-), with
// the rules responsible.
import type { NormalisedFleet } from "../declaration/fleetModel";
import { normaliseContainers } from "../declaration/containers";
import { type FleetIndex, indexFleet } from "./fleetIndex";
import { type HostFlowDiff, fleetFlowDiff } from "./flows";
import { DEFAULT_TABLE } from "../vocabulary/defaults";
import { sharedPeerChanges } from "./sharedPeers";

/** A fleet with no hosts: the "before" of a new stack, the "after" of a destroyed one. */
export const EMPTY_FLEET: NormalisedFleet = {
  table: DEFAULT_TABLE, failsafe: { ssh: true }, revokeEstablished: true, containers: normaliseContainers(undefined), groups: [], hosts: [],
};

export type FleetVersion = NormalisedFleet | "unknown";

const STATUS = { changed: "", created: " (joins the fleet)", removed: " (leaves the fleet: its table is removed)" } as const;

function hostSection(d: HostFlowDiff): string[] {
  const line = (sign: string, l: { text: string; origins: string[] }) => `${sign} ${l.text}${l.origins.length ? ` — ${l.origins.join("; ")}` : ""}`;
  return [
    `**${d.host}**${STATUS[d.status]}`,
    "```diff",
    ...d.added.map((l) => line("+", l)),
    ...d.removed.map((l) => line("-", l)),
    "```",
  ];
}

export function flowDiffMarkdown(name: string, before: FleetVersion, after: FleetVersion): string {
  const title = `### nftsg flow changes: ${name}`;
  if (before === "unknown" || after === "unknown") {
    return `${title}\n\nUnknown at preview: the declaration holds values not known until \`up\` (e.g. the address of a machine created in the same program).\n`;
  }
  const index = (f: NormalisedFleet): FleetIndex => indexFleet(f);
  const diffs = fleetFlowDiff(index(before), index(after));
  // Address lists and remote groups that change: once, before the hosts they reach.
  const shared = sharedPeerChanges(before, after);
  const sharedSection = shared.length ? ["Address lists and remote groups that change:", "", ...shared.map((l) => `- ${l}`), ""] : [];
  if (diffs.length === 0) return [title, "", ...sharedSection, "No flow changes.", ""].join("\n");
  const added = diffs.reduce((n, d) => n + d.added.length, 0);
  const removed = diffs.reduce((n, d) => n + d.removed.length, 0);
  const hosts = `${diffs.length} host${diffs.length === 1 ? "" : "s"}`;
  return [title, "", `${hosts} with flow changes: ${added} newly allowed, ${removed} newly denied.`, "", ...sharedSection, ...diffs.flatMap((d) => [...hostSection(d), ""])].join("\n");
}
