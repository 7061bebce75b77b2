// Observe (docs/observe.md): acknowledgements, and the staged change
// (`observe.proposal`) as a declaration of its own. The proposal's groups,
// rules and memberships are checked by the same checks as the declaration
// (fleetChecks.ts runs them on the proposed fleet); here: what only a
// proposal can get wrong.
import { type CheckContext, type Obj, isObj } from "./context";
import { didYouMean } from "../didYouMean";
import { ACKNOWLEDGE_PATTERN } from "../../vocabulary/observe";

function checkAcknowledge(ctx: CheckContext, v: unknown, path: string): void {
  if (!Array.isArray(v)) return;
  v.forEach((a, i) => {
    if (typeof a === "string" && !ACKNOWLEDGE_PATTERN.test(a)) {
      ctx.add(`${path}[${i}]`, `${JSON.stringify(a)} is not an acknowledgement: use the 12-hex-digit digest that a refused promotion (or \`nftsg observe\`) names for the host's observed drops`);
    }
  });
}

export function checkObserve(ctx: CheckContext, decl: Obj, hosts: unknown[]): void {
  const observe = decl["observe"];
  if (isObj(observe)) checkAcknowledge(ctx, observe["acknowledge"], "observe.acknowledge");
  hosts.forEach((h, i) => {
    if (isObj(h) && isObj(h["observe"])) checkAcknowledge(ctx, h["observe"]["acknowledge"], `hosts[${i}].observe.acknowledge`);
  });
  const proposal = isObj(observe) ? observe["proposal"] : undefined;
  if (!isObj(proposal)) return;
  const names = hosts.map((h) => (isObj(h) && typeof h["name"] === "string" ? h["name"] : undefined));
  const listed = Array.isArray(proposal["hosts"]) ? (proposal["hosts"] as unknown[]) : [];
  const seen = new Map<string, number>();
  listed.forEach((p, j) => {
    if (!isObj(p) || typeof p["name"] !== "string") return;
    const name = p["name"];
    if (!names.includes(name)) {
      const hint = didYouMean(name, names.filter((n): n is string => n !== undefined));
      ctx.add(`observe.proposal.hosts[${j}].name`, `unknown host ${JSON.stringify(name)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ""}: a staged change changes the groups of declared hosts only`);
    }
    const first = seen.get(name);
    if (first !== undefined) ctx.add(`observe.proposal.hosts[${j}].name`, `host ${JSON.stringify(name)} is listed twice (already at observe.proposal.hosts[${first}])`);
    else seen.set(name, j);
  });
}

/**
 * The proposed fleet as a declaration: the proposal's groups, each host with
 * its proposed groups (its own when the proposal does not list it), every
 * other field the fleet's own; and where each host's groups come from, to
 * put the proposal's problems at the right path.
 */
export function proposedDeclaration(decl: Obj): { decl: Obj; listedAt: Map<number, number> } | undefined {
  const observe = decl["observe"];
  const proposal = isObj(observe) ? observe["proposal"] : undefined;
  if (!isObj(proposal)) return undefined;
  const listed = Array.isArray(proposal["hosts"]) ? (proposal["hosts"] as unknown[]) : [];
  const byName = new Map<string, number>();
  listed.forEach((p, j) => {
    if (isObj(p) && typeof p["name"] === "string" && !byName.has(p["name"])) byName.set(p["name"], j);
  });
  const listedAt = new Map<number, number>();
  const hosts = (Array.isArray(decl["hosts"]) ? (decl["hosts"] as unknown[]) : []).map((h, i) => {
    if (!isObj(h) || typeof h["name"] !== "string") return h;
    const j = byName.get(h["name"]);
    if (j === undefined) return h;
    listedAt.set(i, j);
    return { ...h, securityGroups: (listed[j] as Obj)["securityGroups"] };
  });
  const { observe: _observe, tests: _tests, ...rest } = decl;
  return { decl: { ...rest, securityGroups: proposal["securityGroups"], hosts }, listedAt };
}

/**
 * A problem of the proposed fleet, at its place in the declaration, or
 * undefined when the declaration's own check reports it already (a host's
 * connection or addresses).
 */
export function proposalIssuePath(path: string, listedAt: Map<number, number>): { path: string; prefix: string } | undefined {
  if (path === "") return { path: "observe.proposal", prefix: "" };
  if (path.startsWith("securityGroups")) return { path: `observe.proposal.${path}`, prefix: "" };
  const m = /^hosts\[(\d+)\]\.securityGroups(.*)$/.exec(path);
  if (m) {
    const j = listedAt.get(Number(m[1]));
    if (j !== undefined) return { path: `observe.proposal.hosts[${j}].securityGroups${m[2]}`, prefix: "" };
    return { path, prefix: "under observe.proposal (this host keeps these groups there: list it in observe.proposal.hosts to give it others): " };
  }
  // A member of a proposed peer group without a usable (or with a shared) address:
  // the caller keeps it only where the declaration itself has no problem at that path.
  if (/^hosts\[\d+\]\.(addresses|connection\.host)$/.test(path)) return { path, prefix: "under observe.proposal: " };
  return undefined;
}
