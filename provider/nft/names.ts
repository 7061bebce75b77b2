// Every nftables identifier the compiler emits comes from `nftName()` below,
// built from the constants in this file (knftables style: one naming
// function, no ad-hoc string building elsewhere).
//
// Names are stable: derived from what a set *means* (the peer declaration,
// the port list), never from a position in a list, so declaration order
// cannot change a script, and a membership change only changes a set's
// elements, not its name.

import { createHash } from "node:crypto";
import type { Family } from "../addressing/cidr";
import { formatPortRange, type PortRange } from "../addressing/ports";
import type { Direction } from "../vocabulary/directions";

export const TABLE_FAMILY = "inet";
/**
 * Keywords of nft's scanner (src/scanner.l, nftables 1.0.x-1.1.x) that match
 * TABLE_NAME_PATTERN (vocabulary/names.ts): `table inet filter` parses but
 * `table inet counter` does not. Some are only keywords in a sub-state of the scanner and
 * would work as table names on nft 1.0.6; they are reserved anyway so that a
 * name keeps working on other nft versions.
 */
export const NFT_RESERVED_WORDS: ReadonlySet<string> = new Set(
  (
    "eq ne le lt ge gt lshift rshift xor and or not vmap include define redefine undefine describe " +
    "chains sets tables rules trace hook device devices table chain rule set element map flowtable handle ruleset " +
    "socket transparent wildcard cgroupv2 level tproxy accept drop continue jump goto return to inet netdev " +
    "add replace update create insert delete get list reset flush rename import export monitor destroy " +
    "position index comment constant interval dynamic timeout elements expires policy size performance memory " +
    "flow offload meter meters flowtables limits maps secmarks synproxys tunnels hooks counter name packets bytes " +
    "last never counters quotas log prefix snaplen group queue num bypass fanout limit rate burst second minute " +
    "week over quota until used hour day reject with icmpx snat dnat masquerade redirect random persistent port " +
    "ll nh th bridge ether saddr daddr type typeof vlan id cfi dei pcp arp htype ptype hlen plen operation ip " +
    "version hdrlength dscp ecn ttl protocol checksum lsrr rr ssrr ra ptr value option options ackseq doff window " +
    "urgptr echo eol maxseg mss nop noop sack sack0 sack1 sack2 sack3 timestamp fastopen mptcp md5sig left right " +
    "count tsval tsecr subtype time icmp icmpv6 gateway code mtu taddr sequence igmp mrt ip6 priority flowlabel " +
    "hoplimit nexthdr ah reserved spi esp comp cpi flags udp udplite csumcov sport dport vxlan vni geneve gre " +
    "gretap tcp dccp sctp chunk vtag data init heartbeat abort shutdown error ecne cwr asconf tsn stream ssn ppid " +
    "seqno rt rt0 rt2 srh addr hbh frag reserved2 dst mh meta mark iif iifname iiftype oif oifname oiftype skuid " +
    "skgid nftrace rtclassid ibriport ibrname obriport obrname pkttype cpu iifgroup oifgroup cgroup nexthop tag " +
    "sid classid ct avgpkt l3proto zone original reply direction event expectation expiration helper helpers " +
    "label state status numgen inc jhash symhash seed mod offset dup fwd fib check osf synproxy wscale tunnel tos " +
    "erspan egress ingress path gbp class notrack all xml json vm exists missing exthdr ipsec reqid spnum in out " +
    "secmark xt"
  ).split(" "),
);

export const FAMILY_SUFFIX: Record<Family, string> = { 4: "v4", 6: "v6" };

/** Short stable digest used in names; collisions are detected by the compiler. */
export function nameDigest(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 12);
}

export type NameRequest =
  | { kind: "chain"; direction: Direction }
  | { kind: "failsafe"; family: Family }
  /**
   * The set of one rule's peers in one family: its canonical CIDRs of that
   * family plus the members of its peer groups (local or remote) and the
   * CIDRs of its address lists (named, not listed: a list's change changes
   * the set's elements, never its name). `fullRange`: the CIDRs are exactly
   * 0.0.0.0/0 (or ::/0) and there are no groups and no lists.
   */
  | { kind: "peers"; family: Family; cidrs: readonly string[]; groups: readonly string[]; lists?: readonly string[]; fullRange: boolean }
  | { kind: "ports"; ranges: readonly PortRange[] }
  /**
   * Observe (docs/observe.md): the named counter of one rule, from the rule's
   * group, direction and content (not its description, so a reworded
   * description keeps its count); `proposal` for a rule of a staged change.
   */
  | { kind: "ruleCounter"; group: string; direction: Direction; contentKey: string; proposal?: boolean }
  /** Observe: the table's fixed counters (default drops, failsafe, unrecorded flows, counting since). */
  | { kind: "counter"; which: ObserveCounter }
  /**
   * Observe: the dynamic set of dropped (or would-be dropped) flows of one
   * direction and family; `first` keeps each flow's first packet time,
   * `proposal` the flows a staged change would deny.
   */
  | { kind: "observeSet"; direction: Direction; family: Family; first: boolean; proposal: boolean }
  /** Observe: the chain that evaluates a staged change beside the enforced rules. */
  | { kind: "proposalChain"; direction: Direction };

/** The table's fixed counters when a host is observed. */
export const OBSERVE_COUNTERS = {
  /** packets = the time (Unix seconds) the table's counters started counting; 0 = since it was loaded at boot. */
  since: "counting_since",
  failsafe: "failsafe_ssh",
  invalid: "drop_invalid",
  dropIngress: "drop_in",
  dropEgress: "drop_out",
  dropPublished: "drop_published",
  dropContainerEgress: "drop_container_egress",
  unrecordedIngress: "unrecorded_in",
  unrecordedEgress: "unrecorded_out",
  proposalUnrecordedIngress: "proposal_unrecorded_in",
  proposalUnrecordedEgress: "proposal_unrecorded_out",
} as const;
export type ObserveCounter = keyof typeof OBSERVE_COUNTERS;

const DIRECTION_SUFFIX: Record<Direction, string> = { ingress: "in", egress: "out" };
/** Prefix of every set a staged change (proposal) adds: its peer sets may hold other members. */
export const PROPOSAL_SET_PREFIX = "p_";

const MAX_READABLE_PORTS_NAME = 40;

/**
 * The one naming function. Output is always a valid unquoted nft identifier:
 * [a-z][a-z0-9_-]*, since group names match GROUP_NAME_PATTERN.
 *   chain ingress / egress
 *   set   failsafe_v4 / failsafe_v6       failsafe SSH sources (when narrowed)
 *   set   sg_<group>_v4                    members of one group (local or remote)
 *   set   list_<list>_v4                   the CIDRs of one address list
 *   set   any_v4 / any_v6                  0.0.0.0/0, ::/0
 *   set   peers_v4_<digest>                any other peer mix
 *   set   ports_80_443_8000-8100           port lists (digest when long)
 * Observed hosts (docs/observe.md) also have:
 *   counter r_<group>_<in|out>_<digest>    one per rule (pr_ for a staged change's rules)
 *   counter drop_in, drop_out, ...         OBSERVE_COUNTERS
 *   set   drops_in_v4, first_in_v4, ...    dropped flows (proposal_ for a staged change)
 *   chain proposal_in / proposal_out       a staged change, evaluated beside the enforced rules
 *   p_<set name>                          the sets of a staged change
 */
export function nftName(req: NameRequest, opts: { proposal?: boolean } = {}): string {
  const name = baseName(req);
  // Sets of a staged change: their own namespace (same names, other elements).
  return opts.proposal && (req.kind === "peers" || req.kind === "ports" || req.kind === "failsafe") ? `${PROPOSAL_SET_PREFIX}${name}` : name;
}

function baseName(req: NameRequest): string {
  switch (req.kind) {
    case "chain":
      return req.direction;
    case "failsafe":
      return `failsafe_${FAMILY_SUFFIX[req.family]}`;
    case "peers": {
      const fam = FAMILY_SUFFIX[req.family];
      const lists = req.lists ?? [];
      if (req.groups.length === 1 && req.cidrs.length === 0 && lists.length === 0) return `sg_${req.groups[0]}_${fam}`;
      if (lists.length === 1 && req.cidrs.length === 0 && req.groups.length === 0) return `list_${lists[0]}_${fam}`;
      if (req.groups.length === 0 && lists.length === 0 && req.fullRange) return `any_${fam}`;
      // Lists join the key only when there are some: every name without them stays as it was.
      const key = JSON.stringify({ family: req.family, cidrs: req.cidrs, groups: req.groups, ...(lists.length > 0 ? { lists } : {}) });
      return `peers_${fam}_${nameDigest(key)}`;
    }
    case "ports": {
      const readable = `ports_${req.ranges.map(formatPortRange).join("_")}`;
      if (readable.length <= MAX_READABLE_PORTS_NAME) return readable;
      return `ports_${nameDigest(JSON.stringify(req.ranges))}`;
    }
    case "ruleCounter":
      return `${req.proposal ? "pr" : "r"}_${req.group}_${DIRECTION_SUFFIX[req.direction]}_${nameDigest(req.contentKey).slice(0, 10)}`;
    case "counter":
      return OBSERVE_COUNTERS[req.which];
    case "observeSet":
      return `${req.proposal ? "proposal_" : ""}${req.first ? "first" : "drops"}_${DIRECTION_SUFFIX[req.direction]}_${FAMILY_SUFFIX[req.family]}`;
    case "proposalChain":
      return `proposal_${DIRECTION_SUFFIX[req.direction]}`;
  }
}
