// The fleet declaration: plain data, the shape users write (docs/semantics.md#objects).
// The SDK accepts the same shape with pulumi.Input at the leaves, resolves it,
// and hands this plain form to the compiler and the provider.

import type { PacketProtocol, Protocol } from "../vocabulary/protocols";

export type { Protocol } from "../vocabulary/protocols";

/** A port or port range: 22, "22", "8000-8100". */
export type PortSpec = number | string;

export interface RuleDeclaration {
  protocol: Protocol;
  /** tcp/udp/sctp only; absent = all ports. */
  ports?: PortSpec | PortSpec[];
  /** icmp/icmpv6 only; absent = all types. */
  icmpType?: number;
  /** icmp/icmpv6 only, needs icmpType; absent = all codes. */
  icmpCode?: number;
  /** IPv4 and/or IPv6 prefixes (host bits must be zero). */
  cidrs?: string[];
  /**
   * Names of security groups whose members are peers (own group allowed), or
   * of remote groups (`remoteGroups`: members published by another stack).
   */
  securityGroups?: string[];
  /** Names of address lists (`addressLists`) whose CIDRs are peers. */
  addressLists?: string[];
  description?: string;
}

/**
 * A named list of CIDRs, declared once and named by rules beside `cidrs` and
 * `securityGroups` (docs/multistack.md): compiled as one named set, spoken of
 * by name in lines, flows and explanations.
 */
export interface AddressListDeclaration {
  /** `^[a-z][a-z0-9-]{0,40}$`, unique among the fleet's address lists. */
  name: string;
  /** IPv4 and/or IPv6 prefixes (host bits zero); at least one; no two overlap. */
  cidrs: string[];
  description?: string;
}

/**
 * A group whose members are published by another stack (`Fleet.published`
 * there, docs/multistack.md): rules, policy tests and explanations name it
 * like a local group; hosts of this fleet cannot be attached to it.
 */
export interface RemoteGroupDeclaration {
  /** The name rules and tests use here; unique among this fleet's groups and remote groups. */
  name: string;
  /**
   * The publishing stack's published value, as read (a StackReference output,
   * or the JSON of `pulumi stack output published --json`): see
   * PublishedGroups in remoteGroups.ts.
   */
  source: unknown;
  /** The published group to use (default: `name`). */
  group?: string;
  /**
   * Accept an empty group: no published value yet, the group not published,
   * or published without members. Default false: each of these fails at
   * preview, so that missing data never silently becomes a group that
   * matches nothing.
   */
  allowEmpty?: boolean;
  description?: string;
}

/** What a Fleet publishes for other stacks (`Fleet.published`). */
export interface PublishDeclaration {
  /** Names of this fleet's security groups whose membership (names and addresses) is published. */
  groups: string[];
}

export interface SecurityGroupDeclaration {
  name: string;
  description?: string;
  ingress?: RuleDeclaration[];
  egress?: RuleDeclaration[];
}

/** Mirrors @pulumi/command's remote.Connection, plus hostKey and sudo. */
export interface ConnectionDeclaration {
  host: string;
  port?: number;
  user?: string;
  password?: string;
  privateKey?: string;
  privateKeyPassword?: string;
  agentSocketPath?: string;
  /** A jump host. */
  proxy?: Omit<ConnectionDeclaration, "proxy" | "sudo">;
  dialErrorLimit?: number;
  perDialTimeout?: number;
  /** Pinned host key, as in known_hosts: "ssh-ed25519 AAAA...". */
  hostKey?: string;
  /** Run nft through `sudo -n` (for non-root users). */
  sudo?: boolean;
}

export interface HostDeclaration {
  name: string;
  connection: ConnectionDeclaration;
  /** Addresses other members see this host by; default: connection.host if it is an IP literal. */
  addresses?: string[];
  securityGroups: string[];
  /** Overrides the fleet's `observe` for this host (e.g. a few canaries that enforce first). */
  observe?: HostObserveDeclaration;
}

/**
 * Observe before enforce (docs/observe.md). Without it a host runs the plain
 * ruleset (no counters). With it, every rule and every default drop is
 * counted and every dropped flow recorded on the host, and `mode: "staged"`
 * drops nothing: each would-be drop is recorded and accepted instead.
 */
export interface ObserveDeclaration {
  /** "enforce" (default) or "staged". */
  mode?: "enforce" | "staged";
  /** Distinct flows recorded per direction and address family (default 4096, 16-65536). */
  maxFlows?: number;
  /** Hours a recorded flow is kept after its last packet (default 168, 1-720). */
  retentionHours?: number;
  /** Log drops (would-drops when staged) to the kernel log, rate-limited: true = 10 lines/minute per direction. */
  log?: boolean | { perMinute?: number };
  /**
   * Digests of observed drops to acknowledge: a promotion (staged to
   * enforce, or a staged change becoming the declaration) that would cut
   * observed flows is refused unless its digest is listed here.
   */
  acknowledge?: string[];
  /**
   * A staged change: proposed groups (and memberships, for the hosts listed;
   * others keep theirs), evaluated on enforced hosts beside the enforced
   * rules and never enforced; the flows it would newly deny are recorded.
   */
  proposal?: ProposalDeclaration;
}

export interface HostObserveDeclaration {
  mode?: "enforce" | "staged";
  acknowledge?: string[];
}

export interface ProposalDeclaration {
  securityGroups: SecurityGroupDeclaration[];
  /** Hosts whose groups change under the proposal. */
  hosts?: { name: string; securityGroups: string[] }[];
}

export interface FailsafeDeclaration {
  /** Accept inbound TCP to each host's management SSH port (default true). */
  ssh?: boolean;
  /** Narrow the failsafe to these management prefixes (default: anywhere). */
  cidrs?: string[];
  /**
   * The port sshd listens on, on the hosts, when it is not the port nftsg
   * connects to (connection.port): an SSH port-forward, e.g. a NAT mapping
   * 203.0.113.5:2201 to a host's port 22. Default: each host's connection.port.
   */
  port?: number;
}

/**
 * Hosts that run containers or VMs (Docker, Podman, libvirt): what nftsg does
 * with their forwarded traffic (docs/containers.md).
 */
export interface ContainersDeclaration {
  /**
   * Default true: connections from outside to one of the host's ports that
   * the host destination-NATs (`docker run -p`, a port forward to another
   * machine) are filtered by the host's ingress rules, matched on the
   * published port; so are connections from outside routed to a local
   * container's own address (docs/containers.md).
   */
  publishedPorts?: boolean;
  /**
   * Default true: when the host's groups restrict egress, its containers'
   * traffic leaving the host is restricted by the same egress rules (as a
   * cloud egress rule applies to everything on the VM).
   */
  egress?: boolean;
  /**
   * Interfaces of local container/VM networks (nft ifname patterns, "*" only
   * at the end): traffic between the host and these is local, like loopback;
   * traffic from them to elsewhere is container egress. Default
   * CONTAINER_INTERFACES_DEFAULT; [] = none.
   */
  interfaces?: string[];
}

export interface FleetDeclaration {
  /** nftables table name, family inet (default "nftsg"). */
  table?: string;
  failsafe?: FailsafeDeclaration;
  containers?: ContainersDeclaration;
  /**
   * Default true: a connection that the new ruleset no longer allows stops at
   * once, because packets of established connections in their original
   * direction are checked against the rules again (replies always pass).
   * false: as in AWS, removing a rule affects only new connections; open
   * ones continue until they close.
   */
  revokeEstablished?: boolean;
  securityGroups: SecurityGroupDeclaration[];
  hosts: HostDeclaration[];
  /** Observe before enforce: counters, recorded drops, staged mode, a staged change (docs/observe.md). */
  observe?: ObserveDeclaration;
  /** Named lists of CIDRs that rules name (`addressLists: ["office"]`). */
  addressLists?: AddressListDeclaration[];
  /** Groups published by other stacks, named by rules and tests here. */
  remoteGroups?: RemoteGroupDeclaration[];
  /** Groups whose membership this fleet publishes for other stacks. */
  publish?: PublishDeclaration;
  /**
   * Policy tests: checked at preview (the FleetModel's check), before any
   * host is contacted; a failing test fails the preview.
   */
  tests?: PolicyTestDeclaration[];
}

/** "Can `from` open a new connection to `to`?", with the expected answer. */
export interface PolicyTestDeclaration {
  /**
   * A host name, "sg:<group>" (every member; a remote group's members too),
   * "list:<address list>" (its CIDRs), or an address/CIDR outside the fleet.
   */
  from: string;
  to: string;
  protocol: PacketProtocol;
  /** The destination port: required for tcp/udp/sctp. */
  port?: number;
  /** icmp/icmpv6: default echo request. */
  icmpType?: number;
  icmpCode?: number;
  /** allow: every flow it stands for is accepted; deny: none is. */
  expect: "allow" | "deny";
  description?: string;
}

/** One host's compiled result: what the Attachment resource carries. */
export interface HostRuleset {
  host: string;
  table: string;
  /** The complete `nft -f` script: replaces the whole table in one transaction. */
  script: string;
  /** The script's lines, for readable diffs in `pulumi preview --diff`. */
  lines: string[];
  /** sha256 of the script, hex. */
  hash: string;
  /** What the host side must know of this script, as the compiler decided it (RulesetFacts). */
  facts: RulesetFacts;
  /** Observed hosts only (docs/observe.md). */
  observe?: HostRulesetObserve;
}

/**
 * What the host side needs to know of a compiled script, decided by the
 * compiler and carried beside the script (never read back out of it): the
 * apply checks that something listens on the failsafe port, and that no
 * local interface pattern matches the management path or an uplink
 * (docs/apply.md). A host attached to no group: `{ localInterfaces: [] }`.
 */
export interface RulesetFacts {
  /** The TCP port the failsafe rule opens for sshd (the host's SSH port); absent when the script has no failsafe rule. */
  failsafePort?: number;
  /** The interface names and patterns the script accepts like loopback ("local containers"), as written; [] if none. */
  localInterfaces: string[];
}

export interface HostRulesetObserve {
  mode: "enforce" | "staged";
  /**
   * sha256 of the plain script of the same policy (no counters, no
   * recording, enforced, no staged change): equal for a host staged and the
   * same host enforced, so a promotion of exactly what was observed is known.
   */
  policyHash: string;
  /** The same for this host under the staged change, when one is evaluated here. */
  proposalHash?: string;
}

export type CompiledFleet = Record<string, HostRuleset>;
