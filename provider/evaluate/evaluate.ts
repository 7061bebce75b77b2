// The product evaluator (docs/semantics.md) as a public API: would a new connection
// from `from` to `to` be accepted, and by which rules (source host's egress,
// destination host's ingress), or why is it dropped? Pure: works on the
// validated, normalised model; no I/O.
//
//   evaluate(declaration, { from: "sg:web", to: "db-1", protocol: "tcp", port: 5432 })
import type { Family } from "../addressing/cidr";
import type { FleetDeclaration } from "../declaration/declaration";
import type { NormalisedFleet } from "../declaration/fleetModel";
import { FleetValidationError, validateFleet } from "../declaration/validate";
import { type Endpoint, endpointHosts, endsOf, resolveEndpoint } from "./endpoints";
import { type FleetIndex, indexFleet } from "./fleetIndex";
import { type Coverage, type FlowResult, evaluateFlow } from "./flow";
import { type TrafficField, trafficProblems, type Traffic } from "../vocabulary/traffic";
import { coverageOfCode, pairCode, pairTable } from "./acceptSets";
import { ICMP_FAMILY, isIcmp } from "../vocabulary/protocols";

const DEFAULT_MAX_FLOWS = 10_000;

export { QUERY_PROTOCOLS, trafficProblems } from "../vocabulary/traffic";

export interface Query extends Traffic {
  /** A host name, `sg:<group>` (every member), `list:<address list>`, or an address/CIDR outside the fleet. */
  from: string;
  to: string;
  /** Only flows of this address family (default both). */
  family?: Family;
}

export interface Evaluation {
  /** allow: every flow the query stands for is accepted; deny: none is; partial: some are. */
  verdict: Coverage;
  /** How many flows (address pairs) the query stands for, by outcome. */
  counts: Record<Coverage, number>;
  /** The flows explained (rules on each side): all of them unless EvaluateOptions says otherwise. */
  flows: FlowResult[];
  /** Why the query stands for fewer flows than one might think (no members, no common family...). */
  notes: string[];
}

/** A query that names no such host/group, or traffic that cannot be sent. */
export class EvaluationError extends Error {
  constructor(
    readonly field: "from" | "to" | TrafficField,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "EvaluationError";
  }
}

export type Fleetish = FleetDeclaration | NormalisedFleet | FleetIndex;

/** An index for repeated queries; a declaration is validated first (throws FleetValidationError). */
export function fleetIndexOf(fleet: Fleetish): FleetIndex {
  if ("rulesOf" in fleet) return fleet;
  if ("groups" in fleet && !("securityGroups" in fleet)) return indexFleet(fleet);
  const r = validateFleet(fleet);
  if (!r.ok) throw new FleetValidationError(r.issues);
  return indexFleet(r.fleet);
}

function resolve(index: FleetIndex, field: "from" | "to", text: string): Endpoint {
  const r = resolveEndpoint(index, text);
  if (!r.ok) throw new EvaluationError(field, r.message);
  return r.endpoint;
}

function describeEnd(e: Endpoint): string {
  return e.kind === "host" ? e.host.name : e.kind === "group" ? `sg:${e.name}` : e.text;
}

const outsideFleet = (e: Endpoint) => e.kind === "outside" || e.kind === "named";

export interface EvaluateOptions {
  /** Which flows to explain in `flows` (default: all). */
  explain?: (coverage: Coverage) => boolean;
  /** At most this many explained flows (default 10,000); the rest are only counted. */
  maxFlows?: number;
}

export function evaluate(fleet: Fleetish, query: Query, options: EvaluateOptions = {}): Evaluation {
  const index = fleetIndexOf(fleet);
  const problem = trafficProblems(query)[0];
  if (problem) throw new EvaluationError(problem[0], problem[1]);
  const from = resolve(index, "from", query.from);
  const to = resolve(index, "to", query.to);
  if (outsideFleet(from) && outsideFleet(to)) {
    throw new EvaluationError("to", `${query.from} and ${query.to} are both outside the fleet; name a host or "sg:<group>" on one side`);
  }
  const notes: string[] = [];
  for (const e of [from, to]) {
    if (e.kind === "group" && e.members.length === 0) notes.push(`sg:${e.name} has no members`);
    for (const h of endpointHosts(e)) if (h.addresses.length === 0) notes.push(`${h.name} has no usable address (give it addresses)`);
    if (e.kind === "outside" && e.ends.length === 0) notes.push(`${e.text} holds only addresses of fleet hosts; name the hosts instead`);
    if (e.kind === "named") notes.push(...e.notes);
  }
  // Group expansions do not pair a host with itself (that is loopback);
  // naming the same host on both sides does.
  const bothHosts = from.kind === "host" && to.kind === "host";
  const family = query.family ?? (isIcmp(query.protocol) ? ICMP_FAMILY[query.protocol] : undefined);
  // Every pair is decided on the fast path; only the flows asked for are
  // explained (rules named) on the detailed one.
  const flows: FlowResult[] = [];
  const counts: Record<Coverage, number> = { allow: 0, deny: 0, partial: 0 };
  const explain = options.explain ?? (() => true);
  const maxFlows = options.maxFlows ?? DEFAULT_MAX_FLOWS;
  const fromEnds = endsOf(from).filter((e) => family === undefined || e.family === family);
  const toEnds = endsOf(to);
  const table = pairTable(index, fromEnds, toEnds, query);
  const byCode = [0, 0, 0];
  for (let i = 0; i < fromEnds.length; i++) {
    const s = fromEnds[i]!;
    for (let j = 0; j < toEnds.length; j++) {
      const d = toEnds[j]!;
      if (d.family !== s.family || (!bothHosts && s.host !== undefined && s.host === d.host)) continue;
      const code = pairCode(table, fromEnds, toEnds, i, j);
      byCode[code]!++;
      if (flows.length < maxFlows && explain(coverageOfCode(code))) flows.push(evaluateFlow(index, s, d, query));
    }
  }
  counts.deny = byCode[0]!;
  counts.allow = byCode[1]!;
  counts.partial = byCode[2]!;
  const total = counts.allow + counts.deny + counts.partial;
  if (total === 0) {
    notes.push(`no flow from ${describeEnd(from)} to ${describeEnd(to)}${family ? ` over IPv${family}` : ""}: no addresses of a common family`);
  }
  return { verdict: aggregate(counts), counts, flows, notes: [...new Set(notes)] };
}

function aggregate(c: Record<Coverage, number>): Coverage {
  if (c.allow === 0 && c.partial === 0) return "deny";
  return c.deny === 0 && c.partial === 0 ? "allow" : "partial";
}
