// Policy tests (`tests`, docs/evaluate.md): what can be checked without evaluating them — each
// end names a declared host, "sg:<declared group>" or an address/CIDR; the
// traffic fields fit the protocol. Whether a test passes is decided later, on
// the normalised fleet (provider/evaluate/policyTests.ts).
import { parseAddress } from "../../addressing/cidr";
import { didYouMean } from "../didYouMean";
import { trafficProblems } from "../../vocabulary/traffic";
import { type CheckContext, checkDescription, isObj, isPeerGroupName, unknownGroupMessage, unknownListMessage } from "./context";
import { ICMP_FAMILY } from "../../vocabulary/protocols";

const GROUP_PREFIX = "sg:";
const LIST_PREFIX = "list:";

type End = "host" | "group" | "outside";

function checkEnd(ctx: CheckContext, hostNames: readonly string[], v: unknown, path: string): End | undefined {
  if (typeof v !== "string") return undefined; // pass 1 reports the type
  if (v.startsWith(GROUP_PREFIX)) {
    const name = v.slice(GROUP_PREFIX.length);
    if (!isPeerGroupName(ctx, name)) ctx.add(path, unknownGroupMessage(ctx, name));
    // A remote group's members are outside this fleet: their own rules are the other stack's.
    return ctx.remoteIndex.has(name) ? "outside" : "group";
  }
  if (v.startsWith(LIST_PREFIX)) {
    const name = v.slice(LIST_PREFIX.length);
    if (!ctx.listIndex.has(name)) ctx.add(path, unknownListMessage(ctx, name));
    return "outside";
  }
  if (hostNames.includes(v)) return "host";
  if (parseAddress(v) || ctx.parsePrefix(v).ok) return "outside";
  const hint = didYouMean(v, hostNames);
  ctx.add(
    path,
    `${JSON.stringify(v)} is neither a declared host, nor "sg:<group>", nor "list:<address list>", nor an address or CIDR${hint ? `; did you mean ${JSON.stringify(hint)}?` : ""}`,
  );
  return undefined;
}

export function checkPolicyTests(ctx: CheckContext, hosts: unknown[], tests: unknown[]): void {
  const hostNames = hosts.flatMap((h) => (isObj(h) && typeof h["name"] === "string" ? [h["name"]] : []));
  tests.forEach((t, i) => {
    const path = `tests[${i}]`;
    if (!isObj(t)) return;
    const from = checkEnd(ctx, hostNames, t["from"], `${path}.from`);
    const to = checkEnd(ctx, hostNames, t["to"], `${path}.to`);
    if (from === "outside" && to === "outside") {
      ctx.add(`${path}.to`, `${String(t["from"])} and ${String(t["to"])} are both outside the fleet; name a host or "sg:<group>" on one side`);
    }
    if (typeof t["protocol"] === "string") {
      for (const [field, message] of trafficProblems(t)) if (field !== "protocol") ctx.add(`${path}.${field}`, message);
      const family = ICMP_FAMILY[t["protocol"] as "icmp"];
      for (const [key, v] of [["from", t["from"]], ["to", t["to"]]] as const) {
        const a = typeof v === "string" ? (parseAddress(v) ?? (ctx.parsePrefix(v).ok ? (ctx.parsePrefix(v) as { prefix: { family: 4 | 6 } }).prefix : undefined)) : undefined;
        if (family !== undefined && a && a.family !== family) ctx.add(`${path}.${key}`, `${t["protocol"]} is IPv${family} only, but ${v} is IPv${a.family}`);
      }
    }
    checkDescription(ctx, t["description"], `${path}.description`);
  });
}
