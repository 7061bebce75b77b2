// Address lists (`addressLists`, docs/multistack.md): names and duplicates,
// and each list's CIDRs — valid, not a range that can never be a peer, at
// least one, no two overlapping (an overlap is a list that says one thing
// twice, usually a stale entry). Records what the rule check needs of each
// list: its families (icmp/icmpv6 rules) and whether it holds multicast
// (never a source: refused in ingress rules).
import { type Prefix, prefixToInterval } from "../../addressing/cidr";
import { GROUP_NAME_PATTERN } from "../../vocabulary/names";
import { specialRangeOf } from "./specialAddresses";
import { type CheckContext, checkDescription, isObj } from "./context";

export function checkAddressLists(ctx: CheckContext, lists: unknown[]): void {
  lists.forEach((l, i) => {
    if (!isObj(l)) return;
    const path = `addressLists[${i}]`;
    const name = l["name"];
    if (typeof name === "string") {
      if (!GROUP_NAME_PATTERN.test(name)) {
        ctx.add(`${path}.name`, `address list name ${JSON.stringify(name)} is invalid; use 1-41 characters: lower-case letters, digits and "-", starting with a letter`);
      }
      const first = ctx.listIndex.get(name);
      if (first !== undefined) ctx.add(`${path}.name`, `duplicate address list name ${JSON.stringify(name)} (already declared at addressLists[${first}])`);
      else ctx.listIndex.set(name, i);
    }
    checkDescription(ctx, l["description"], `${path}.description`);
    const cidrs = l["cidrs"];
    if (!Array.isArray(cidrs)) return; // pass 1 reports the type
    if (cidrs.length === 0) {
      ctx.add(`${path}.cidrs`, "is empty: an address list needs at least one CIDR (rules naming it would match nothing through it); add its CIDRs, or remove the list and the rules' references to it");
    }
    const valid: { prefix: Prefix; index: number; text: string }[] = [];
    const info = { families: new Set<4 | 6>(), multicast: undefined as string | undefined };
    cidrs.forEach((c, k) => {
      if (typeof c !== "string") return;
      const p = ctx.parsePrefix(c);
      if (!p.ok) return ctx.add(`${path}.cidrs[${k}]`, p.message);
      const special = specialRangeOf(p.prefix);
      if (special && special.kind !== "multicast") return ctx.add(`${path}.cidrs[${k}]`, `CIDR ${c} is ${special.kind} (${special.range}): ${special.why}; remove it`);
      if (special) info.multicast ??= `${c} (cidrs[${k}])`;
      info.families.add(p.prefix.family);
      valid.push({ prefix: p.prefix, index: k, text: c });
    });
    checkOverlaps(ctx, path, valid);
    if (typeof name === "string" && ctx.listIndex.get(name) === i) {
      ctx.listInfo.set(name, { families: info.families, ...(info.multicast ? { multicast: info.multicast } : {}) });
    }
  });
}

/**
 * Two prefixes either nest or are disjoint, so an overlap is one entry
 * inside another (or the same one twice): reported at the narrower (or
 * later) entry, naming the one that already holds it.
 */
function checkOverlaps(ctx: CheckContext, path: string, entries: { prefix: Prefix; index: number; text: string }[]): void {
  const sorted = entries
    .map((e) => ({ ...e, iv: prefixToInterval(e.prefix) }))
    .sort((a, b) => a.prefix.family - b.prefix.family || (a.iv.lo < b.iv.lo ? -1 : a.iv.lo > b.iv.lo ? 1 : 0) || a.prefix.length - b.prefix.length || a.index - b.index);
  let holder: (typeof sorted)[number] | undefined;
  for (const e of sorted) {
    if (holder && holder.prefix.family === e.prefix.family && e.iv.lo <= holder.iv.hi) {
      const same = holder.prefix.length === e.prefix.length;
      ctx.add(
        `${path}.cidrs[${e.index}]`,
        same
          ? `${e.text} is listed twice (also cidrs[${holder.index}]); remove one`
          : `${e.text} overlaps ${holder.text} (cidrs[${holder.index}]), which already holds it; remove the narrower entry (or the wider one, if it is what is stale)`,
      );
      continue;
    }
    holder = e;
  }
}
