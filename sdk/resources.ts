// The dynamic resources nftsg registers, with their own type names
// (pulumi-nodejs:dynamic/nftsg:<Type>). Only Attachment touches hosts.
import * as pulumi from "@pulumi/pulumi";
import type { PortSpec } from "../provider/declaration/declaration";
import type { AttachmentInputProps, ObservedProps } from "../provider/handlers/attachmentContract";
import { CONTENT_FIELDS, type AttachmentContentProps, type AttachmentWireProps } from "../provider/handlers/attachmentWire";
import addressListProvider from "./dynamic/addressList";
import attachmentProvider from "./dynamic/attachment";
import modelProvider from "./dynamic/model";
import remoteGroupProvider from "./dynamic/remoteGroup";
import ruleProvider from "./dynamic/rule";
import securityGroupProvider from "./dynamic/securityGroup";
import stackIdentityProvider from "./dynamic/stackIdentity";
import type { Protocol } from "../provider/vocabulary/protocols";

const MODULE = "nftsg";

/** The Attachment's inputs: the handlers' contract (provider/handlers/attachmentContract.ts), each field an Input. */
export type AttachmentInputs = { [K in keyof AttachmentInputProps]: pulumi.Input<AttachmentInputProps[K]> };
type ContentField = (typeof CONTENT_FIELDS)[number];
/** The same, with the compiled content as one Input (what Fleet passes: one Output per host rather than one per field). */
export type AttachmentContentInputs = Omit<AttachmentInputs, ContentField> & { content: pulumi.Input<AttachmentContentProps> };

/** One host's firewall: carries its compiled ruleset and applies it over SSH. */
export class Attachment extends pulumi.dynamic.Resource {
  declare readonly hostName: pulumi.Output<string>;
  declare readonly address: pulumi.Output<string>;
  declare readonly table: pulumi.Output<string>;
  declare readonly rules: pulumi.Output<string>;
  declare readonly hash: pulumi.Output<string>;
  /** The host's SSH key as first seen (trust on first use) or pinned. */
  declare readonly hostKey: pulumi.Output<string>;
  /** Base chains of other tables on the host's hooks (docker, firewalld, ufw, ...), at the last apply or refresh. */
  declare readonly otherFirewalls: pulumi.Output<string[]>;
  /** Where those contradict this host's nftsg rules (also printed as warnings by `pulumi up`). */
  declare readonly firewallWarnings: pulumi.Output<string[]>;
  /** Observed hosts: counters and recorded drops as of the last refresh, and what a promotion would cut (docs/observe.md). */
  declare readonly observed: pulumi.Output<ObservedProps | undefined>;

  constructor(name: string, args: AttachmentInputs | AttachmentContentInputs, opts?: pulumi.CustomResourceOptions) {
    super(
      attachmentProvider,
      name,
      {
        // Two inputs (provider/handlers/attachmentWire.ts): each top-level input costs Pulumi's runtime an
        // Output and its promises, a nested field only its bytes. The Attachment's check flattens them back.
        connection: pulumi.secret(args.connection),
        declared: declaredOf(args),
        // Output properties only (no input): what the class declares.
        hostName: undefined, address: undefined, table: undefined, rules: undefined, hash: undefined,
        hostKey: undefined, otherFirewalls: undefined, firewallWarnings: undefined, observed: undefined,
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["connection"] }),
      MODULE,
      "Attachment",
    );
  }
}

/**
 * Everything but the connection as one plain object (its Outputs stay nested:
 * a value unknown at preview leaves only its own field unknown), and the
 * names of the fields that are secrets, so check can keep them secret.
 */
function declaredOf(args: AttachmentInputs | AttachmentContentInputs): pulumi.Input<AttachmentWireProps["declared"]> {
  const { connection: _connection, ...rest } = args as Record<string, pulumi.Input<unknown>>;
  let content: pulumi.Input<unknown>;
  let declared: Record<string, pulumi.Input<unknown>>;
  if ("content" in args) {
    ({ content, ...declared } = rest);
  } else {
    declared = Object.fromEntries(Object.entries(rest).filter(([k]) => !(CONTENT_FIELDS as readonly string[]).includes(k)));
    content = Object.fromEntries(CONTENT_FIELDS.filter((f) => rest[f] !== undefined).map((f) => [f, rest[f]]));
  }
  const outputs: [string[], pulumi.Output<unknown>][] = [];
  if (pulumi.Output.isInstance(content)) outputs.push([[...CONTENT_FIELDS], content]);
  else if (content && typeof content === "object") {
    for (const [f, v] of Object.entries(content)) if (pulumi.Output.isInstance(v)) outputs.push([[f], v]);
  }
  for (const [f, v] of Object.entries(declared)) if (pulumi.Output.isInstance(v)) outputs.push([[f], v]);
  const secret = Promise.all(outputs.map(([, o]) => pulumi.isSecret(o))).then((s) => outputs.filter((_, i) => s[i]).flatMap(([f]) => f));
  return { ...declared, content, secret: pulumi.output(secret) } as unknown as pulumi.Input<AttachmentWireProps["declared"]>;
}

export interface SecurityGroupInputs {
  fleet: pulumi.Input<string>;
  name: pulumi.Input<string>;
  description?: pulumi.Input<string>;
  members: pulumi.Input<string[]>;
  /** The members with their addresses, one per line (a readable diff on membership changes). */
  memberAddresses?: pulumi.Input<string>;
}

/** A security group: a record in state; its effect reaches hosts through Attachments. */
export class SecurityGroup extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly members: pulumi.Output<string[]>;
  constructor(name: string, args: SecurityGroupInputs, opts?: pulumi.CustomResourceOptions) {
    super(securityGroupProvider, name, args, opts, MODULE, "SecurityGroup");
  }
}

export interface AddressListInputs {
  fleet: pulumi.Input<string>;
  name: pulumi.Input<string>;
  description?: pulumi.Input<string>;
  /** One CIDR per line: a change of the list reads once, here (`+ 203.0.113.7/32`). */
  cidrs: pulumi.Input<string>;
  /** How many hosts' rules name the list, and which: the hosts a change of it updates. */
  affects: pulumi.Input<string>;
}

/** An address list (docs/multistack.md): a record in state; its effect reaches hosts through Attachments. */
export class AddressList extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly cidrs: pulumi.Output<string>;
  constructor(name: string, args: AddressListInputs, opts?: pulumi.CustomResourceOptions) {
    super(addressListProvider, name, args, opts, MODULE, "AddressList");
  }
}

export interface RemoteGroupInputs {
  fleet: pulumi.Input<string>;
  name: pulumi.Input<string>;
  /** Where the members come from: the published group, stack and Fleet. */
  source: pulumi.Input<string>;
  members: pulumi.Input<string[]>;
  /** The members with their addresses, one per line (a membership change in the publishing stack reads once, here). */
  memberAddresses: pulumi.Input<string>;
  allowEmpty: pulumi.Input<boolean>;
  /** How many hosts' rules name the group, and which: the hosts a membership change updates. */
  affects: pulumi.Input<string>;
}

/** A remote group (docs/multistack.md): its published members, as read; a record in state. */
export class RemoteGroup extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly members: pulumi.Output<string[]>;
  constructor(name: string, args: RemoteGroupInputs, opts?: pulumi.CustomResourceOptions) {
    super(remoteGroupProvider, name, args, opts, MODULE, "RemoteGroup");
  }
}

export interface RuleInputs {
  fleet: pulumi.Input<string>;
  group: pulumi.Input<string>;
  direction: pulumi.Input<"ingress" | "egress">;
  key: pulumi.Input<string>;
  protocol: pulumi.Input<Protocol>;
  ports?: pulumi.Input<PortSpec | PortSpec[]>;
  icmpType?: pulumi.Input<number>;
  icmpCode?: pulumi.Input<number>;
  cidrs?: pulumi.Input<pulumi.Input<string>[]>;
  securityGroups?: pulumi.Input<string[]>;
  addressLists?: pulumi.Input<string[]>;
  description?: pulumi.Input<string>;
}

/** One rule of a group: a record in state, keyed by content or description, not position. */
export class Rule extends pulumi.dynamic.Resource {
  declare readonly group: pulumi.Output<string>;
  declare readonly direction: pulumi.Output<string>;
  constructor(name: string, args: RuleInputs, opts?: pulumi.CustomResourceOptions) {
    super(ruleProvider, name, args, opts, MODULE, "Rule");
  }
}

/**
 * The whole declaration (secrets stripped). Its `check` validates the fleet as
 * a whole, so bad input fails at preview with the path of the offending field,
 * before any host is contacted: every Attachment depends on it.
 */
export class FleetModel extends pulumi.dynamic.Resource {
  constructor(
    name: string,
    args: { fleet: pulumi.Input<string>; declaration: pulumi.Input<unknown>; verdict?: pulumi.Input<string> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(modelProvider, name, args as pulumi.Inputs, opts, MODULE, "FleetModel");
  }
}

/**
 * The stack's own identity (provider/handlers/records.ts): one per stack,
 * shared by its Fleets (a host may move between them), made once.
 */
export class StackIdentity extends pulumi.dynamic.Resource {
  declare readonly stackId: pulumi.Output<string>;
  constructor(name: string, opts?: pulumi.CustomResourceOptions) {
    super(stackIdentityProvider, name, { stackId: undefined }, opts, MODULE, "StackIdentity");
  }
}

/** One identity per stack run: every Fleet of the program shares it. */
const identities = new WeakMap<object, StackIdentity>();

export function stackIdentity(): pulumi.Output<string> {
  // The stack resource is new in every run of the program (Automation API
  // inline programs run many in one process), so it keys this run's identity.
  const run = pulumi.runtime.getStackResource() ?? identities;
  let id = identities.get(run);
  if (!id) {
    id = new StackIdentity("nftsg-stack-identity");
    identities.set(run, id);
  }
  return id.stackId;
}
