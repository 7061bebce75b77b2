// Fleet: one complete description of groups, rules and hosts, turned into
// SecurityGroup, Rule and Attachment resources. Compilation happens here, in
// the program, because a change to one group's membership changes the
// firewall of every host that allows traffic from it; each host's result is an
// input of its Attachment, which is what makes `pulumi preview` show the
// effect on every host.
import * as pulumi from "@pulumi/pulumi";
import type {
  AddressListDeclaration, FleetDeclaration, HostDeclaration, HostRuleset, HostRulesetObserve, RemoteGroupDeclaration, RulesetFacts, SecurityGroupDeclaration,
} from "../provider/declaration/declaration";
import type { AddressListArgs, ConnectionArgs, FleetArgs, HostArgs, RemoteGroupArgs, SecurityGroupArgs } from "./inputs";
import type { JumpTargetProps } from "../provider/handlers/attachmentContract";
import { AddressList, Attachment, FleetModel, RemoteGroup, Rule, SecurityGroup, stackIdentity } from "./resources";
import { type PublishedGroups, pickPublishedGroup, publishedGroups } from "../provider/declaration/remoteGroups";
import { addressListText, affectedHostsText, remoteGroupRecord } from "./multistack";
import { ruleKeys } from "./identity";
import { fleetSlices } from "./slice";
import { SharedCompile, type FleetOptions } from "./sharedCompile";
import { announceUnknownPolicyTests } from "./policyTests";
import { hostFlowTexts } from "./flows";
import { DEFAULT_ROLLBACK_SECONDS, DEFAULT_SSH_PORT, DEFAULT_TABLE } from "../provider/vocabulary/defaults";
import { gateLocations } from "./locationGate";

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
  /** The address lists' records, by name (docs/multistack.md). */
  readonly addressLists: Record<string, AddressList> = {};
  /** The remote groups' records, by name: their published members as read. */
  readonly remoteGroups: Record<string, RemoteGroup> = {};
  readonly model: FleetModel;
  /**
   * With `publish`: the published groups' members (names and addresses only),
   * in the documented, versioned shape other stacks read as remoteGroups.
   * Export it: `export const published = fleet.published`.
   */
  readonly published: pulumi.Output<PublishedGroups> | undefined;

  constructor(name: string, args: FleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nftsg:index:Fleet", name, {}, opts);
    // Pulumi's Node SDK captures a stack trace for every promise it makes
    // (debuggablePromise: "_debugStackTrace"), about 80 per resource while it
    // is constructed, each rewritten by source-map-support: most of the CPU
    // and garbage of registering a large fleet (docs/benchmarks.md). None is
    // ever read unless PULUMI_DEBUG_PROMISE_LEAKS is set. Registration here is
    // synchronous, so the limit is lowered only for it and restored before
    // any other code runs; the resources' own source positions are unaffected
    // (the SDK raises the limit itself to capture them).
    const stackTraceLimit = Error.stackTraceLimit;
    if (!process.env.PULUMI_DEBUG_PROMISE_LEAKS) Error.stackTraceLimit = 0;
    try {
      const registered = this.registerFleet(name, args);
      this.model = registered.model;
      this.published = registered.published;
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
  }

  /** Registers the fleet's resources; returns its FleetModel and published value. */
  private registerFleet(name: string, args: FleetArgs): { model: FleetModel; published: pulumi.Output<PublishedGroups> | undefined } {
    const table = args.table ?? DEFAULT_TABLE;
    // The stack, then the attachment: the same stack may move a table between
    // its own attachments (a renamed host), another stack may not.
    const stackId = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;

    const ownerOf = (host: string) => `${stackId}/host=${host}`;
    // Remote groups' published values, each cut down to the group used (unsecret:
    // a published value holds names and addresses only).
    const remoteDecls = new Map((args.remoteGroups ?? []).map((r) => [r.name, remoteGroupDeclaration(r)]));
    // The whole declaration, validated once here (and its policy tests run):
    // the model and every Attachment carry the verdict and refuse an invalid
    // one in their own check, before any host is contacted.
    const declaration = declarationForCheck(args, remoteDecls);
    const owners = Object.fromEntries(args.hosts.map((h) => [h.name, ownerOf(h.name)]));
    const verdict = declaration.apply((text) => fleetVerdict(String(text), owners));
    const model = new FleetModel(name, { fleet: name, declaration, verdict }, { parent: this });
    announceUnknownPolicyTests(model, declaration, args.tests);

    // Duplicated names are reported by the model's check; registering them
    // twice would only produce a confusing duplicate-URN error first.
    const groups = firstByName(args.securityGroups);
    const hosts = firstByName(args.hosts);

    const addressing = new Map(hosts.map((h) => [h.name, hostAddressing(h)]));
    const lists = firstByName(args.addressLists ?? []);
    const remotes = firstByName(args.remoteGroups ?? []);
    for (const l of lists) {
      this.addressLists[l.name] = new AddressList(`${name}-list-${l.name}`, {
        fleet: name, name: l.name, description: l.description ?? "",
        cidrs: pulumi.output(l.cidrs as pulumi.Input<pulumi.Input<string>[]>).apply((c) => addressListText(l.name, c)),
        affects: affectedHostsText(groups, hosts, (r) => (r.addressLists ?? []).includes(l.name)),
      }, { parent: this });
    }
    for (const r of remotes) {
      const decl = remoteDecls.get(r.name)!;
      const record = decl.apply(remoteGroupRecord);
      this.remoteGroups[r.name] = new RemoteGroup(`${name}-remote-${r.name}`, {
        fleet: name, name: r.name,
        affects: affectedHostsText(groups, hosts, (x) => (x.securityGroups ?? []).includes(r.name)),
        source: record.apply((x) => x.source),
        members: record.apply((x) => x.members),
        memberAddresses: record.apply((x) => x.memberAddresses),
        allowEmpty: decl.apply((d) => d.allowEmpty === true),
      }, { parent: this });
    }
    let published: pulumi.Output<PublishedGroups> | undefined;
    if (args.publish) {
      const publishedNames = args.publish.groups;
      const members = hosts.filter((h) => h.securityGroups.some((g) => publishedNames.includes(g)));
      const meta = { stack: stackId, fleet: name };
      published = pulumi.all(members.map((h) => addressing.get(h.name)!)).apply((list) => publishedGroups(list, publishedNames, meta));
    }
    for (const g of groups) {
      const memberHosts = hosts.filter((h) => h.securityGroups.includes(g.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
      this.securityGroups[g.name] = new SecurityGroup(`${name}-${g.name}`, {
        fleet: name, name: g.name, description: g.description ?? "", members: memberHosts.map((h) => h.name),
        memberAddresses: memberAddressText(memberHosts.map((h) => addressing.get(h.name)!)),
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
            securityGroups: r.securityGroups, addressLists: r.addressLists, description: r.description,
          }, { parent: this });
        });
      }
    }

    const compiled = compileHosts(args, table, groups, hosts, addressing, ownerOf, lists, remotes, remoteDecls);
    const jumpTargets = jumpTargetsOf(hosts);
    const located = hosts.map((h) => {
      const connection = pulumi.output(h.connection as pulumi.Input<ConnectionArgs>);
      return {
        name: h.name, connection,
        address: pulumi.unsecret(connection.apply((c) => c.host)),
        port: pulumi.unsecret(connection.apply((c) => c.port ?? DEFAULT_SSH_PORT)),
      };
    });
    // At `up`, an Attachment whose host and table another declaration of this
    // program shares carries the duplicate in its verdict (sdk/locationGate.ts).
    const gate = gateLocations(name, table, located);
    const verdictOf = (h: HostArgs): pulumi.Output<string> =>
      gate ? pulumi.all([verdict, gate(h.name)]).apply(([v, dup]) => (dup ? verdictWith(v, `hosts[${args.hosts.indexOf(h)}].connection.host`, dup) : v)) : verdict;
    hosts.forEach((h, i) => {
      const owner = ownerOf(h.name);
      const content = compiled.get(h.name)!;
      const { connection, address, port } = located[i]!;
      this.attachments[h.name] = new Attachment(`${name}-${h.name}`, {
        fleet: name,
        hostName: h.name,
        address,
        port,
        connection: connection as pulumi.Output<never>,
        table,
        owner,
        takeover: args.takeover ?? false,
        rollbackSeconds: args.rollbackSeconds ?? DEFAULT_ROLLBACK_SECONDS,
        // The compiled content as one value (format, rules, scriptBrotli, flows, hash; the compiler's facts of
        // the script, not compared by diff: they follow from it; observe for observed hosts only, absent
        // otherwise as in old state: docs/observe.md). One Output per host, not one per field (issue 18).
        content: content.apply((c) => {
          const observe = observeInput(c.observe, [...(args.observe?.acknowledge ?? []), ...(h.observe?.acknowledge ?? [])]);
          return {
            format: c.format, rules: c.rules, scriptBrotli: c.scriptBrotli, flows: c.flows, hash: c.hash,
            ...(c.facts !== undefined ? { facts: c.facts } : {}),
            ...(observe !== undefined ? { observe } : {}),
          };
        }),
        verdict: verdictOf(h),
        stackId: stackIdentity(),
        jumpTargets: jumpTargets.apply((byHost) => byHost[h.name]),
      }, { parent: this, dependsOn: [model] });
    });
    this.registerOutputs({});
    return { model, published };
  }
}

/**
 * For each host that is the jump host of others (their connection.proxy names
 * it: provider/declaration/jumpHosts.ts), where it dials them; its Attachment
 * proves, before it confirms a new ruleset, that it still reaches each
 * (docs/apply.md). Hosts with none are absent. Only hosts, ports, proxies
 * and addresses are read: never a secret.
 */
function jumpTargetsOf(hosts: HostArgs[]): pulumi.Output<Record<string, JumpTargetProps[] | undefined>> {
  const plain = hosts.map((h) =>
    pulumi.output({
      name: h.name,
      addresses: h.addresses,
      connection: pulumi.unsecret(
        pulumi.output(h.connection as pulumi.Input<ConnectionArgs>).apply((c) => ({
          host: c.host,
          port: c.port,
          proxy: c.proxy ? { host: c.proxy.host, port: c.proxy.port } : undefined,
        })),
      ),
    }),
  );
  return pulumi.all(plain).apply((list) => {
    const { jumpEdges } = require("../provider/declaration/jumpHosts") as typeof import("../provider/declaration/jumpHosts");
    const out: Record<string, JumpTargetProps[]> = {};
    for (const { target, jump } of jumpEdges(list)) {
      const t = list[target]!;
      const entries = (out[list[jump]!.name] ??= []);
      if (!entries.some((e) => e.name === t.name)) entries.push({ name: t.name, host: t.connection.host, port: t.connection.port ?? DEFAULT_SSH_PORT });
    }
    for (const entries of Object.values(out)) entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return out;
  });
}

/** A verdict with one more problem (provider/handlers/verdict.ts). */
function verdictWith(verdict: string, path: string, message: string): string {
  const { withProblem } = require("../provider/handlers/verdict") as typeof import("../provider/handlers/verdict");
  return withProblem(verdict, { path, message });
}

/** The verdict on the declaration (provider/handlers/verdict.ts), from its check text. */
function fleetVerdict(text: string, owners: Record<string, string>): string {
  const { parseDeclaration } = require("../provider/handlers/model") as typeof import("../provider/handlers/model");
  const { fleetProblems, verdictText } = require("../provider/handlers/verdict") as typeof import("../provider/handlers/verdict");
  return verdictText(fleetProblems(parseDeclaration(text), owners));
}

function firstByName<T extends { name: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => (seen.has(i.name) ? false : (seen.add(i.name), true)));
}

/** A remote group as the compiler reads it: its published value cut down to the group used. */
function remoteGroupDeclaration(r: RemoteGroupArgs): pulumi.Output<RemoteGroupDeclaration> {
  const group = r.group ?? r.name;
  const source = pulumi.unsecret(pulumi.output(r.source)).apply((v) => pickPublishedGroup(v, group));
  return pulumi.output({
    name: r.name,
    ...(r.group !== undefined ? { group: r.group } : {}),
    ...(r.allowEmpty !== undefined ? { allowEmpty: r.allowEmpty } : {}),
    ...(r.description !== undefined ? { description: r.description } : {}),
  }).apply((d) => source.apply((src) => ({ ...d, source: src }) as RemoteGroupDeclaration));
}

/** The declaration with connection secrets replaced by a marker, for the model's check. */
function declarationForCheck(args: FleetArgs, remotes: Map<string, pulumi.Output<RemoteGroupDeclaration>>): pulumi.Output<unknown> {
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
    // Only when used: a declaration without them reads as it always has.
    ...(args.addressLists !== undefined ? { addressLists: args.addressLists } : {}),
    ...(args.remoteGroups !== undefined ? { remoteGroups: args.remoteGroups.map((r) => remotes.get(r.name) ?? remoteGroupDeclaration(r)) } : {}),
    ...(args.publish !== undefined ? { publish: args.publish } : {}),
    tests: args.tests,
    observe: args.observe,
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

/** What the compiler needs of a host: addresses, groups, and where its SSH server listens (never secrets). */
function hostAddressing(h: HostArgs): pulumi.Output<HostDeclaration> {
  return pulumi.output({
    name: h.name,
    addresses: h.addresses,
    securityGroups: h.securityGroups,
    observe: h.observe,
    connection: pulumi.unsecret(pulumi.output(h.connection as pulumi.Input<ConnectionArgs>).apply((c) => ({ host: c.host, port: c.port }))),
  }) as pulumi.Output<HostDeclaration>;
}

/**
 * A group's members, one per line with their addresses: a membership change
 * reads as one line (`+ spare 198.18.2.16`) on the group, once, while each
 * affected host shows only the group's new member count and digest.
 */
function memberAddressText(members: pulumi.Output<HostDeclaration>[]): pulumi.Output<string> {
  return pulumi.all(members).apply((ms) => {
    const lines = ms.map((m) => [m.name, ...(m.addresses ?? [m.connection.host])].join(" "));
    return `${MEMBERS_HEADER}\n${lines.join("\n")}\n`;
  });
}
const MEMBERS_HEADER = "@members: name and addresses, one per line";

interface AttachmentContent {
  format: number;
  /** Readable lines: one per rule in group terms, one per peer group. */
  rules: string;
  scriptBrotli: string;
  hash: string;
  /** What the host side must know of the script (HostRuleset.facts); absent when the declaration did not compile. */
  facts?: RulesetFacts;
  /** What the host allows, one flow per line (sdk/flows.ts); display only. */
  flows: string;
  /** Observed hosts (docs/observe.md). */
  observe?: HostRulesetObserve;
}

/** The Attachment's observe input: the compiled mode and policy identities, and the acknowledgements. */
function observeInput(o: HostRulesetObserve | undefined, acknowledge: string[]) {
  if (!o) return undefined;
  const ack = [...new Set(acknowledge)].sort();
  return { ...o, ...(ack.length > 0 ? { acknowledge: ack } : {}) };
}

/**
 * Every host's compiled content. Each host's Output depends only on its own
 * slice (so an unknown value makes only its dependants unknown), while the
 * compiling is done once for all hosts whose slices are known.
 */
function compileHosts(
  args: FleetArgs,
  table: string,
  groups: SecurityGroupArgs[],
  hosts: HostArgs[],
  addressing: Map<string, pulumi.Output<HostDeclaration>>,
  ownerOf: (host: string) => string,
  lists: AddressListArgs[],
  remotes: RemoteGroupArgs[],
  remoteDecls: Map<string, pulumi.Output<RemoteGroupDeclaration>>,
): Map<string, pulumi.Output<AttachmentContent>> {
  const options = pulumi.output({ table, failsafe: args.failsafe, revokeEstablished: args.revokeEstablished, containers: args.containers, observe: args.observe }) as pulumi.Output<FleetOptions>;
  const fullGroups = new Map(groups.map((g) => [g.name, pulumi.output(g) as pulumi.Output<SecurityGroupDeclaration>]));
  const stubGroups = new Map(groups.map((g) => [g.name, pulumi.output({ name: g.name, description: g.description })]));
  const memberLists = new Map<string, pulumi.Output<HostDeclaration[]>>();
  const listDecls = new Map(lists.map((l) => [l.name, pulumi.output(l) as pulumi.Output<AddressListDeclaration>]));
  // Hosts whose rules name the same remote groups and lists share one Output of them.
  const namedLists = new Map<string, pulumi.Output<{ remoteGroups: RemoteGroupDeclaration[]; addressLists: AddressListDeclaration[] }>>();
  const shared = new SharedCompile(new Set(args.securityGroups.map((g) => g.name)), (decl, only) => compileWhole(decl, only, ownerOf));
  const out = new Map<string, pulumi.Output<AttachmentContent>>();
  if (args.observe?.proposal) {
    // A staged change (docs/observe.md) may make any host a peer of any
    // other: one compile of the whole declaration, shared by every host (a
    // value unknown at preview then leaves every host's content unknown).
    const whole = pulumi
      .all([
        options,
        pulumi.all(groups.map((g) => fullGroups.get(g.name)!)),
        pulumi.all(hosts.map((h) => addressing.get(h.name)!)),
        pulumi.all(remotes.map((r) => remoteDecls.get(r.name)!)),
        pulumi.all(lists.map((l) => listDecls.get(l.name)!)),
      ])
      .apply(([opts, securityGroups, hostDecls, remoteGroups, addressLists]) => {
        try {
          const decl = {
            ...(opts as FleetOptions), securityGroups, hosts: hostDecls,
            ...(remoteGroups.length > 0 ? { remoteGroups } : {}),
            ...(addressLists.length > 0 ? { addressLists } : {}),
          } as FleetDeclaration;
          return compileWhole(decl, hosts.map((h) => h.name), ownerOf);
        } catch (e) {
          return e as Error;
        }
      });
    for (const h of hosts) out.set(h.name, whole.apply((all) => attachmentContent(all instanceof Error ? all : all[h.name]!)));
    return out;
  }
  for (const [hostName, slice] of fleetSlices({ securityGroups: groups, hosts, remoteGroups: remotes, addressLists: lists })) {
    let members = memberLists.get(slice.peerKey);
    if (!members) {
      members = pulumi.all(slice.peerMembers.map((m) => addressing.get(m.name)!));
      memberLists.set(slice.peerKey, members);
    }
    let named = namedLists.get(slice.namedKey);
    if (!named) {
      named = pulumi
        .all([pulumi.all(slice.remoteGroups.map((r) => remoteDecls.get(r.name)!)), pulumi.all(slice.addressLists.map((l) => listDecls.get(l.name)!))])
        .apply(([remoteGroups, addressLists]) => ({ remoteGroups, addressLists }) as { remoteGroups: RemoteGroupDeclaration[]; addressLists: AddressListDeclaration[] });
      namedLists.set(slice.namedKey, named);
    }
    // The shared member list stays out of pulumi.all: an Output walks its
    // whole value for unknowns, so one holding the list per host would cost
    // members x hosts (quadratic for an all-to-all group).
    const own = pulumi.all([
      options,
      pulumi.all(slice.ownGroups.map((g) => fullGroups.get(g.name)!)),
      pulumi.all(slice.peerGroups.map((g) => stubGroups.get(g.name)!)),
      addressing.get(hostName)!,
    ]);
    const peers = members;
    const remoteAndLists = named!;
    out.set(hostName, own.apply(([opts, ownGroups, peerGroups, self]) => peers.apply((peerMembers) => remoteAndLists.apply(async ({ remoteGroups, addressLists }) => {
      const r = await shared.request(hostName, { options: opts, ownGroups, peerGroups, self, peerMembers, remoteGroups, addressLists });
      return attachmentContent(r);
    }))));
  }
  return out;
}

/** Compiles `only` these hosts of a declaration, with their flows; throws on an invalid one. */
function compileWhole(decl: FleetDeclaration, only: string[], ownerOf: (host: string) => string): Record<string, HostRuleset & { flows?: string }> {
  // Loaded lazily: the compiler pulls in zod. One validation per batch,
  // for both the rulesets and the flows.
  const { compileNormalisedFleet, validateFleet, FleetValidationError } = require("../provider/compiler/compile") as typeof import("../provider/compiler/compile");
  const v = validateFleet(decl);
  if (!v.ok) throw new FleetValidationError(v.issues);
  const compiled = compileNormalisedFleet(v.fleet, { owners: Object.fromEntries(only.map((h) => [h, ownerOf(h)])), lineStyle: "groups", only });
  const flows = hostFlowTexts(v.fleet, only);
  return Object.fromEntries(Object.entries(compiled).map(([h, r]) => [h, { ...r, flows: flows[h] }]));
}

const INVALID_CONTENT = "(invalid declaration: no ruleset; the problems are reported with their paths)";

/** An Attachment's content: the host's compiled ruleset, or a placeholder its check refuses. */
export function attachmentContent(r: (HostRuleset & { flows?: string }) | Error): AttachmentContent {
  const { encodeScript, ATTACHMENT_FORMAT } = require("../provider/handlers/scriptEncoding") as typeof import("../provider/handlers/scriptEncoding");
  if (r instanceof Error) {
    // No ruleset: the Attachment's check refuses content whose hash is not a
    // script's. An invalid declaration's problems are in the verdict it
    // carries, with their paths; any other failure is said here. Never
    // rethrown: an Attachment whose registration fails is no longer declared,
    // and the engine deletes it, its table with it (seen with a rejected
    // dependsOn: sdk/locationGate.ts).
    const invalid = r.name === "FleetValidationError";
    const rules = invalid ? INVALID_CONTENT : `(the compiler failed for this host: ${r.message.slice(0, 300)}; nothing is applied)`;
    return { format: ATTACHMENT_FORMAT, rules, scriptBrotli: "", hash: invalid ? "invalid declaration" : "compile error", flows: rules };
  }
  return {
    format: ATTACHMENT_FORMAT, rules: r.lines.join("\n"), scriptBrotli: encodeScript(r.script), hash: r.hash, facts: r.facts, flows: r.flows ?? "",
    ...(r.observe ? { observe: r.observe } : {}),
  };
}
