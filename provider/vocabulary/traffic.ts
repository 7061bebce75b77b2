// The traffic part of a query or policy test (protocol, port, ICMP type and
// code): what is sent, and what each protocol needs. Shared by validation
// (checks/policyTests.ts) and the evaluator.
import { ICMP_FAMILY, PACKET_PROTOCOLS, hasPorts, isIcmp, type PacketProtocol } from "./protocols";

/** What is sent: a protocol, and its destination port or ICMP type/code. */
export interface Traffic {
  protocol: PacketProtocol;
  /** tcp/udp/sctp: the destination port. */
  port?: number;
  /** icmp/icmpv6; default echo request (8 / 128). */
  icmpType?: number;
  /** Default 0. */
  icmpCode?: number;
}

export type TrafficField = "protocol" | "port" | "icmpType" | "icmpCode";

/** The protocols a query or policy test may name. */
export const QUERY_PROTOCOLS = PACKET_PROTOCOLS;
export { ICMP_FAMILY };

/** Every problem of the traffic part of a query, as [field, message]. */
export function trafficProblems(t: { protocol?: unknown; port?: unknown; icmpType?: unknown; icmpCode?: unknown }): [TrafficField, string][] {
  const out: [TrafficField, string][] = [];
  const protocol = t.protocol as Traffic["protocol"];
  if (!(QUERY_PROTOCOLS as readonly unknown[]).includes(protocol)) {
    out.push(["protocol", `${JSON.stringify(t.protocol)} is not a protocol a packet can have; use one of ${QUERY_PROTOCOLS.join(", ")}`]);
    return out;
  }
  const needsPort = hasPorts(protocol);
  const port = t.port;
  if (needsPort && (port === undefined || port === null)) out.push(["port", `${protocol} needs a destination port (1-65535)`]);
  else if (!needsPort && port !== undefined && port !== null) out.push(["port", `${protocol} has no ports; remove it`]);
  else if (needsPort && (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)) out.push(["port", "must be an integer in 1-65535"]);
  for (const f of ["icmpType", "icmpCode"] as const) {
    const v = t[f];
    if (v === undefined || v === null) continue;
    if (!isIcmp(protocol)) out.push([f, "only for icmp/icmpv6; remove it"]);
    else if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) out.push([f, "must be an integer in 0-255"]);
  }
  return out;
}
