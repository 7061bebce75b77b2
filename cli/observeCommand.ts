// `nftsg observe`: the fleet-wide report of what observed hosts recorded
// (docs/observe.md), from `pulumi stack export` JSON, so it needs no
// credentials and contacts no host: the Attachments' `observed` outputs (as
// of the last refresh) and each Fleet's declaration (its FleetModel).
// Markdown, for a pull request; readable in a terminal too.
//
//   pulumi refresh --yes && pulumi stack export | nftsg observe -
import { formatAddress } from "../provider/addressing/cidr";
import type { FleetDeclaration } from "../provider/declaration/declaration";
import type { NormalisedFleet } from "../provider/declaration/fleetModel";
import { ruleContentKey } from "../provider/declaration/normalise";
import { proposedFleet } from "../provider/declaration/proposal";
import { validateFleet } from "../provider/declaration/validate";
import { indexFleet, type FleetIndex } from "../provider/evaluate/fleetIndex";
import { judgeObserved, suggestRules, suggestionsTypeScript, type ObservedFlow } from "../provider/evaluate/observed";
import { ruleText } from "../provider/evaluate/ruleText";
import type { ObservedProps } from "../provider/handlers/attachmentContract";
import { flowKey, parseFlowLine, promotionDigest, trafficText, type Flow } from "../provider/handlers/attachmentObserve";
import { parseDeclaration } from "../provider/handlers/model";
import { nftName, OBSERVE_COUNTERS } from "../provider/nft/names";
import type { Outcome } from "./commands";

export interface ObserveReportOptions {
  /** Only this Fleet. */
  fleet?: string;
  /** How many busiest rules and enforced drops to list (default 10). */
  top?: number;
  /** The time ages are counted from (ms; default now). */
  nowMs?: number;
}

interface Resource {
  type?: string;
  urn?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

interface HostView {
  name: string;
  observe?: { mode: string; policyHash: string; proposalHash?: string };
  observed: ObservedProps;
}

const isType = (r: Resource, t: string) => typeof r.type === "string" && r.type.endsWith(`nftsg:${t}`);

/** The report of every Fleet (or one) in a `pulumi stack export` document. */
export function observeReport(exported: unknown, opts: ObserveReportOptions = {}): Outcome {
  const doc = exported as { deployment?: { resources?: Resource[] }; resources?: Resource[] } | null;
  const resources = doc?.deployment?.resources ?? doc?.resources;
  if (!Array.isArray(resources)) return { out: "nftsg observe: not a `pulumi stack export` document (no deployment.resources)", code: 2 };
  const models = resources.filter((r) => isType(r, "FleetModel"));
  const attachments = resources.filter((r) => isType(r, "Attachment"));
  const fleets = [...new Set(attachments.map((a) => String(a.outputs?.fleet ?? a.inputs?.fleet)))].filter((f) => opts.fleet === undefined || f === opts.fleet).sort();
  if (fleets.length === 0) return { out: opts.fleet ? `nftsg observe: no Fleet ${JSON.stringify(opts.fleet)} in this stack` : "nftsg observe: no nftsg Fleet in this stack", code: 2 };
  const parts = fleets.map((name) => {
    const model = models.find((m) => (m.outputs?.fleet ?? m.inputs?.fleet) === name);
    const text = model?.outputs?.declaration ?? model?.inputs?.declaration;
    const decl = typeof text === "string" ? parseDeclaration(text) : undefined;
    const v = decl === undefined ? undefined : validateFleet(decl);
    const hosts: HostView[] = attachments
      .filter((a) => (a.outputs?.fleet ?? a.inputs?.fleet) === name && a.outputs?.observed)
      .map((a) => ({ name: String(a.outputs!.hostName), observe: a.outputs!.observe as HostView["observe"], observed: a.outputs!.observed as ObservedProps }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    return fleetReport(name, v?.ok ? v.fleet : undefined, v?.ok ? (decl as FleetDeclaration) : undefined, hosts, opts);
  });
  return { out: parts.join("\n"), code: 0 };
}

const ago = (iso: string | undefined, now: number): string => {
  const t = iso === undefined ? NaN : Date.parse(iso);
  if (Number.isNaN(t)) return "never";
  const m = Math.max(0, Math.round((now - t) / 60_000));
  return m < 120 ? `${m} min ago` : m < 48 * 60 ? `${Math.round(m / 60)} h ago` : `${Math.round(m / 1440)} d ago`;
};

const short = (iso: string | undefined) => (iso === undefined || iso === "?" ? "?" : iso.replace(/\.\d{3}Z$/, "Z").replace("T", " "));

function fleetReport(name: string, fleet: NormalisedFleet | undefined, decl: FleetDeclaration | undefined, hosts: HostView[], opts: ObserveReportOptions): string {
  const now = opts.nowMs ?? Date.now();
  const top = opts.top ?? 10;
  const out: string[] = [`## nftsg observe: fleet \`${name}\``, ""];
  if (hosts.length === 0) {
    out.push("No observed host (declare `observe` on the Fleet or a host; see docs/observe.md).", "");
    return out.join("\n");
  }
  const index = fleet ? indexFleet(fleet) : undefined;
  const names = new Map<string, string>();
  for (const h of fleet?.hosts ?? []) for (const a of h.addresses) names.set(formatAddress(a.family, a.value), h.name);
  const peer = (address: string) => (names.has(address) ? `${address} (${names.get(address)})` : address);
  const staged = hosts.filter((h) => h.observed.mode === "staged");
  const reads = hosts.map((h) => h.observed.readAt).filter((r): r is string => r !== undefined).sort();
  out.push(
    `${hosts.length} observed host${hosts.length === 1 ? "" : "s"}: ${staged.length} staged, ${hosts.length - staged.length} enforced. ` +
      (reads.length ? `Observations from the last refresh: ${short(reads[0])} (${ago(reads[0], now)})${reads.length > 1 && reads[0] !== reads[reads.length - 1] ? ` to ${short(reads[reads.length - 1])}` : ""}.` : "No refresh has read them yet: run `pulumi refresh`."),
    "",
  );
  if (!fleet) out.push("(The Fleet's declaration is missing or invalid in this stack: flows are not checked against it and no rules are suggested.)", "");

  // Promotions: what they would cut.
  const sections: string[] = [];
  const acks: string[] = [];
  const forSuggestions: ObservedFlow[] = [];
  const forProposal: ObservedFlow[] = [];
  for (const h of hosts) {
    const o = h.observed;
    const cut = o.cut;
    if (o.mode !== "staged" && o.proposalHash === undefined) continue;
    const kind = o.mode === "staged" ? "staged" : "proposal";
    const since = kind === "staged" ? o.policySince : o.proposalSince;
    const fresh = cut !== undefined && o.readAt !== undefined && since !== undefined && Date.parse(o.readAt) >= Date.parse(since);
    const digest = promotionDigest(h.name, kind, kind === "staged" ? o.policyHash : o.proposalHash!, fresh ? cut!.digest : undefined, true);
    const title = kind === "staged" ? `staged since ${short(o.policySince)}` : `staged change since ${short(o.proposalSince)}`;
    if (!fresh) {
      sections.push(`**${h.name}** (${title}): not observed since then; refresh after letting traffic flow.`, "");
      acks.push(digest);
      continue;
    }
    const flows = cut!.flows.map(parseFlowLine).filter((f): f is Flow => f !== undefined);
    if (cut!.total === 0 && cut!.unrecorded === 0) {
      sections.push(`**${h.name}** (${title}, observed ${ago(o.readAt, now)}): nothing would be cut.`, "");
      continue;
    }
    acks.push(digest);
    sections.push(
      `**${h.name}** (${title}, observed ${ago(o.readAt, now)}): ${cut!.total} flow${cut!.total === 1 ? "" : "s"} ${kind === "staged" ? "would be dropped" : "would be newly denied"}` +
        `${kind === "proposal" ? ` (${o.bothDenyTotal ?? 0} more are denied by both)` : ""}${cut!.unrecorded > 0 ? `; ${cut!.unrecorded} packets could not be recorded (flow set full)` : ""}. Acknowledge: \`"${digest}"\``,
      "",
      "| dir | peer | traffic | packets | bytes | first | last | declaration says |",
      "|---|---|---|---:|---:|---|---|---|",
    );
    for (const f of flows) {
      const of: ObservedFlow = { host: h.name, direction: f.direction, address: f.address, protocol: f.protocol, ...(f.port !== undefined ? { port: f.port } : {}), ...(f.icmpType !== undefined ? { icmpType: f.icmpType, icmpCode: f.icmpCode } : {}) };
      (kind === "staged" ? forSuggestions : forProposal).push(of);
      const judged = index ? judgment(kind === "staged" ? index : proposalIndex(fleet!), of) : "";
      sections.push(`| ${f.direction === "ingress" ? "in" : "out"} | ${peer(f.address)} | ${trafficText(f)} | ${f.packets} | ${f.bytes} | ${short(f.firstMs === undefined ? undefined : new Date(f.firstMs).toISOString())} | ${short(new Date(f.lastMs).toISOString())} | ${judged} |`);
    }
    if (cut!.total > flows.length) sections.push(`| | ... and ${cut!.total - flows.length} more | | | | | | |`);
    sections.push("");
  }
  if (sections.length > 0) {
    out.push("### What a promotion would cut", "", ...sections);
    if (acks.length > 0) out.push("To promote anyway (after review), add to `observe.acknowledge`:", "", "```ts", `acknowledge: ${JSON.stringify(acks)},`, "```", "");
  }

  // Suggestions.
  if (fleet && decl) {
    const s = suggestRules(fleet, forSuggestions);
    if (forSuggestions.length > 0) {
      out.push("### Suggested rules (staged hosts' would-be drops)", "", "Add to the groups named; each allows exactly what it says (its group's members, its peers, its traffic):", "", "```ts", suggestionsTypeScript(s).trimEnd(), "```", "");
    }
    const proposed = proposedFleet(fleet);
    if (proposed && forProposal.length > 0) {
      out.push("### Suggested rules for the staged change (add to `observe.proposal.securityGroups`)", "", "```ts", suggestionsTypeScript(suggestRules(proposed, forProposal)).trimEnd(), "```", "");
    }
  }

  // Drops on enforced hosts.
  const enforcedDrops = hosts.filter((h) => h.observed.mode === "enforce" && (h.observed.dropsTotal ?? 0) > 0);
  if (enforcedDrops.length > 0) {
    out.push(`### Drops recorded on enforced hosts (busiest ${top} per host)`, "", "| host | dir | peer | traffic | packets | bytes | last |", "|---|---|---|---|---:|---:|---|");
    for (const h of enforcedDrops) {
      const flows = (h.observed.drops ?? []).map(parseFlowLine).filter((f): f is Flow => f !== undefined);
      for (const f of flows.slice(0, top)) {
        out.push(`| ${h.name} | ${f.direction === "ingress" ? "in" : "out"} | ${peer(f.address)} | ${trafficText(f)} | ${f.packets} | ${f.bytes} | ${short(new Date(f.lastMs).toISOString())} |`);
      }
      if ((h.observed.dropsTotal ?? 0) > Math.min(top, flows.length)) out.push(`| ${h.name} | | ... ${(h.observed.dropsTotal ?? 0) - Math.min(top, flows.length)} more | | | | |`);
    }
    out.push("");
  }

  // Rules and counters.
  out.push(...rulesSection(fleet, hosts, top, now));
  // Bounds.
  const full = hosts.filter((h) => (h.observed.unrecorded ?? 0) > 0 || (h.observed.proposalUnrecorded ?? 0) > 0);
  out.push("### Observation bounds", "");
  if (full.length === 0) out.push("Every dropped flow was recorded: no flow set reached its bound (`observe.maxFlows`).", "");
  else {
    for (const h of full) {
      out.push(
        `- **${h.name}**: ${h.observed.dropsTotal ?? 0} flows recorded; ${h.observed.unrecorded ?? 0} packets of ${h.observed.mode === "staged" ? "would-be " : ""}drops not recorded` +
          `${(h.observed.proposalUnrecorded ?? 0) > 0 ? `, ${h.observed.proposalUnrecorded} of the staged change's denials` : ""}: a flow set was full (new flows are counted, not recorded; flows already recorded keep counting; entries expire after the retention).`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}

function judgment(index: FleetIndex, f: ObservedFlow): string {
  const side = judgeObserved(index, f);
  if (!side) return "(not a flow a rule can name)";
  if (side.coverage === "deny") return "denied: no rule matches";
  const rules = side.rules.map((r) => `${r.group}${r.description ? `: ${r.description}` : ""}`).join("; ");
  return `allowed now${rules ? ` (${rules})` : side.reason === "failsafe" ? " (failsafe)" : ""}`;
}

const proposalIndexes = new WeakMap<NormalisedFleet, FleetIndex>();
function proposalIndex(fleet: NormalisedFleet): FleetIndex {
  let i = proposalIndexes.get(fleet);
  if (!i) proposalIndexes.set(fleet, (i = indexFleet(proposedFleet(fleet) ?? fleet)));
  return i;
}

/** Each rule's hits over the observed hosts that carry it: the busiest, and those with none anywhere. */
function rulesSection(fleet: NormalisedFleet | undefined, hosts: HostView[], top: number, now: number): string[] {
  const out: string[] = ["### Rules", ""];
  const since = hosts.map((h) => h.observed.countingSince).filter((s): s is string => s !== undefined).sort();
  if (since.length > 0) out.push(`Counters count since ${short(since[0])}${since.length > 1 && since[0] !== since[since.length - 1] ? ` (the oldest table; the newest since ${short(since[since.length - 1])})` : ""}; an apply carries them over, a reboot or a hand-deleted table starts them again. A rule added later counts since its apply.`, "");
  out.push("| host | mode | drops in | drops out | invalid | failsafe | unrecorded | counting since |", "|---|---|---:|---:|---:|---:|---:|---|");
  const c = (h: HostView, name: string) => h.observed.counters?.[name]?.[0];
  for (const h of hosts) {
    const cell = (v: number | undefined) => (v === undefined ? "" : String(v));
    out.push(
      `| ${h.name} | ${h.observed.mode} | ${cell(c(h, OBSERVE_COUNTERS.dropIngress))} | ${cell(c(h, OBSERVE_COUNTERS.dropEgress))} | ${cell(c(h, OBSERVE_COUNTERS.invalid))} | ${cell(c(h, OBSERVE_COUNTERS.failsafe))} | ${cell(h.observed.unrecorded)} | ${short(h.observed.countingSince)} |`,
    );
  }
  out.push("");
  if (!fleet) return out;
  interface RuleHits { text: string; hosts: string[]; packets: number; bytes: number }
  const rules: RuleHits[] = [];
  const unobserved: string[] = [];
  for (const g of fleet.groups) {
    for (const r of [...g.ingress, ...g.egress]) {
      const counter = nftName({ kind: "ruleCounter", group: g.name, direction: r.direction, contentKey: ruleContentKey(r) });
      const carrying = hosts.filter((h) => h.observed.readAt !== undefined && h.observed.counters?.[counter] !== undefined);
      const text = `${g.name}: ${r.description ?? ruleText(r)} (${r.direction} ${ruleText(r)})`;
      if (carrying.length === 0) {
        if (fleet.hosts.some((h) => h.groups.includes(g.name))) unobserved.push(text);
        continue;
      }
      const packets = carrying.reduce((n, h) => n + (h.observed.counters![counter]![0] ?? 0), 0);
      const bytes = carrying.reduce((n, h) => n + (h.observed.counters![counter]![1] ?? 0), 0);
      rules.push({ text, hosts: carrying.map((h) => h.name), packets, bytes });
    }
  }
  const zero = rules.filter((r) => r.packets === 0);
  out.push(`**Rules with no hit on any member host** (${zero.length} of ${rules.length} observed rules):`, "");
  if (zero.length === 0) out.push("- none", "");
  else out.push(...zero.map((r) => `- ${r.text} — ${r.hosts.length} host${r.hosts.length === 1 ? "" : "s"}: ${r.hosts.slice(0, 6).join(", ")}${r.hosts.length > 6 ? ", ..." : ""}`), "");
  const busiest = rules.filter((r) => r.packets > 0).sort((a, b) => b.bytes - a.bytes || b.packets - a.packets).slice(0, top);
  out.push(`**Busiest rules** (by bytes, top ${top}; a hit is a packet the rule accepted: with revokeEstablished every packet of a connection in its original direction, else its first):`, "");
  if (busiest.length === 0) out.push("- none yet", "");
  else out.push("| rule | packets | bytes | hosts |", "|---|---:|---:|---|", ...busiest.map((r) => `| ${r.text} | ${r.packets} | ${r.bytes} | ${r.hosts.length} |`), "");
  if (unobserved.length > 0) out.push(`(${unobserved.length} rule${unobserved.length === 1 ? " is" : "s are"} on no refreshed observed host, or match nothing: not counted.)`, "");
  void now;
  return out;
}

/** The flow identity used by the report's tests. */
export { flowKey };
