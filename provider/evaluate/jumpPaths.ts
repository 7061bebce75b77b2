// The management path through a jump host that is itself a fleet host. nftsg
// reaches such a target only through its jump host, and the jump host's own
// lockout probe tests only provider -> jump host: a declaration whose
// rulesets close jump host -> target (the jump host's egress, or the target's
// ingress from the jump host's address) would be confirmed on the jump host
// and leave the target unmanageable. Both rulesets are in the declaration, so
// the path is evaluated here, before any host is touched (the verdict every
// Attachment carries), as a new TCP connection from the jump host to the
// target's connection.host at its connection.port: what the jump host dials.
import { type Family, type Interval, familyMax, formatAddress, parseAddress } from "../addressing/cidr";
import type { NormalisedFleet, NormalisedHost, ValidationIssue } from "../declaration/fleetModel";
import { isObj } from "../declaration/checks/context";
import { jumpEdges } from "../declaration/jumpHosts";
import { DEFAULT_SSH_PORT } from "../vocabulary/defaults";
import { type FleetIndex, indexFleet } from "./fleetIndex";
import { type FlowEnd, type FlowResult, evaluateFlow } from "./flow";
import { flowText } from "./format";

/** Flows shown in a message; the rest are counted. */
const MAX_FLOWS_SHOWN = 4;

const everywhere = (family: Family): Interval[] => [{ lo: 0n, hi: familyMax(family) }];

/**
 * Problems of the paths from each jump host that is a fleet host to each
 * host managed through it, at the target's `hosts[i].connection.proxy`.
 * `declaration` is the validated declaration `fleet` was normalised from (the
 * jump hosts and paths are in its connections, which normalising drops).
 */
export function jumpPathIssues(declaration: unknown, fleet: NormalisedFleet | FleetIndex): ValidationIssue[] {
  const hosts = isObj(declaration) && Array.isArray(declaration["hosts"]) ? (declaration["hosts"] as unknown[]) : [];
  const edges = jumpEdges(hosts);
  if (edges.length === 0) return [];
  const index = "rulesOf" in fleet ? fleet : indexFleet(fleet);
  const nameAt = (i: number) => {
    const h = hosts[i];
    return isObj(h) && typeof h["name"] === "string" ? h["name"] : undefined;
  };
  const out: ValidationIssue[] = [];
  for (const { target, jump } of edges) {
    const t = index.host(nameAt(target) ?? "");
    const j = index.host(nameAt(jump) ?? "");
    if (!t || !j || t === j) continue;
    const conn = (hosts[target] as Record<string, unknown>)["connection"] as Record<string, unknown>;
    const port = typeof conn["port"] === "number" ? conn["port"] : DEFAULT_SSH_PORT;
    const flows = pathFlows(index, j, t, String(conn["host"]), port);
    const closed = flows.filter((f) => f.coverage !== "allow");
    if (closed.length === 0) continue;
    out.push({ path: `hosts[${target}].connection.proxy`, message: message(index, j, jump, t, port, flows.length, closed) });
  }
  return out;
}

/**
 * The flows of the management path: from each address of the jump host to
 * the address the target is dialled at (its connection.host when that is an
 * IP address, else each of its addresses), of the same family. An end nftsg
 * does not know (no declared address of that family) is any address: then
 * the path is open only if the other side's rules do not depend on it.
 */
function pathFlows(index: FleetIndex, j: NormalisedHost, t: NormalisedHost, dialled: string, port: number): FlowResult[] {
  const literal = parseAddress(dialled);
  const known = (a: { family: Family; value: bigint }, h: NormalisedHost): FlowEnd => ({
    host: h, family: a.family, range: [{ lo: a.value, hi: a.value }], label: `${h.name} (${formatAddress(a.family, a.value)})`,
  });
  const unknown = (h: NormalisedHost, family: Family, why: string): FlowEnd => ({ host: h, family, range: everywhere(family), label: `${h.name} (any IPv${family} address: ${why})` });
  let targets: FlowEnd[];
  if (literal) targets = [known(literal, t)];
  else if (t.addresses.length > 0) targets = t.addresses.map((a) => known(a, t));
  else {
    const families = [...new Set(j.addresses.map((a) => a.family))];
    targets = (families.length > 0 ? families : ([4, 6] as Family[])).map((f) =>
      unknown(t, f, `connection.host ${dialled} is a name and the host declares no addresses`),
    );
  }
  const traffic = { protocol: "tcp" as const, port };
  return targets.flatMap((d) => {
    const own = j.addresses.filter((a) => a.family === d.family);
    const sources = own.length > 0 ? own.map((a) => known(a, j)) : [unknown(j, d.family, `it declares no IPv${d.family} address`)];
    return sources.map((s) => evaluateFlow(index, s, d, traffic));
  });
}

function message(index: FleetIndex, j: NormalisedHost, jumpIndex: number, t: NormalisedHost, port: number, total: number, closed: FlowResult[]): string {
  const shown = closed.slice(0, MAX_FLOWS_SHOWN);
  const anyWhere = (label: string) => label.includes("(any IPv");
  const fixes: string[] = [];
  if (closed.some((f) => f.egress && f.egress.coverage !== "allow")) {
    fixes.push(
      `allow tcp/${port} to ${t.name} in the egress of jump host "${j.name}" (an egress rule of one of its groups, ${j.groups.join(", ")}, ` +
        `to ${t.name}'s address or to a group it is in)`,
    );
    if (closed.some((f) => f.egress && f.egress.coverage !== "allow" && anyWhere(f.to))) {
      fixes.push(`set addresses on host "${t.name}" (the addresses its connection.host resolves to), so that they can be checked against that egress`);
    }
  }
  if (closed.some((f) => f.ingress && f.ingress.coverage !== "allow")) {
    const fs = index.fleet.failsafe;
    const rule = `an ingress rule for tcp/${port} from "${j.name}" (its address, or a group it is in) to one of ${t.name}'s groups${t.groups.length > 0 ? ` (${t.groups.join(", ")})` : ""}`;
    const own = j.addresses.map((a) => `${formatAddress(a.family, a.value)}/${a.family === 4 ? 32 : 128}`).join(", ") || "its address";
    const letIn = `let jump host "${j.name}" into ${t.name}'s tcp/${port}: `;
    fixes.push(
      !fs.ssh
        ? `${letIn}the SSH failsafe is off (failsafe.ssh is false), so add ${rule}, or turn the failsafe on`
        : t.sshPort !== port
          ? `${letIn}${t.name}'s SSH failsafe opens tcp/${t.sshPort} (failsafe.port), not tcp/${port}, the port the jump host connects to; add ${rule}`
          : fs.cidrs
            ? `${letIn}${t.name}'s SSH failsafe covers it unless failsafe.cidrs narrows it, and failsafe.cidrs does not hold ${j.name}'s address: ` +
              `add ${own} to failsafe.cidrs, or add ${rule}`
            : `${letIn}add ${rule}`,
    );
    if (closed.some((f) => f.ingress && f.ingress.coverage !== "allow" && anyWhere(f.from))) {
      fixes.push(`set addresses on jump host "${j.name}" (the addresses its connections come from), so that they can be checked against that ingress`);
    }
  }
  return [
    `host "${t.name}" is managed through jump host "${j.name}" (hosts[${jumpIndex}]), a host of this fleet, but the declared rulesets close that path: ` +
      `a new connection tcp/${port} from ${j.name} to ${t.name} is not accepted (${closed.length} of ${total} flows), and nftsg reaches ${t.name} only through ${j.name}: ` +
      `with these rulesets ${t.name} could no longer be managed. To fix it: ` +
      fixes.join("; "),
    ...shown.flatMap((f) => flowText(f).map((l) => `  ${l}`)),
    ...(closed.length > shown.length ? [`  ... and ${closed.length - shown.length} more flows`] : []),
  ].join("\n");
}
