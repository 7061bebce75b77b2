// The protocols a rule or a packet can name, and what each needs: one list,
// imported everywhere a protocol is checked, compiled or evaluated.
import type { Family } from "./families";

/** What a rule may name (docs/semantics.md#objects): "all" matches every protocol. */
export const PROTOCOLS = ["tcp", "udp", "icmp", "icmpv6", "all", "sctp", "esp", "ah", "gre"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** What a packet can have: every rule protocol but "all". */
export const PACKET_PROTOCOLS = ["tcp", "udp", "sctp", "icmp", "icmpv6", "esp", "ah", "gre"] as const satisfies readonly Protocol[];
export type PacketProtocol = (typeof PACKET_PROTOCOLS)[number];

/** Protocols with ports (a rule's `ports`, a packet's destination port). */
export const PORT_PROTOCOLS = ["tcp", "udp", "sctp"] as const satisfies readonly PacketProtocol[];
export type PortProtocol = (typeof PORT_PROTOCOLS)[number];

/** Protocols with an ICMP type and code; each exists in one address family only. */
export const ICMP_FAMILY = { icmp: 4, icmpv6: 6 } as const satisfies Partial<Record<PacketProtocol, Family>>;
export type IcmpProtocol = keyof typeof ICMP_FAMILY;

export function hasPorts(protocol: unknown): protocol is PortProtocol {
  return (PORT_PROTOCOLS as readonly unknown[]).includes(protocol);
}

export function isIcmp(protocol: unknown): protocol is IcmpProtocol {
  return protocol === "icmp" || protocol === "icmpv6";
}

/** The families a rule of this protocol can match. */
export function protocolFamilies(protocol: Protocol): readonly Family[] {
  return isIcmp(protocol) ? [ICMP_FAMILY[protocol]] : [4, 6];
}
