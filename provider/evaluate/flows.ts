// Flow-level views of a host's policy (docs/evaluate.md, flow previews):
//   - hostFlows: what it allows, one line per (traffic, peer) — the
//     Attachment's `flows` input, so `pulumi preview --diff` shows flows
//     gained and lost; descriptions are left out, so renaming one changes
//     no flow;
//   - hostFlowDiff: exactly what a change newly allows and newly denies,
//     with the rules responsible — the Markdown summary for pull requests.
import { type Cell, type PeerSet, cellsFor, isEmpty, peersOf } from "./cells";
import type { FleetIndex } from "./fleetIndex";
import { type FlowLine, flowLines } from "./flowLines";
import { type Grant, type HostGrants, everything, hostGrants } from "./grants";
import { sameIntervals, subtract } from "../addressing/intervals";
import { type Direction } from "../vocabulary/directions";

const DIRECTIONS: readonly Direction[] = ["ingress", "egress"];

function grantsOf(index: FleetIndex | undefined, host: string): HostGrants | undefined {
  const h = index?.host(host);
  return index && h ? hostGrants(index, h) : undefined;
}

/** A host outside the fleet has no nftsg table: nftsg filters nothing there. */
const unfiltered = (host: string): HostGrants => ({ host, ingress: [everything("ingress", "no nftsg table")], egress: [everything("egress", "no nftsg table")] });

/** What the host allows (new connections), one line per (traffic, peer), sorted. */
export function hostFlows(index: FleetIndex, host: string): string[] {
  const g = grantsOf(index, host);
  if (!g) return [];
  return DIRECTIONS.flatMap((d) => {
    const cells = cellsFor(g[d]).map((cell) => ({ cell, peers: peersOf(g[d], cell) }));
    return flowLines(index, host, d, cells, g[d]).map((l) => l.text);
  }).sort();
}

export interface HostFlowDiff {
  host: string;
  /** "created" / "removed" when the host enters or leaves the fleet. */
  status: "changed" | "created" | "removed";
  added: FlowLine[];
  removed: FlowLine[];
}

const minus = (a: PeerSet, b: PeerSet): PeerSet => ({
  4: sameIntervals(a[4], b[4]) ? [] : subtract(a[4], b[4]),
  6: sameIntervals(a[6], b[6]) ? [] : subtract(a[6], b[6]),
});

function directionDiff(oldIndex: FleetIndex, newIndex: FleetIndex, host: string, d: Direction, olds: readonly Grant[], news: readonly Grant[]) {
  const cells: Cell[] = cellsFor([...olds, ...news]);
  const pairs = cells.map((cell) => ({ cell, before: peersOf(olds, cell), after: peersOf(news, cell) }));
  const added = pairs.map((p) => ({ cell: p.cell, peers: minus(p.after, p.before) }));
  const removed = pairs.map((p) => ({ cell: p.cell, peers: minus(p.before, p.after) }));
  return {
    added: added.some((a) => !isEmpty(a.peers)) ? flowLines(newIndex, host, d, added, news) : [],
    removed: removed.some((r) => !isEmpty(r.peers)) ? flowLines(oldIndex, host, d, removed, olds) : [],
  };
}

/**
 * Flows the host newly allows and newly denies between two versions of the
 * fleet. A host entering or leaving the fleet is compared with no table.
 */
export function hostFlowDiff(oldIndex: FleetIndex, newIndex: FleetIndex, host: string): HostFlowDiff {
  const before = grantsOf(oldIndex, host);
  const after = grantsOf(newIndex, host);
  const status = before && after ? "changed" : after ? "created" : "removed";
  const out: HostFlowDiff = { host, status, added: [], removed: [] };
  for (const d of DIRECTIONS) {
    const r = directionDiff(oldIndex, newIndex, host, d, (before ?? unfiltered(host))[d], (after ?? unfiltered(host))[d]);
    out.added.push(...r.added);
    out.removed.push(...r.removed);
  }
  const byText = (a: FlowLine, b: FlowLine) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);
  out.added.sort(byText);
  out.removed.sort(byText);
  return out;
}

/** Every host of either version whose flows change, by name. */
export function fleetFlowDiff(oldIndex: FleetIndex, newIndex: FleetIndex): HostFlowDiff[] {
  const names = new Set([...oldIndex.fleet.hosts, ...newIndex.fleet.hosts].map((h) => h.name));
  return [...names]
    .sort()
    .map((n) => hostFlowDiff(oldIndex, newIndex, n))
    .filter((d) => d.status !== "changed" || d.added.length > 0 || d.removed.length > 0);
}
