// What the PRODUCT evaluator (provider/evaluate) predicts for each probe of a
// connectivity-matrix plan, so tests can hold it against real packets and
// against the independent reference evaluator (test/support/reference.ts).
// A probe's source may use an address its host does not declare (a host with
// only IPv4 in `addresses` still sends IPv6): the evaluator's flow core takes
// the packet's real addresses, with the host whose firewall it crosses.
import { parseAddress } from "../../provider/addressing/cidr";
import type { FleetDeclaration } from "../../provider/declaration/declaration";
import { evaluateFlow, fleetIndexOf, type FleetIndex, type FlowEnd, type FlowResult } from "../../provider/evaluate";
import { coverageOfCode, pairCode, pairTable } from "../../provider/evaluate/acceptSets";
import { RUNNER_NAME, type Plan, type Probe } from "./matrix";
import { type Traffic } from "../../provider/vocabulary/traffic";

function end(index: FleetIndex, name: string, address: string): FlowEnd {
  const a = parseAddress(address);
  if (!a) throw new Error(`not an address: ${address}`);
  const host = name === RUNNER_NAME ? undefined : index.host(name);
  return { ...(host ? { host } : {}), family: a.family, range: [{ lo: a.value, hi: a.value }], label: `${name} (${address})` };
}

function traffic(p: Probe): Traffic {
  const protocol = p.service.proto === "icmp" ? (p.family === 4 ? "icmp" : "icmpv6") : p.service.proto;
  return { protocol, ...(p.service.port !== undefined ? { port: p.service.port } : {}) };
}

/**
 * The detailed evaluation of each probe. It must agree with the fast path
 * (accept sets, pair table) that `evaluate` decides verdicts with; a
 * disagreement throws.
 */
export function productMatrix(decl: FleetDeclaration, plan: Plan): FlowResult[] {
  const index = fleetIndexOf(decl);
  return plan.probes.map((p) => {
    const t = traffic(p);
    const [from, to] = [end(index, p.from, p.fromAddress), end(index, p.to, p.toAddress)];
    const detailed = evaluateFlow(index, from, to, t);
    const quick = coverageOfCode(pairCode(pairTable(index, [from], [to], t), [from], [to], 0, 0));
    if (quick !== detailed.coverage) throw new Error(`fast path ${quick} vs detailed ${detailed.coverage} for ${JSON.stringify(p)}`);
    return detailed;
  });
}
