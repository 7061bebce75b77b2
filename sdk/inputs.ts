// The declaration users write in a Pulumi program: the compiler's shape
// (provider/declaration/declaration.ts) with pulumi.Input at the leaves. Names and the
// shape of lists stay plain, because they name resources.
import * as pulumi from "@pulumi/pulumi";
import type { PolicyTestDeclaration, PortSpec } from "../provider/declaration/declaration";
import { type Protocol } from "../provider/vocabulary/protocols";

export interface RuleArgs {
  protocol: pulumi.Input<Protocol>;
  ports?: pulumi.Input<PortSpec> | pulumi.Input<PortSpec>[];
  icmpType?: pulumi.Input<number>;
  icmpCode?: pulumi.Input<number>;
  cidrs?: pulumi.Input<string>[] | pulumi.Input<pulumi.Input<string>[]>;
  /** Peer group names, local or remote (plain: they define the fleet's dependency graph). */
  securityGroups?: string[];
  /** Address list names (plain, as group names are): their CIDRs are peers. */
  addressLists?: string[];
  /** Also the rule's identity: give rules a description to keep it stable when their content changes. */
  description?: string;
}

export interface SecurityGroupArgs {
  name: string;
  description?: pulumi.Input<string>;
  ingress?: RuleArgs[];
  egress?: RuleArgs[];
}

export interface ConnectionArgs {
  host: pulumi.Input<string>;
  port?: pulumi.Input<number>;
  user?: pulumi.Input<string>;
  password?: pulumi.Input<string>;
  privateKey?: pulumi.Input<string>;
  privateKeyPassword?: pulumi.Input<string>;
  agentSocketPath?: pulumi.Input<string>;
  proxy?: pulumi.Input<Omit<ConnectionArgs, "proxy" | "sudo">>;
  dialErrorLimit?: pulumi.Input<number>;
  perDialTimeout?: pulumi.Input<number>;
  hostKey?: pulumi.Input<string>;
  sudo?: pulumi.Input<boolean>;
}

export interface HostArgs {
  name: string;
  connection: pulumi.Input<ConnectionArgs>;
  addresses?: pulumi.Input<string>[] | pulumi.Input<pulumi.Input<string>[]>;
  /** Group names (plain). */
  securityGroups: string[];
  /** Overrides the fleet's observe mode for this host (a canary that enforces first), and acknowledges its observed drops. */
  observe?: { mode?: "enforce" | "staged"; acknowledge?: string[] };
}

/**
 * Observe before enforce (docs/observe.md): counters on every rule and drop,
 * dropped flows recorded on the hosts; `mode: "staged"` drops nothing (every
 * would-be drop is recorded and accepted); `proposal` stages a change beside
 * the enforced rules. Plain values: they decide what preview shows.
 */
export interface ObserveArgs {
  mode?: "enforce" | "staged";
  maxFlows?: number;
  retentionHours?: number;
  log?: boolean | { perMinute?: number };
  /** Digests of observed drops to acknowledge for a promotion (a refused `up` and `nftsg observe` print them). */
  acknowledge?: string[];
  /** A staged change: these groups (and the listed hosts' groups), evaluated on enforced hosts, never enforced. */
  proposal?: { securityGroups: SecurityGroupArgs[]; hosts?: { name: string; securityGroups: string[] }[] };
}

/**
 * A named list of CIDRs (docs/multistack.md). Declare it once and name it in
 * rules (`addressLists: ["office"]`); the same value may be given to several
 * Fleets, and its CIDRs may be an Output (say, another stack's output).
 */
export interface AddressListArgs {
  name: string;
  cidrs: pulumi.Input<string>[] | pulumi.Input<pulumi.Input<string>[]>;
  description?: pulumi.Input<string>;
}

/**
 * A group whose members another stack publishes (docs/multistack.md): rules
 * name it in `securityGroups`, tests and `nftsg explain` as `sg:<name>`.
 */
export interface RemoteGroupArgs {
  /** The name used here (plain); unique among this fleet's groups and remote groups. */
  name: string;
  /**
   * The publishing Fleet's `published` value: a StackReference output
   * (`new pulumi.StackReference("org/platform/prod").getOutput("published")`),
   * or the JSON of `pulumi stack output published --json` from any backend.
   */
  source: pulumi.Input<unknown>;
  /** The published group to use (default: `name`). */
  group?: string;
  /** Accept an empty group (no value yet, group not published, no members); default false: each fails at preview. */
  allowEmpty?: pulumi.Input<boolean>;
  description?: string;
}

export interface FleetArgs {
  table?: string;
  failsafe?: { ssh?: pulumi.Input<boolean>; cidrs?: pulumi.Input<string>[] | pulumi.Input<pulumi.Input<string>[]>; port?: pulumi.Input<number> };
  /** Default true: connections the new ruleset no longer allows stop at once (false: AWS-style, only new connections). */
  revokeEstablished?: boolean;
  /**
   * Hosts running containers or VMs (default: published ports follow the
   * ingress rules, container egress follows restricted egress, the usual
   * container bridges are local). See docs/containers.md.
   */
  containers?: {
    publishedPorts?: pulumi.Input<boolean>;
    egress?: pulumi.Input<boolean>;
    interfaces?: pulumi.Input<string>[] | pulumi.Input<pulumi.Input<string>[]>;
  };
  securityGroups: SecurityGroupArgs[];
  hosts: HostArgs[];
  /** Named lists of CIDRs that rules name beside cidrs and securityGroups. */
  addressLists?: AddressListArgs[];
  /** Groups published by other stacks, named by rules and tests like local groups. */
  remoteGroups?: RemoteGroupArgs[];
  /**
   * Publish these groups' membership (host names and addresses only) as
   * `fleet.published`, for other stacks' remoteGroups: export it as a stack
   * output (`export const published = fleet.published`).
   */
  publish?: { groups: string[] };
  /** Take over tables another stack owns on these hosts (default false). */
  takeover?: boolean;
  /** Seconds after which a host rolls itself back unless the apply is confirmed (default 30). */
  rollbackSeconds?: number;
  /** Policy tests, checked at preview before any host is contacted (a failing one fails the preview). */
  tests?: PolicyTestArgs[];
  /** Observe before enforce: staged mode, counters, recorded drops, a staged change (docs/observe.md). */
  observe?: ObserveArgs;
}

/** A policy test; from/to may be outputs (an address not known until up makes the test wait for up). */
export interface PolicyTestArgs extends Omit<PolicyTestDeclaration, "from" | "to"> {
  from: pulumi.Input<string>;
  to: pulumi.Input<string>;
}
