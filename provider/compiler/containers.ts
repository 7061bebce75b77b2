// The container paths of a host's ruleset (docs/containers.md): what a cloud
// security group does to everything that reaches or leaves the VM, applied
// to the traffic a host forwards for its own containers and VMs.
//
// - Published ports: a connection from outside to one of the host's ports
//   that the host destination-NATs to a local container (`docker run -p`)
//   never crosses the input hook; it is forwarded. `ct status dnat` marks it,
//   and `ct original proto-dst` is the port the client connected to, so the
//   host's ingress rules apply in a forward chain matched on that port. The
//   same holds where the host forwards it to another machine (a router's
//   port forward, a NodePort whose pod runs elsewhere): the client connected
//   to this host, as to a VM whose security group covers all its addresses.
// - Routed to a local container: a connection from outside to a local
//   container's own address (routed to the host, no DNAT) is a connection to
//   an address of the host too: the same ingress rules, on its port.
// - Container egress: traffic from a container interface to anywhere but
//   another container interface, when the host's groups restrict egress.
// - Local: traffic between the host and its container interfaces is accepted
//   in both directions, like loopback (DNS on the bridge, libvirt's DHCP).
//
// Everything else forwarded (routing between other interfaces, container-to-
// container) is left to other tables: the forward chain's policy is accept.

import type { NormalisedFleet } from "../declaration/fleetModel";
import { BASELINE_COMMENT, indentStatements, statefulRules } from "./baseline";
import { quote } from "../nft/render";
import type { NormalisedHostObserve } from "../declaration/fleetModel";
import { dropEnd, invalidStatement, type DropPoint } from "./observe";

export type Containers = NormalisedFleet["containers"];

/** Chain names (fixed: the table holds one of each). */
export const CONTAINER_CHAINS = { forward: "forward", published: "published", egress: "container_egress" } as const;

/**
 * nft's anonymous set of interface names and patterns, as nft lists it: one
 * element is listed without braces, and the read-back of an apply must match.
 */
function ifaceSet(interfaces: readonly string[]): string {
  const quoted = interfaces.map((i) => `"${i}"`);
  return quoted.length === 1 ? quoted[0]! : `{ ${quoted.join(", ")} }`;
}

/**
 * The statement that treats the container interfaces as local in the input
 * (ingress) or output (restricted egress) chain; none without interfaces.
 */
export function containerLocalStatements(c: Containers, direction: "ingress" | "egress"): string[] {
  if (c.interfaces.length === 0) return [];
  const key = direction === "ingress" ? "iifname" : "oifname";
  return [`${key} ${ifaceSet(c.interfaces)} accept comment ${quote(BASELINE_COMMENT.localContainers)}`];
}

/**
 * The match of a rule's port for a published connection: the port the client
 * connected to, before DNAT rewrote it to the container's port.
 */
export function publishedPortMatch(protocol: string): string {
  return `meta l4proto ${protocol} ct original proto-dst`;
}

export interface ContainerChainInput {
  containers: Containers;
  revokeEstablished: boolean;
  /** The host's ingress rule statements with publishedPortMatch (indented, newline-terminated). */
  published: readonly string[];
  /** The host's egress rule statements when its groups restrict egress, else null. */
  egress: readonly string[] | null;
  /** An observed host (docs/observe.md): its drops counted and recorded, or accepted when staged. */
  observe?: NormalisedHostObserve;
  table?: string;
}

/** Which of the two forwarded paths this host filters. */
export function filteredPaths(input: ContainerChainInput): { published: boolean; egress: boolean } {
  const c = input.containers;
  return { published: c.publishedPorts, egress: c.egress && input.egress !== null && c.interfaces.length > 0 };
}

const INVALID = `ct state invalid drop comment ${quote(BASELINE_COMMENT.invalid)}`;

function subChain(name: string, rules: readonly string[], what: string, observed?: { point: DropPoint; observe: NormalisedHostObserve; table: string }): string[] {
  return [
    `\n\tchain ${name} {\n`,
    indentStatements([observed ? invalidStatement(observed.observe) : INVALID]),
    ...rules,
    indentStatements(observed ? dropEnd(observed.point, observed.observe, observed.table) : [`drop comment ${quote(`${what}: everything else`)}`]),
    "\t}\n",
  ];
}

/** The forward chain and the chains it jumps to, for the table body ("" when none). */
export function containerChains(input: ContainerChainInput): string {
  const paths = filteredPaths(input);
  if (!paths.published && !paths.egress) return "";
  const ifaces = input.containers.interfaces.length > 0 ? ifaceSet(input.containers.interfaces) : null;
  const jumps: string[] = [];
  if (paths.published) {
    // From outside only: a container reaching a sibling's published port
    // through the host's address is container <-> host traffic (local).
    const outside = ifaces ? ` iifname != ${ifaces}` : "";
    jumps.push(`ct status dnat${outside} jump ${CONTAINER_CHAINS.published} comment ${quote(BASELINE_COMMENT.published)}`);
    // Not DNATed (those jumped above), from outside, into a container network:
    // the container's own address, routed to it (`ct original proto-dst` is
    // then the port itself).
    if (ifaces) {
      jumps.push(`iifname != ${ifaces} oifname ${ifaces} jump ${CONTAINER_CHAINS.published} comment ${quote(BASELINE_COMMENT.routedToContainers)}`);
    }
  }
  if (paths.egress) {
    jumps.push(`iifname ${ifaces} oifname != ${ifaces} jump ${CONTAINER_CHAINS.egress} comment ${quote(BASELINE_COMMENT.containerEgress)}`);
  }
  const parts: string[] = [
    `\n\tchain ${CONTAINER_CHAINS.forward} {\n`,
    indentStatements(["type filter hook forward priority filter; policy accept;", ...statefulRules(input.revokeEstablished), ...jumps]),
    "\t}\n",
  ];
  const observed = (point: DropPoint) => (input.observe ? { point, observe: input.observe, table: input.table ?? "" } : undefined);
  if (paths.published) parts.push(...subChain(CONTAINER_CHAINS.published, input.published, "published ports", observed("published")));
  if (paths.egress) parts.push(...subChain(CONTAINER_CHAINS.egress, input.egress ?? [], "container egress", observed("containerEgress")));
  return parts.join("");
}

/** The readable lines of the container paths. */
export function containerLines(c: Containers, egressRestricted: boolean): string[] {
  const lines: string[] = [];
  const ifaces = c.interfaces.join(", ");
  if (c.interfaces.length > 0) {
    lines.push(`ingress accept from local container interfaces ${ifaces} [containers]`);
    if (egressRestricted) lines.push(`egress accept to local container interfaces ${ifaces} [containers]`);
  }
  if (c.publishedPorts) {
    lines.push("forward connections from outside that this host DNATs (published ports, port forwards) follow the ingress rules, matched on the port the client connected to [containers]");
    if (c.interfaces.length > 0) lines.push("forward connections from outside to local containers' own addresses (routed, no DNAT) follow the ingress rules [containers]");
  } else {
    lines.push("forward published ports, port forwards and connections to local containers' own addresses not filtered [containers.publishedPorts: false]");
  }
  if (!egressRestricted) lines.push("forward container egress all to any [default: no egress rules]");
  else if (!c.egress) lines.push("forward container egress not filtered [containers.egress: false]");
  else if (c.interfaces.length === 0) lines.push("forward container egress not filtered [containers.interfaces: none]");
  else lines.push("forward container egress follows the egress rules [containers]");
  return lines;
}
