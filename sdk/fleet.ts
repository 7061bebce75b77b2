// Fleet: one complete description of groups, rules and hosts, turned into
// SecurityGroup, Rule and Attachment resources. Compilation happens here, in
// the program, because a change to one group's membership changes the
// firewall of every host that allows traffic from it; each host's result is an
// input of its Attachment, which is what makes `pulumi preview` show the
// effect on every host.
import * as pulumi from "@pulumi/pulumi";
import type { CompiledFleet, FleetDeclaration, HostRuleset } from "../provider/declaration/declaration";
import type { ConnectionArgs, FleetArgs, HostArgs, SecurityGroupArgs } from "./inputs";
import { Attachment, FleetModel, Rule, SecurityGroup } from "./resources";
import { ruleKeys } from "./identity";
import { hostSlice } from "./slice";

const DEFAULT_TABLE = "nftsg";
const DEFAULT_ROLLBACK_SECONDS = 30;
const SECRET_FIELDS = ["password", "privateKey", "privateKeyPassword"] as const;
/** First line of the FleetModel's declaration text (see formatDeclaration). */
// It starts with "@", which can start neither JSON nor a YAML token: the CLI
// would otherwise render it as a nested object diff rather than a line diff.
export const DECLARATION_HEADER = "@nftsg fleet declaration, one line per group and per host (secrets removed)";

export class Fleet extends pulumi.ComponentResource {
  readonly securityGroups: Record<string, SecurityGroup> = {};
  /** Keyed `${group}/${direction}/${ruleKey}`. */
  readonly rules: Record<string, Rule> = {};
  readonly attachments: Record<string, Attachment> = {};
  readonly model: FleetModel;

  constructor(name: string, args: FleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nftsg:index:Fleet", name, {}, opts);
    const table = args.table ?? DEFAULT_TABLE;
    // The stack, then the attachment: the same stack may move a table between
    // its own attachments (a renamed host), another stack may not.
    const stackId = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;

    // Validation of the whole declaration happens in this resource's check.
    this.model = new FleetModel(name, { fleet: name, declaration: declarationForCheck(args) }, { parent: this });

    // Duplicated names are reported by the model's check; registering them
    // twice would only produce a confusing duplicate-URN error first.
    const groups = firstByName(args.securityGroups);
    const hosts = firstByName(args.hosts);

    for (const g of groups) {
      const members = hosts.filter((h) => h.securityGroups.includes(g.name)).map((h) => h.name).sort();
      this.securityGroups[g.name] = new SecurityGroup(`${name}-${g.name}`, {
        fleet: name, name: g.name, description: g.description ?? "", members,
      }, { parent: this });
      for (const direction of ["ingress", "egress"] as const) {
        const list = g[direction] ?? [];
        ruleKeys(list).forEach((key, i) => {
          const r = list[i];
          this.rules[`${g.name}/${direction}/${key}`] = new Rule(`${name}-${g.name}-${direction}-${key}`, {
            fleet: name, group: g.name, direction, key,
            protocol: r.protocol,
            ports: r.ports as pulumi.Input<never>,
            icmpType: r.icmpType, icmpCode: r.icmpCode,
            cidrs: r.cidrs as pulumi.Input<pulumi.Input<string>[]>,
            securityGroups: r.securityGroups, description: r.description,
          }, { parent: this });
        });
      }
    }

    for (const h of hosts) {
      const owner = `${stackId}/host=${h.name}`;
      const compiled = compileHostFromSlice(args, table, h.name, owner);
      const connection = pulumi.output(h.connection as pulumi.Input<ConnectionArgs>);
      this.attachments[h.name] = new Attachment(`${name}-${h.name}`, {
        fleet: name,
        hostName: h.name,
        address: pulumi.unsecret(connection.apply((c) => c.host)),
        port: pulumi.unsecret(connection.apply((c) => c.port ?? 22)),
        connection: connection as pulumi.Output<never>,
        table,
        owner,
        takeover: args.takeover ?? false,
        rollbackSeconds: args.rollbackSeconds ?? DEFAULT_ROLLBACK_SECONDS,
        rules: compiled.apply((c) => c.lines.join("\n")),
        script: compiled.apply((c) => c.script),
        hash: compiled.apply((c) => c.hash),
      }, { parent: this, dependsOn: [this.model] });
    }
    this.registerOutputs({});
  }
}

function firstByName<T extends { name: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => (seen.has(i.name) ? false : (seen.add(i.name), true)));
}

/** The declaration with connection secrets replaced by a marker, for the model's check. */
function declarationForCheck(args: FleetArgs): pulumi.Output<unknown> {
  // Group memberships first: the CLI cuts long lines in diffs.
  const hosts = args.hosts.map(({ name, securityGroups, ...h }) => ({
    name,
    securityGroups,
    ...h,
    connection: pulumi.unsecret(pulumi.output(h.connection as pulumi.Input<ConnectionArgs>).apply(stripSecrets)),
  }));
  return pulumi.output({
    table: args.table,
    failsafe: args.failsafe,
    revokeEstablished: args.revokeEstablished,
    containers: args.containers,
    securityGroups: args.securityGroups,
    hosts,
  }).apply(formatDeclaration);
}

/**
 * JSON with one line per group and per host: `pulumi preview --diff` shows a
 * multi-line string as a line diff, so a membership change reads as one line
 * instead of the whole nested declaration.
 */
export function formatDeclaration(d: Record<string, unknown>): string {
  const entries = Object.entries(d).map(([key, value]) => {
    const body = Array.isArray(value) && value.length > 0
      ? `[\n  ${value.map((i) => JSON.stringify(i ?? null)).join(",\n  ")}\n]`
      : JSON.stringify(value ?? null);
    return `${JSON.stringify(key)}:${body}`;
  });
  return `${DECLARATION_HEADER}\n{\n${entries.join(",\n")}\n}\n`;
}

function stripSecrets(c: pulumi.Unwrap<ConnectionArgs>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c };
  for (const f of SECRET_FIELDS) if (out[f] !== undefined) out[f] = "[secret]";
  if (out.proxy && typeof out.proxy === "object") out.proxy = stripSecrets(out.proxy as pulumi.Unwrap<ConnectionArgs>);
  return out;
}

/**
 * Compile one host from the slice of the declaration it depends on, so an
 * unknown value makes only the hosts that depend on it unknown. The slice
 * carries no secrets (peers contribute only their addresses).
 */
function compileHostFromSlice(args: FleetArgs, table: string, hostName: string, owner: string): pulumi.Output<HostRuleset> {
  const slice = hostSlice<SecurityGroupArgs, HostArgs>(
    { securityGroups: firstByName(args.securityGroups), hosts: firstByName(args.hosts) },
    hostName,
  );
  const groupNames = new Set([...slice.ownGroups, ...slice.peerGroups].map((g) => g.name));
  const addressing = (h: HostArgs) => ({
    name: h.name,
    addresses: h.addresses,
    securityGroups: h.securityGroups.filter((s) => groupNames.has(s)),
    connection: pulumi.unsecret(pulumi.output(h.connection as pulumi.Input<ConnectionArgs>).apply((c) => ({ host: c.host, port: c.port }))),
  });
  const decl = pulumi.output({
    table,
    failsafe: args.failsafe,
    revokeEstablished: args.revokeEstablished,
    containers: args.containers,
    securityGroups: [
      ...slice.ownGroups,
      ...slice.peerGroups.map((g) => ({ name: g.name, description: g.description })),
    ],
    hosts: [addressing(slice.self), ...slice.peerMembers.map(addressing)],
  });
  return decl.apply((d) => compileOrPlaceholder(d as unknown as FleetDeclaration, hostName, owner));
}

function compileOrPlaceholder(decl: FleetDeclaration, hostName: string, owner: string): HostRuleset {
  // Loaded lazily: the compiler pulls in zod.
  const { compileFleet } = require("../provider/compiler/compile") as { compileFleet: (d: FleetDeclaration, o: { owner: string }) => CompiledFleet };
  try {
    return compileFleet(decl, { owner })[hostName];
  } catch (err) {
    if ((err as Error).name !== "FleetValidationError") throw err;
    // The model's check reports the problems with their paths; every
    // Attachment depends on it, so this placeholder is never applied.
    return { host: hostName, table: decl.table ?? DEFAULT_TABLE, script: "", lines: ["(invalid declaration)"], hash: "invalid" };
  }
}
