// The validated, normalised fleet: what `validateFleet` hands the compiler.
// Every list is sorted and de-duplicated, every CIDR/port is parsed, so the
// compiler never sees declaration order.

import type { Address, Family, Interval, Prefix } from "../addressing/cidr";
import type { PolicyTestDeclaration } from "./declaration";
import type { PortRange } from "../addressing/ports";
import { type Protocol } from "../vocabulary/protocols";
import { type Direction } from "../vocabulary/directions";
import type { ObserveMode } from "../vocabulary/observe";

export interface NormalisedRule {
  direction: Direction;
  protocol: Protocol;
  /** tcp/udp/sctp: merged ranges; undefined = all ports. */
  ports?: PortRange[];
  icmpType?: number;
  icmpCode?: number;
  /** Declared CIDRs, canonical, sorted (IPv4 first), unique (shown in lines). */
  cidrs: Prefix[];
  /**
   * The same CIDRs merged (covered ones dropped, adjacent ones joined), as
   * nft set elements, IPv4 first: what the rule means, used for its identity
   * and its comment, so equivalent spellings compile to the same script.
   */
  cidrElements: string[];
  /** The merged CIDRs per family, as intervals and as nft elements. */
  mergedCidrs: Record<Family, { intervals: Interval[]; elements: string[] }>;
  /** Peer group names (local or remote groups), sorted, unique. */
  groups: string[];
  /** Address list names, sorted, unique; absent when the rule names none. */
  lists?: string[];
  description?: string;
  /**
   * Canonical identity of the rule within its group (content + description).
   * Rules with the same key are duplicates; the sort order of rules in a
   * chain is the order of these keys.
   */
  key: string;
}

export interface NormalisedGroup {
  name: string;
  description?: string;
  /** Sorted by key, duplicates removed. */
  ingress: NormalisedRule[];
  egress: NormalisedRule[];
}

export interface NormalisedHost {
  name: string;
  /** connection.host as declared (used in messages only). */
  connectionHost: string;
  /** connection.port, default 22: the failsafe SSH port. */
  sshPort: number;
  /** Sorted (IPv4 first, then by value), unique. Empty if none usable. */
  addresses: Address[];
  /** Attached groups, sorted, unique. */
  groups: string[];
  /**
   * How this host runs its policy (docs/observe.md): the fleet's `observe`
   * with the host's own overriding it; absent when neither declares one (the
   * plain ruleset, no counters).
   */
  observe?: NormalisedHostObserve;
}

/** A host's effective observe settings. */
export interface NormalisedHostObserve {
  mode: ObserveMode;
  /** Distinct flows recorded per direction and family. */
  maxFlows: number;
  retentionHours: number;
  /** Drop logging: lines per minute per direction; absent = no logging. */
  logPerMinute?: number;
  /** Digests of observed drops acknowledged for a promotion (fleet's and host's), sorted, unique. */
  acknowledge: string[];
}

/**
 * A staged change (docs/observe.md): another set of groups and memberships,
 * evaluated beside the enforced rules on enforced hosts, never enforced.
 * Everything else (addresses, failsafe, options) is the fleet's.
 */
export interface NormalisedProposal {
  /** Sorted by name, like NormalisedFleet.groups. */
  groups: NormalisedGroup[];
  /** Every host's groups under the proposal (sorted), by host name. */
  hostGroups: Record<string, string[]>;
}

/** An address list (docs/multistack.md): its CIDRs, as declared and merged. */
export interface NormalisedAddressList {
  name: string;
  description?: string;
  /** Canonical, sorted (IPv4 first), unique (no two overlap: validation refuses it). */
  cidrs: Prefix[];
  /** The same merged per family, as intervals and nft elements. */
  merged: Record<Family, { intervals: Interval[]; elements: string[] }>;
}

/** A member of a remote group: a host of another stack, by name and addresses. */
export interface NormalisedRemoteMember {
  name: string;
  /** Sorted, unique, never empty. */
  addresses: Address[];
}

/** A remote group (docs/multistack.md): members published by another stack. */
export interface NormalisedRemoteGroup {
  /** The name rules and tests use in this fleet. */
  name: string;
  /** The published group's name there. */
  group: string;
  /** The publishing stack and Fleet, when the value says. */
  stack?: string;
  fleet?: string;
  /** Sorted by name; empty only with allowEmpty. */
  members: NormalisedRemoteMember[];
  /** Why it is empty although allowed to be ("no published value yet", ...). */
  emptyBecause?: string;
  description?: string;
}

export interface NormalisedFleet {
  table: string;
  failsafe: {
    ssh: boolean;
    /** Narrowed sources; undefined = from anywhere. Sorted, unique. */
    cidrs?: Prefix[];
  };
  /** Re-check established connections' original-direction packets (see FleetDeclaration). */
  revokeEstablished: boolean;
  /** Forwarded traffic of local containers (see ContainersDeclaration); defaults applied. */
  containers: {
    publishedPorts: boolean;
    egress: boolean;
    /** Sorted, unique. */
    interfaces: string[];
  };
  /** Sorted by name. */
  groups: NormalisedGroup[];
  /** Sorted by name. */
  hosts: NormalisedHost[];
  /** Address lists, sorted by name (absent when none). */
  addressLists?: NormalisedAddressList[];
  /** Remote groups, sorted by name (absent when none). */
  remoteGroups?: NormalisedRemoteGroup[];
  /** Policy tests, in declaration order (absent when none); the compiler ignores them. */
  tests?: NormalisedPolicyTest[];
  /** A staged change (observe.proposal), if declared. */
  proposal?: NormalisedProposal;
}

export interface NormalisedPolicyTest extends PolicyTestDeclaration {
  /** Position in the declaration's `tests`, for messages ("tests[2]"). */
  index: number;
}

export interface ValidationIssue {
  /** e.g. "securityGroups[2].ingress[0].ports"; "" for the declaration itself. */
  path: string;
  message: string;
}
