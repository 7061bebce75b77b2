// The traffic part of a query or policy test (protocol, port, ICMP type and
// code): which protocols a packet can have, and what each needs. Imported by
// validation (checks/policyTests.ts), so it imports nothing of the evaluator.
import type { Family } from "../declaration/cidr";
import type { Traffic } from "./flow";

export type TrafficField = "protocol" | "port" | "icmpType" | "icmpCode";

export const QUERY_PROTOCOLS = ["tcp", "udp", "sctp", "icmp", "icmpv6", "esp", "ah", "gre"] as const satisfies readonly Traffic["protocol"][];
const PORT_PROTOCOLS: ReadonlySet<string> = new Set(["tcp", "udp", "sctp"]);
/** ICMP exists in one family only. */
export const ICMP_FAMILY: Partial<Record<Traffic["protocol"], Family>> = { icmp: 4, icmpv6: 6 };

/** Every problem of the traffic part of a query, as [field, message]. */
export function trafficProblems(t: { protocol?: unknown; port?: unknown; icmpType?: unknown; icmpCode?: unknown }): [TrafficField, string][] {
  const out: [TrafficField, string][] = [];
  const protocol = t.protocol as Traffic["protocol"];
  if (!(QUERY_PROTOCOLS as readonly unknown[]).includes(protocol)) {
    out.push(["protocol", `${JSON.stringify(t.protocol)} is not a protocol a packet can have; use one of ${QUERY_PROTOCOLS.join(", ")}`]);
    return out;
  }
  const needsPort = PORT_PROTOCOLS.has(protocol);
  const port = t.port;
  if (needsPort && (port === undefined || port === null)) out.push(["port", `${protocol} needs a destination port (1-65535)`]);
  else if (!needsPort && port !== undefined && port !== null) out.push(["port", `${protocol} has no ports; remove it`]);
  else if (needsPort && (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)) out.push(["port", "must be an integer in 1-65535"]);
  for (const f of ["icmpType", "icmpCode"] as const) {
    const v = t[f];
    if (v === undefined || v === null) continue;
    if (ICMP_FAMILY[protocol] === undefined) out.push([f, "only for icmp/icmpv6; remove it"]);
    else if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) out.push([f, "must be an integer in 0-255"]);
  }
  return out;
}
