// The dynamic resources nftsg registers, with their own type names
// (pulumi-nodejs:dynamic/nftsg:<Type>). Only Attachment touches hosts.
import * as pulumi from "@pulumi/pulumi";
import type { PortSpec } from "../provider/declaration/declaration";
import type { AttachmentInputProps } from "../provider/handlers/attachmentContract";
import attachmentProvider = require("./dynamic/attachment");
import modelProvider = require("./dynamic/model");
import ruleProvider = require("./dynamic/rule");
import securityGroupProvider = require("./dynamic/securityGroup");
import stackIdentityProvider = require("./dynamic/stackIdentity");
import type { Protocol } from "../provider/vocabulary/protocols";

const MODULE = "nftsg";

/** The Attachment's inputs: the handlers' contract (provider/handlers/attachmentContract.ts), each field an Input. */
export type AttachmentInputs = { [K in keyof AttachmentInputProps]: pulumi.Input<AttachmentInputProps[K]> };

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

  constructor(name: string, args: AttachmentInputs, opts?: pulumi.CustomResourceOptions) {
    super(
      attachmentProvider,
      name,
      { ...args, connection: pulumi.secret(args.connection), hostKey: undefined, otherFirewalls: undefined, firewallWarnings: undefined },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["connection"] }),
      MODULE,
      "Attachment",
    );
  }
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
