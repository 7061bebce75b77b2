// The product evaluator (DESIGN §2) as a public API: would a new connection
// from `from` to `to` be accepted, and by which rules (source host's egress,
// destination host's ingress), or why is it dropped? Pure: works on the
// validated, normalised model; no I/O.
//
//   evaluate(declaration, { from: "sg:web", to: "db-1", protocol: "tcp", port: 5432 })
import type { Family } from "../declaration/cidr";
import type { FleetDeclaration } from "../declaration/declaration";
import type { NormalisedFleet } from "../declaration/fleetModel";
import { FleetValidationError, validateFleet } from "../declaration/validate";
import { type Endpoint, endpointHosts, endsOf, resolveEndpoint } from "./endpoints";
import { type FleetIndex, indexFleet } from "./fleetIndex";
import { type Coverage, type FlowResult, type Traffic, evaluateFlow } from "./flow";
import { ICMP_FAMILY, type TrafficField, trafficProblems } from "./traffic";

export { QUERY_PROTOCOLS, trafficProblems } from "./traffic";

export interface Query extends Traffic {
  /** A host name, `sg:<group>` (every member), or an address/CIDR outside the fleet. */
  from: string;
  to: string;
  /** Only flows of this address family (default both). */
  family?: Family;
}

export interface Evaluation {
  /** allow: every flow the query stands for is accepted; deny: none is; partial: some are. */
  verdict: Coverage;
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

export function evaluate(fleet: Fleetish, query: Query): Evaluation {
  const index = fleetIndexOf(fleet);
  const problem = trafficProblems(query)[0];
  if (problem) throw new EvaluationError(problem[0], problem[1]);
  const from = resolve(index, "from", query.from);
  const to = resolve(index, "to", query.to);
  if (from.kind === "outside" && to.kind === "outside") {
    throw new EvaluationError("to", `${query.from} and ${query.to} are both outside the fleet; name a host or "sg:<group>" on one side`);
  }
  const notes: string[] = [];
  for (const e of [from, to]) {
    if (e.kind === "group" && e.members.length === 0) notes.push(`sg:${e.name} has no members`);
    for (const h of endpointHosts(e)) if (h.addresses.length === 0) notes.push(`${h.name} has no usable address (give it addresses)`);
    if (e.kind === "outside" && e.ends.length === 0) notes.push(`${e.text} holds only addresses of fleet hosts; name the hosts instead`);
  }
  // Group expansions do not pair a host with itself (that is loopback);
  // naming the same host on both sides does.
  const bothHosts = from.kind === "host" && to.kind === "host";
  const family = query.family ?? ICMP_FAMILY[query.protocol];
  const flows: FlowResult[] = [];
  const toEnds = endsOf(to);
  for (const s of endsOf(from)) {
    if (family !== undefined && s.family !== family) continue;
    for (const d of toEnds) {
      if (d.family !== s.family || (!bothHosts && s.host !== undefined && s.host === d.host)) continue;
      flows.push(evaluateFlow(index, s, d, query));
    }
  }
  if (flows.length === 0) {
    notes.push(`no flow from ${describeEnd(from)} to ${describeEnd(to)}${family ? ` over IPv${family}` : ""}: no addresses of a common family`);
  }
  return { verdict: aggregate(flows.map((f) => f.coverage)), flows, notes: [...new Set(notes)] };
}

function aggregate(list: readonly Coverage[]): Coverage {
  if (list.length === 0 || list.every((c) => c === "deny")) return "deny";
  return list.every((c) => c === "allow") ? "allow" : "partial";
}
