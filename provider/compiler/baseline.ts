// The part of every host's ruleset that does not depend on its groups:
// stateful handling, loopback, the ICMPv6 and DHCP a host needs to stay on
// the network, and the default policies (docs/semantics.md#ingress, #egress).
// Order matters here.

import { quote } from "../nft/render";
import { FAILSAFE_LABEL } from "../vocabulary/names";

/**
 * The comments of the statements nftsg adds to every ruleset (this file,
 * containers.ts): never a group's permission. Group rule comments are
 * "<group>: ..." and group names have no spaces, so none of these can be
 * one; the other-firewalls analysis relies on that.
 */
export const BASELINE_COMMENT = {
  replies: "stateful: replies",
  related: "stateful: related traffic",
  repliesAndRelated: "stateful: replies and related traffic",
  invalid: "stateful: invalid packets",
  loopback: "loopback",
  essentialIcmpv6: "essential icmpv6: untracked by conntrack",
  dhcpReplies: "dhcp client replies",
  dhcpRequests: "dhcp client requests",
  dhcpv6Replies: "dhcpv6 client replies",
  dhcpv6Requests: "dhcpv6 client requests",
  localContainers: "local containers",
  published: "published ports and port forwards (DNAT)",
  routedToContainers: "local containers' own addresses (routed)",
  containerEgress: "container egress",
  // Observe (compiler/observe.ts): counting and recording drops; never a permission.
  invalidStaged: "stateful: invalid packets, counted and accepted (staged)",
  dropCounted: "default drop, counted",
  dropRecorded: "default drop, flow recorded",
  dropUnrecorded: "default drop, flow not recorded (flow set full)",
  dropLog: "default drop, logged",
  wouldDropRecorded: "would drop (staged), flow recorded and accepted",
  wouldDropUnrecorded: "would drop (staged), flow not recorded (flow set full) and accepted",
  proposalJump: "staged change: evaluated, never enforced",
  proposalRecorded: "staged change would deny, flow recorded",
  proposalUnrecorded: "staged change would deny, flow not recorded (flow set full)",
} as const;

export const BASELINE_COMMENTS: ReadonlySet<string> = new Set(Object.values(BASELINE_COMMENT));

/** The failsafe's comments: a permission (management SSH), unlike the baseline. */
export const FAILSAFE_COMMENT = { ingress: FAILSAFE_LABEL, serverSide: `${FAILSAFE_LABEL}: server side` } as const;

/**
 * ICMPv6 that conntrack does not track (so neither "established" nor, on
 * current kernels, "invalid"): without it a host loses its neighbours and
 * routers within minutes. Listed in numeric order, as nft prints them.
 */
export const ESSENTIAL_ICMPV6 =
  "icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld2-listener-report }";

/** Chain statements, indented for a chain body, one per line. */
export function indentStatements(statements: readonly string[]): string {
  return statements.length ? ["\t\t", statements.join("\n\t\t"), "\n"].join("") : "";
}

const ESSENTIAL_ICMPV6_RULE = `${ESSENTIAL_ICMPV6} accept comment ${quote(BASELINE_COMMENT.essentialIcmpv6)}`;

/**
 * Stateful handling. Keeping established connections (AWS-style) accepts
 * every packet of an accepted connection; revoking re-checks the packets of
 * established connections in their original direction against the rules, so
 * a connection that the new ruleset no longer allows stops at once, while
 * replies still always pass (docs/semantics.md#stateful).
 */
export function statefulRules(revokeEstablished: boolean): string[] {
  return revokeEstablished
    ? [
        `ct state established ct direction reply accept comment ${quote(BASELINE_COMMENT.replies)}`,
        `ct state related accept comment ${quote(BASELINE_COMMENT.related)}`,
      ]
    : [`ct state established,related accept comment ${quote(BASELINE_COMMENT.repliesAndRelated)}`];
}
const INVALID_RULE = `ct state invalid drop comment ${quote(BASELINE_COMMENT.invalid)}`;

/** What differs between the two directions of the baseline. */
const DIRECTION = {
  ingress: {
    hook: "input", iface: "iif", dhcp4: "sport 67 udp dport 68", dhcp6: "sport 547 udp dport 546",
    dhcpComment: BASELINE_COMMENT.dhcpReplies, dhcpv6Comment: BASELINE_COMMENT.dhcpv6Replies,
  },
  egress: {
    hook: "output", iface: "oif", dhcp4: "sport 68 udp dport 67", dhcp6: "sport 546 udp dport 547",
    dhcpComment: BASELINE_COMMENT.dhcpRequests, dhcpv6Comment: BASELINE_COMMENT.dhcpv6Requests,
  },
} as const;

/**
 * A filtering chain up to the failsafe and the group rules (ingress, or
 * egress when the host's groups restrict it): the same on every host of a
 * fleet. Default policy drop. `local`: statements that accept traffic of
 * local interfaces other than loopback (after the invalid drop).
 */
export function chainHead(direction: "ingress" | "egress", revokeEstablished: boolean, local: readonly string[] = [], invalidRule: string = INVALID_RULE): string {
  const d = DIRECTION[direction];
  return indentStatements([
    `type filter hook ${d.hook} priority filter; policy drop;`,
    ...statefulRules(revokeEstablished),
    `${d.iface} "lo" accept comment ${quote(BASELINE_COMMENT.loopback)}`,
    // Before the invalid drop: on older kernels conntrack may mark ND invalid.
    ESSENTIAL_ICMPV6_RULE,
    invalidRule,
    `meta nfproto ipv4 udp ${d.dhcp4} accept comment ${quote(d.dhcpComment)}`,
    `meta nfproto ipv6 udp ${d.dhcp6} accept comment ${quote(d.dhcpv6Comment)}`,
    ...local,
  ]);
}

/** No group of the host has an egress rule: the cloud default, all open. */
export const EGRESS_OPEN_HEAD = indentStatements(["type filter hook output priority filter; policy accept;"]);

/** The readable lines of the stateful part, per mode. */
export function statefulLines(revokeEstablished: boolean, direction: "ingress" | "egress"): string[] {
  return revokeEstablished
    ? [
        `${direction} accept replies of established connections and related traffic [stateful]`,
        `${direction} established connections re-checked against the rules [revokeEstablished]`,
      ]
    : [`${direction} accept established,related [stateful]`];
}

export const BASELINE_LINES = {
  ingress: [
    "ingress drop invalid [stateful]",
    "ingress accept loopback [loopback]",
    "ingress icmpv6 neighbour/router discovery and MLD from any [essential icmpv6]",
    "ingress udp/68 from any port 67 [dhcp client]",
    "ingress udp/546 from any port 547 [dhcpv6 client]",
    "ingress drop everything else [default policy]",
  ],
  egressRestricted: [
    "egress drop invalid [stateful]",
    "egress accept loopback [loopback]",
    "egress icmpv6 neighbour/router discovery and MLD to any [essential icmpv6]",
    "egress udp/67 to any from port 68 [dhcp client]",
    "egress udp/547 to any from port 546 [dhcpv6 client]",
    "egress drop everything else [default policy]",
  ],
  egressOpen: ["egress all to any [default: no egress rules]"],
} as const;

/**
 * A staged change's egress chain starts like an egress chain (docs/observe.md),
 * with `return` where the chain accepts: what every ruleset lets out (replies,
 * loopback, essential ICMPv6, DHCP, invalid packets, which are not the
 * proposal's to judge, local interfaces, sshd's side of management) is not the
 * staged change's to deny. Needed where the enforced egress is open.
 */
export function proposalEgressPrelude(revokeEstablished: boolean, local: readonly string[], failsafeServerSide: readonly string[]): string[] {
  const d = DIRECTION.egress;
  const ret = (s: string) => s.replace(/ (accept|drop) comment /, " return comment ");
  return [
    ...statefulRules(revokeEstablished).map(ret),
    ret(`${d.iface} "lo" accept comment ${quote(BASELINE_COMMENT.loopback)}`),
    ret(ESSENTIAL_ICMPV6_RULE),
    ret(INVALID_RULE),
    ret(`meta nfproto ipv4 udp ${d.dhcp4} accept comment ${quote(d.dhcpComment)}`),
    ret(`meta nfproto ipv6 udp ${d.dhcp6} accept comment ${quote(d.dhcpv6Comment)}`),
    ...local.map(ret),
    ...failsafeServerSide.map(ret),
  ];
}
