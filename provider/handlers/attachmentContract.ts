// The Attachment's properties: the one declaration of what the SDK sends
// (sdk/resources.ts derives its Input types from it) and what the handlers
// read back from state, of this format and of older ones.
import type { ConnectionDeclaration, RulesetFacts } from "../declaration/declaration";

/** What the SDK sends for one host (format 2); sdk/resources.ts wraps each field in pulumi.Input. */
export interface AttachmentInputProps {
  fleet: string;
  hostName: string;
  /** connection.host, not secret: a change is an update (the recorded host key is checked at the new address). */
  address: string;
  port: number;
  /** The whole SSH connection, always a secret (keys and passwords inside). */
  connection: ConnectionDeclaration;
  table: string;
  owner: string;
  takeover: boolean;
  rollbackSeconds: number;
  /** Version of this input format (scriptEncoding.ts). */
  format: number;
  /**
   * Readable effective permissions, one per line, in group terms (one line per
   * peer group with its member count and digest): what `preview --diff` shows.
   */
  rules: string;
  /** The complete nft script for this host, brotli + base64; "" for a host attached to no group (it keeps no table). */
  scriptBrotli: string;
  /** sha256 of the script. */
  hash: string;
  /**
   * What the host side must know of the script, as the compiler decided it
   * (HostRuleset.facts): the failsafe's port and the local interface
   * patterns, which the apply checks on the host. Not compared by diff: they
   * follow from the script, whose hash is. Absent in state written by older
   * versions (and from an Attachment declared without them): the handler
   * then derives them from the script (legacyFacts.ts).
   */
  facts?: RulesetFacts;
  /** What the host allows, one flow per line in terms of groups, hosts and CIDRs (sdk/flows.ts); display only. */
  flows?: string;
  /**
   * The verdict on the whole declaration (handlers/verdict.ts): "valid", or
   * the problems. An Attachment refuses an invalid one in its own check, so
   * `up --target` of it alone cannot apply what the FleetModel's check would
   * have refused. Not compared by diff: it changes nothing on the host.
   */
  verdict?: string;
  /**
   * The stack's own random identity (StackIdentity), recorded on the host
   * with the table: two stacks with the same organisation, project and
   * stack names (self-managed backends all say "organization") are two
   * owners. Not compared by diff: a table applied before identities existed
   * gets it with its next apply.
   */
  stackId?: string;
  /**
   * The hosts of the fleet managed through this one (their connection.proxy
   * names it), as this host dials them. Its apply proves, before it
   * confirms, that a new connection from this host still reaches each
   * (host/apply.ts). Not compared by diff: a new target behind an unchanged
   * ruleset is proven by the target's own apply, which goes through this
   * host. Absent when there is none.
   */
  jumpTargets?: JumpTargetProps[];
  /**
   * Observe before enforce (docs/observe.md): how this host runs its policy
   * and the policy's identity, for knowing a promotion in preview; absent for
   * a host that is not observed (old state has none either, and diffs as
   * before). Not compared by diff: the script carries everything the host
   * gets, so an acknowledgement alone contacts nobody.
   */
  observe?: ObserveInputProps;
}

/** The Attachment's one observe input. */
export interface ObserveInputProps {
  mode: "enforce" | "staged";
  /** sha256 of the plain script of the same policy (HostRulesetObserve.policyHash). */
  policyHash: string;
  /** The same under the staged change evaluated on this host, if any. */
  proposalHash?: string;
  /** Digests of observed drops acknowledged for a promotion (the fleet's and the host's). */
  acknowledge?: string[];
  /**
   * Set by the Attachment's check, not the SDK: when these inputs promote
   * what the last refresh observed, the flows the promotion would cut, so
   * `pulumi preview --diff` shows them (display only).
   */
  promotion?: string[];
}

/**
 * The Attachment's one observe output: what was applied (and since when), and
 * what the last refresh read from the host, compactly (docs/observe.md).
 * Times are ISO strings in the host's clock.
 */
export interface ObservedProps {
  mode: "enforce" | "staged";
  policyHash: string;
  /** When the applied policy (rules and mode) last changed on the host. */
  policySince?: string;
  proposalHash?: string;
  proposalSince?: string;
  /** When the last refresh read the host's table. */
  readAt?: string;
  /** Since when the table's counters count (an apply carries them over). */
  countingSince?: string;
  /** Named counters: name -> [packets, bytes]. */
  counters?: Record<string, number[]>;
  /** Recorded drops (would-be drops when staged), busiest first, at most MAX_FLOWS_IN_STATE: "in 198.18.0.6 tcp/5432 3p 180B first ... last ...". */
  drops?: string[];
  dropsTotal?: number;
  /** Packets of drops that could not be recorded (a flow set was full), and the count when the policy was applied. */
  unrecorded?: number;
  unrecordedBaseline?: number;
  /** Flows the staged change would deny that the enforced rules accept (busiest first), and how many both deny. */
  newlyDenied?: string[];
  newlyDeniedTotal?: number;
  bothDenyTotal?: number;
  proposalUnrecorded?: number;
  proposalUnrecordedBaseline?: number;
  /** What a promotion of the observed policy would cut, as of the last refresh. */
  cut?: ObservedCut;
}

export interface ObservedCut {
  kind: "staged" | "proposal";
  /** The policy the observation is of. */
  policyHash: string;
  /** Flows last seen since this time count. */
  since: string;
  flows: string[];
  total: number;
  /** Packets that could not be recorded since then. */
  unrecorded: number;
  /** Digest of the cut flows (part of the acknowledgement's digest). */
  digest: string;
}

/** A host managed through the Attachment's host: its name, and its connection.host and port. */
export interface JumpTargetProps {
  name: string;
  host: string;
  port: number;
}

/** An Attachment as state holds it: inputs of this format or an older one, and the outputs of the last apply or refresh. */
export interface AttachmentProps
  extends Omit<AttachmentInputProps, "format" | "scriptBrotli" | "facts"> {
  /** Input format (scriptEncoding.ts); absent in state written before format 2. */
  format?: number;
  /** Format 2 input: the script, brotli + base64 (never echoed in outputs). */
  scriptBrotli?: string;
  /** Format 1 input, and the drift record written by read. */
  script?: string;
  /** The script's facts (AttachmentInputProps.facts); absent in state written by older versions, and in a drift record. */
  facts?: RulesetFacts;
  /** Output: the host key seen on first use (or pinned). */
  hostKey?: string;
  /** Output: the jump host's key seen on first use, "<host>:<port> <type> <base64>" (absent without a jump host). */
  proxyHostKey?: string;
  /**
   * Output: this resource instance's identity, recorded on the host with each
   * confirmed apply. A new Attachment for the same host (a renamed Fleet, a
   * host moved between Fleets) is created before the old one is deleted,
   * under the same owner; the old delete sees another instance's id and
   * leaves the table. Absent in state written by older versions.
   */
  instance?: string;
  /** Output: sha256 of the table as it must list on the host ("" for no table); drift is checked against it. */
  listingHash?: string;
  /** Outputs at apply and refresh: other firewalls on the host (otherFirewalls.ts). */
  otherFirewalls?: string[];
  firewallWarnings?: string[];
  /** Output (observed hosts): docs/observe.md. */
  observed?: ObservedProps;
  /**
   * Output: tables this Attachment applied that it must still remove — the
   * old table after a rename, or the table on the machine the Attachment was
   * moved away from — when removing them failed. Retried by every update and
   * by delete; never silently forgotten.
   */
  pendingRemovals?: PendingRemoval[];
}

/** A table to remove from a host (the connection's credentials, at this address). */
export interface PendingRemoval {
  address: string;
  port: number;
  table: string;
  owner: string;
  instance?: string;
  /** That machine's key as recorded, when it is another machine than the Attachment's. */
  hostKey?: string;
  /** Why it is to be removed, for messages. */
  why: string;
}
