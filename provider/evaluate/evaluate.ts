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
    readonly field: "from" | "to" | "protocol" | "port" | "icmpType" | "icmpCode",
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "EvaluationError";
  }
}

const PORT_PROTOCOLS = new Set(["tcp", "udp", "sctp"]);
const ICMP_FAMILY: Partial<Record<Traffic["protocol"], Family>> = { icmp: 4, icmpv6: 6 };
export const QUERY_PROTOCOLS: readonly Traffic["protocol"][] = ["tcp", "udp", "sctp", "icmp", "icmpv6", "esp", "ah", "gre"];

/** Every problem of the traffic part of a query, as [field, message]. */
export function trafficProblems(t: Partial<Traffic>): [EvaluationError["field"], string][] {
  const out: [EvaluationError["field"], string][] = [];
  if (!QUERY_PROTOCOLS.includes(t.protocol as Traffic["protocol"])) {
    out.push(["protocol", `${JSON.stringify(t.protocol)} is not a protocol a packet can have; use one of ${QUERY_PROTOCOLS.join(", ")}`]);
    return out;
  }
  const needsPort = PORT_PROTOCOLS.has(t.protocol!);
  if (needsPort && t.port === undefined) out.push(["port", `${t.protocol} needs a destination port (1-65535)`]);
  if (t.port !== undefined && (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535)) out.push(["port", `must be an integer in 1-65535`]);
  if (!needsPort && t.port !== undefined) out.push(["port", `${t.protocol} has no ports; remove it`]);
  for (const f of ["icmpType", "icmpCode"] as const) {
    const v = t[f];
    if (v === undefined) continue;
    if (ICMP_FAMILY[t.protocol!] === undefined) out.push([f, `only for icmp/icmpv6; remove it`]);
    else if (!Number.isInteger(v) || v < 0 || v > 255) out.push([f, `must be an integer in 0-255`]);
  }
  return out;
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
