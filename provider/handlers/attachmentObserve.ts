// Observe before enforce, on the Attachment (docs/observe.md): what a refresh
// brings into the `observed` output (counters, recorded flows, compactly),
// what a promotion is (staged -> enforced, or a staged change becoming the
// declaration), which observed flows it would cut, and the guard that refuses
// it unless acknowledged. Pure: the handlers call these with state and the
// host's read.
import type { RecordedFlowKey } from "../evaluate/observed";
import { createHash } from "node:crypto";
import type { AttachmentProps, ObservedProps, ObservedCut } from "./attachmentContract";
import { parseObservations, type FlowElement, type TableObservations } from "../nft/observations";
import { nftName, OBSERVE_COUNTERS } from "../nft/names";
import { MAX_FLOWS_IN_STATE } from "../vocabulary/observe";
import type { Direction } from "../vocabulary/directions";

/** Protocols whose recorded port is a destination port; ICMP's is its type and code; others have none. */
const PORT_PROTOCOLS = new Set(["tcp", "udp", "sctp", "udplite", "dccp", "6", "17", "132", "136", "33"]);
const ICMP_PROTOCOLS: Record<string, string> = { icmp: "icmp", "ipv6-icmp": "icmpv6", "1": "icmp", "58": "icmpv6" };
const PROTOCOL_NAMES: Record<string, string> = { "6": "tcp", "17": "udp", "132": "sctp", "50": "esp", "51": "ah", "47": "gre" };

/** One recorded flow, as the report and the guard see it. */
export interface Flow extends RecordedFlowKey {
  packets: number;
  bytes: number;
  /** ms since the epoch, host clock; absent when unknown (its first packet is older than the retention). */
  firstMs?: number;
  lastMs: number;
}

const DIRECTION_WORD: Record<Direction, string> = { ingress: "in", egress: "out" };

/** The traffic part of a flow: "tcp/5432", "icmp/8.0", "esp". */
export function trafficText(f: Pick<Flow, "protocol" | "port" | "icmpType" | "icmpCode">): string {
  if (f.port !== undefined) return `${f.protocol}/${f.port}`;
  if (f.icmpType !== undefined) return `${f.protocol}/${f.icmpType}.${f.icmpCode ?? 0}`;
  return f.protocol;
}

/** A flow's identity: direction, peer, traffic. */
export function flowKey(f: Flow): string {
  return `${DIRECTION_WORD[f.direction]} ${f.address} ${trafficText(f)}`;
}

const iso = (ms: number | undefined) => (ms === undefined ? "?" : new Date(ms).toISOString());

/** "in 198.18.0.6 tcp/5432 3p 180B first 2025-...Z last 2025-...Z": one flow, compactly. */
export function flowLine(f: Flow): string {
  return `${flowKey(f)} ${f.packets}p ${f.bytes}B first ${iso(f.firstMs)} last ${iso(f.lastMs)}`;
}

const FLOW_LINE = /^(in|out) (\S+) ([a-z0-9-]+)(?:\/(\d+)(?:\.(\d+))?)? (\d+)p (\d+)B first (\S+) last (\S+)$/;

/** A flow line back as a flow (the report reads state); undefined if it is not one. */
export function parseFlowLine(line: string): Flow | undefined {
  const m = FLOW_LINE.exec(line);
  if (!m) return undefined;
  const protocol = m[3]!;
  const icmp = protocol === "icmp" || protocol === "icmpv6";
  const first = m[8] === "?" ? undefined : Date.parse(m[8]!);
  return {
    direction: m[1] === "in" ? "ingress" : "egress",
    address: m[2]!,
    protocol,
    ...(m[4] !== undefined && !icmp ? { port: Number(m[4]) } : {}),
    ...(m[4] !== undefined && icmp ? { icmpType: Number(m[4]), icmpCode: Number(m[5] ?? 0) } : {}),
    packets: Number(m[6]),
    bytes: Number(m[7]),
    ...(first !== undefined && !Number.isNaN(first) ? { firstMs: first } : {}),
    lastMs: Date.parse(m[9]!),
  };
}

/** The flows of one kind (drops, or a staged change's denials) from a table's observations, merged by identity. */
export function flowsOf(obs: TableObservations, proposal: boolean, nowMs: number): Flow[] {
  const merged = new Map<string, Flow>();
  for (const direction of ["ingress", "egress"] as const) {
    for (const family of [4, 6] as const) {
      const last = obs.sets[nftName({ kind: "observeSet", direction, family, first: false, proposal })];
      if (!last) continue;
      const firstSet = obs.sets[nftName({ kind: "observeSet", direction, family, first: true, proposal })];
      const firstTimeout = firstSet?.timeoutMs ?? last.timeoutMs ?? 0;
      const firsts = new Map((firstSet?.elements ?? []).map((e) => [`${e.address}|${e.protocol}|${e.port}`, e]));
      for (const e of last.elements) {
        const f = toFlow(direction, e, nowMs, last.timeoutMs ?? 0);
        const first = firsts.get(`${e.address}|${e.protocol}|${e.port}`);
        if (first?.expiresMs !== undefined) f.firstMs = nowMs - (firstTimeout - first.expiresMs);
        const key = flowKey(f);
        const seen = merged.get(key);
        // Protocols without ports: the bytes nftsg keys them by are not a port; one flow per peer.
        if (seen) {
          seen.packets += f.packets;
          seen.bytes += f.bytes;
          seen.lastMs = Math.max(seen.lastMs, f.lastMs);
          seen.firstMs = seen.firstMs === undefined || f.firstMs === undefined ? undefined : Math.min(seen.firstMs, f.firstMs);
        } else {
          merged.set(key, f);
        }
      }
    }
  }
  return [...merged.values()].sort(busiestFirst);
}

function toFlow(direction: Direction, e: FlowElement, nowMs: number, timeoutMs: number): Flow {
  const icmp = ICMP_PROTOCOLS[e.protocol];
  const protocol = icmp ?? PROTOCOL_NAMES[e.protocol] ?? e.protocol;
  const lastMs = nowMs - (timeoutMs - (e.expiresMs ?? timeoutMs));
  return {
    direction,
    address: e.address,
    protocol,
    ...(PORT_PROTOCOLS.has(e.protocol) ? { port: e.port } : {}),
    ...(icmp ? { icmpType: e.port >> 8, icmpCode: e.port & 255 } : {}),
    packets: e.packets ?? 0,
    bytes: e.bytes ?? 0,
    lastMs,
  };
}

const busiestFirst = (a: Flow, b: Flow) => b.packets - a.packets || (flowKey(a) < flowKey(b) ? -1 : flowKey(a) > flowKey(b) ? 1 : 0);

const sum = (c: TableObservations["counters"], names: string[]) => names.reduce((n, k) => n + (c[k]?.packets ?? 0), 0);

/** Unrecorded packets (a flow set was full, or a packet had no transport header) of drops, or of a staged change. */
function unrecorded(obs: TableObservations, proposal: boolean): number {
  return proposal
    ? sum(obs.counters, [OBSERVE_COUNTERS.proposalUnrecordedIngress, OBSERVE_COUNTERS.proposalUnrecordedEgress])
    : sum(obs.counters, [OBSERVE_COUNTERS.unrecordedIngress, OBSERVE_COUNTERS.unrecordedEgress]);
}

/** A list kept short in state: the busiest flows, and how many there are. */
function compact(flows: Flow[]): { lines: string[]; total: number } {
  return { lines: flows.slice(0, MAX_FLOWS_IN_STATE).map(flowLine), total: flows.length };
}

const digestOf = (parts: string[]) => createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 12);

/**
 * What a promotion of the observed policy would cut, from what this read
 * recorded: the drops (staged) or the staged change's new denials (not also
 * denied by the enforced rules) seen since that policy was applied here, and
 * the packets that could not be recorded since then.
 */
function cutOf(host: string, kind: "staged" | "proposal", policyHash: string, sinceMs: number | undefined, flows: Flow[], unrecordedNow: number, baseline: number): ObservedCut {
  const since = sinceMs ?? 0;
  const cut = flows.filter((f) => f.lastMs >= since);
  // A counter below its baseline has restarted (a reboot, the table recreated):
  // all it counts is since then, so all of it is within this window.
  const lost = unrecordedNow >= baseline ? unrecordedNow - baseline : unrecordedNow;
  const digest = digestOf([host, kind, policyHash, ...cut.map(flowKey).sort(), `unrecorded ${lost > 0}`]);
  return { kind, policyHash, since: iso(sinceMs), flows: cut.slice(0, MAX_FLOWS_IN_STATE).map(flowLine), total: cut.length, unrecorded: lost, digest };
}

/**
 * The `observed` output after a refresh: the counters and recorded flows of
 * the live table (host clock), and what a promotion would cut. `prev` is the
 * state's `observed` (when the observed policy was applied).
 */
export function observedFromRead(host: string, listing: string, nowMs: number, bootTimeS: number | undefined, prev: ObservedProps): ObservedProps {
  const obs = parseObservations(listing);
  const counters: Record<string, number[]> = {};
  for (const [name, v] of Object.entries(obs.counters)) if (name !== OBSERVE_COUNTERS.since) counters[name] = [v.packets, v.bytes];
  const sinceS = obs.counters[OBSERVE_COUNTERS.since]?.packets;
  const countingSinceS = sinceS === undefined ? undefined : sinceS === 0 ? bootTimeS : sinceS;
  const drops = flowsOf(obs, false, nowMs);
  const out: ObservedProps = {
    ...prev,
    readAt: iso(nowMs),
    ...(countingSinceS !== undefined ? { countingSince: iso(countingSinceS * 1000) } : {}),
    counters,
    unrecorded: unrecorded(obs, false),
  };
  const d = compact(drops);
  out.drops = d.lines;
  out.dropsTotal = d.total;
  delete out.cut;
  if (prev.mode === "staged") {
    out.cut = cutOf(host, "staged", prev.policyHash, parseIso(prev.policySince), drops, out.unrecorded ?? 0, prev.unrecordedBaseline ?? 0);
  }
  if (prev.proposalHash !== undefined) {
    const denied = flowsOf(obs, true, nowMs);
    const enforced = new Set(drops.map(flowKey));
    const newly = denied.filter((f) => !enforced.has(flowKey(f)));
    out.proposalUnrecorded = unrecorded(obs, true);
    const n = compact(newly);
    out.newlyDenied = n.lines;
    out.newlyDeniedTotal = n.total;
    out.bothDenyTotal = denied.length - newly.length;
    out.cut = cutOf(host, "proposal", prev.proposalHash, parseIso(prev.proposalSince), newly, out.proposalUnrecorded, prev.proposalUnrecordedBaseline ?? 0);
  } else {
    delete out.newlyDenied;
    delete out.newlyDeniedTotal;
    delete out.bothDenyTotal;
    delete out.proposalUnrecorded;
  }
  return out;
}

function parseIso(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The `observed` output after an apply: the policy now on the host, since
 * when (the host's clock at the transaction) when it changed; what earlier
 * refreshes recorded is kept (it stays on the host too).
 */
export function observedAfterApply(news: AttachmentProps, olds: AttachmentProps | undefined, appliedAtMs: number | undefined): ObservedProps | undefined {
  const o = news.observe;
  if (!o) return undefined;
  const prev = olds?.observed;
  const at = iso(appliedAtMs ?? Date.now());
  const policyChanged = !prev || prev.policyHash !== o.policyHash || prev.mode !== o.mode;
  const proposalChanged = o.proposalHash !== undefined && prev?.proposalHash !== o.proposalHash;
  const out: ObservedProps = {
    ...(prev ?? {}),
    mode: o.mode,
    policyHash: o.policyHash,
    policySince: policyChanged ? at : (prev?.policySince ?? at),
    // Packets not recorded before this policy are not its would-drops (the last refresh's count: conservative).
    unrecordedBaseline: policyChanged ? (prev?.unrecorded ?? 0) : (prev?.unrecordedBaseline ?? 0),
  };
  if (o.proposalHash !== undefined) {
    out.proposalHash = o.proposalHash;
    out.proposalSince = proposalChanged ? at : (prev?.proposalSince ?? at);
    out.proposalUnrecordedBaseline = proposalChanged ? (prev?.proposalUnrecorded ?? 0) : (prev?.proposalUnrecordedBaseline ?? 0);
  } else {
    for (const k of ["proposalHash", "proposalSince", "proposalUnrecordedBaseline", "proposalUnrecorded", "newlyDenied", "newlyDeniedTotal", "bothDenyTotal"] as const) delete out[k];
  }
  // What the last refresh said a promotion would cut was about the policy then.
  if (policyChanged || proposalChanged) delete out.cut;
  return out;
}

/** The digest that acknowledges a promotion of `policy` on `host`, resting on the observation `cutDigest` (undefined: none). */
export function promotionDigest(host: string, kind: "staged" | "proposal", policy: string, cutDigest: string | undefined, exact: boolean): string {
  return digestOf([host, kind, policy, cutDigest ?? "unobserved", exact ? "exact" : "changed"]);
}

/** A promotion: what the host ran observed becomes what it enforces. */
export interface Promotion {
  kind: "staged" | "proposal";
  /** The promoted policy is exactly the one observed (else it also changes the policy). */
  exact: boolean;
  /** The observation a promotion rests on; undefined when nothing was read since that policy was applied. */
  cut?: ObservedCut;
  /** Why the guard refuses (empty: it does not). */
  problems: string[];
  /** The digest that acknowledges it. */
  digest: string;
  acknowledged: boolean;
}

/** The policy the new inputs enforce: observed hosts carry its hash; a plain ruleset is its own policy. */
function enforcedPolicy(news: AttachmentProps): string | undefined {
  if (news.observe) return news.observe.mode === "enforce" ? news.observe.policyHash : undefined;
  return news.hash;
}

/**
 * Whether `news` promotes what `olds` (state) observed on this host, and
 * whether the guard refuses it: observed flows it would cut, packets that
 * could not be recorded, no observation since the policy was applied, or a
 * promotion that also changes the policy (never observed as such).
 */
export function promotionOf(olds: AttachmentProps, news: AttachmentProps, nowMs = Date.now()): Promotion | undefined {
  const observed = olds.observed;
  if (!observed) return undefined;
  const policy = enforcedPolicy(news);
  if (policy === undefined) return undefined;
  let kind: Promotion["kind"];
  let exact: boolean;
  if (observed.mode === "staged") {
    kind = "staged";
    exact = policy === observed.policyHash;
  } else if (observed.proposalHash !== undefined && policy === observed.proposalHash && policy !== observed.policyHash) {
    kind = "proposal";
    exact = true;
  } else {
    return undefined;
  }
  const since = kind === "staged" ? observed.policySince : observed.proposalSince;
  const cut = observed.cut && observed.cut.kind === kind && parseIso(observed.readAt) !== undefined && parseIso(observed.readAt)! >= (parseIso(since) ?? 0) ? observed.cut : undefined;
  const problems: string[] = [];
  const what = kind === "staged" ? "staged policy" : "staged change";
  if (!cut) {
    problems.push(`nothing was observed since the ${what} was applied here (${since ?? "never"}): run \`pulumi refresh\` after letting traffic flow, so the promotion rests on an observation`);
  } else {
    if (cut.total > 0) {
      problems.push(
        `${cut.total} observed flow${cut.total === 1 ? "" : "s"} would be cut (${kind === "staged" ? "would-be drops" : "newly denied"} since ${cut.since}, observed ${age(cut, observed.readAt, nowMs)}):\n${cut.flows.map((l) => `    ${l}`).join("\n")}${cut.total > cut.flows.length ? `\n    ... and ${cut.total - cut.flows.length} more` : ""}`,
      );
    }
    if (cut.unrecorded > 0) {
      problems.push(`${cut.unrecorded} ${kind === "staged" ? "would-be dropped" : "newly denied"} packets could not be recorded (a flow set was full: observe.maxFlows), so the observation is incomplete`);
    }
  }
  if (!exact) {
    problems.push(`this update also changes the policy: what it enforces was never staged here (staged ${observed.policyHash.slice(0, 12)}, now ${policy.slice(0, 12)}), so what it would cut is not known; stage the final policy first`);
  }
  const digest = promotionDigest(olds.hostName, kind, policy, cut?.digest, exact);
  const acknowledged = (news.observe?.acknowledge ?? []).includes(digest);
  return { kind, exact, ...(cut ? { cut } : {}), problems, digest, acknowledged };
}

function age(cut: ObservedCut, readAt: string | undefined, nowMs: number): string {
  const t = parseIso(readAt);
  if (t === undefined) return "at an unknown time";
  const minutes = Math.max(0, Math.round((nowMs - t) / 60_000));
  return `by the refresh of ${readAt}, ${minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`} ago`;
}

/** The guard's message for a refused (or acknowledged) promotion. */
export function promotionMessage(host: string, p: Promotion, refused: boolean): string {
  const what = p.kind === "staged" ? "promoting the staged policy to enforce" : "promoting the staged change (observe.proposal) to the enforced policy";
  const head = refused
    ? `host ${host}: ${what} was refused before contacting the host`
    : `host ${host}: ${what}${p.acknowledged ? " (acknowledged)" : ""}`;
  return (
    `${head}: ${p.problems.join("; ")}. ` +
    (p.acknowledged ? "" : `To promote anyway, add "${p.digest}" to observe.acknowledge (this host's or the fleet's); any new observation changes the digest. \`nftsg observe\` suggests rules for the flows.`)
  );
}

/** The promotion as lines for the preview's diff (the Attachment's observe.promotion input). */
export function promotionLines(host: string, p: Promotion): string[] {
  const what = p.kind === "staged" ? "staged policy -> enforce" : "staged change -> enforced policy";
  const lines = [`${host}: ${what}${p.acknowledged ? " (acknowledged)" : ", refused by up unless acknowledged"}`];
  if (p.cut && p.cut.total > 0) lines.push(`would cut ${p.cut.total} observed flow${p.cut.total === 1 ? "" : "s"} since ${p.cut.since}:`, ...p.cut.flows, ...(p.cut.total > p.cut.flows.length ? [`... and ${p.cut.total - p.cut.flows.length} more`] : []));
  for (const problem of p.problems) if (!problem.includes("observed flow")) lines.push(problem);
  if (!p.acknowledged) lines.push(`acknowledge: "${p.digest}"`);
  return lines;
}
