// Remote groups (`remoteGroups`, docs/multistack.md) and what a fleet
// publishes (`publish`). Names first (before the rule check resolves
// references): unique among the fleet's groups and remote groups. Then each
// remote group's published value, read with every problem at its path
// (missing, malformed, a newer format, the group absent or empty — the last
// three only unless allowEmpty), and a remote member's address that is also
// a host of this fleet (one address, one host).
import { type Address, formatAddress } from "../../addressing/cidr";
import { GROUP_NAME_PATTERN } from "../../vocabulary/names";
import { readRemoteGroup } from "../remoteGroups";
import { type CheckContext, checkDescription, isObj, unknownGroupMessage } from "./context";
import { usableAddresses } from "./hosts";

export function checkRemoteGroupNames(ctx: CheckContext, remotes: unknown[]): void {
  remotes.forEach((r, i) => {
    if (!isObj(r)) return;
    const path = `remoteGroups[${i}]`;
    const name = r["name"];
    if (typeof name === "string") {
      if (!GROUP_NAME_PATTERN.test(name)) {
        ctx.add(`${path}.name`, `group name ${JSON.stringify(name)} is invalid; use 1-41 characters: lower-case letters, digits and "-", starting with a letter`);
      }
      const local = ctx.groupIndex.get(name);
      const first = ctx.remoteIndex.get(name);
      if (local !== undefined) {
        ctx.add(
          `${path}.name`,
          `${JSON.stringify(name)} is also a security group of this fleet (securityGroups[${local}]); rules name both the same way, so give the remote group another name ` +
            `(e.g. ${JSON.stringify(`remote-${name}`.slice(0, 41))}) and set group: ${JSON.stringify(typeof r["group"] === "string" ? r["group"] : name)}`,
        );
      } else if (first !== undefined) {
        ctx.add(`${path}.name`, `duplicate remote group name ${JSON.stringify(name)} (already declared at remoteGroups[${first}])`);
      } else {
        ctx.remoteIndex.set(name, i);
      }
    }
    const group = r["group"];
    if (typeof group === "string" && !GROUP_NAME_PATTERN.test(group)) {
      ctx.add(`${path}.group`, `${JSON.stringify(group)} cannot be a published group's name (group names: 1-41 lower-case letters, digits and "-", starting with a letter)`);
    }
    checkDescription(ctx, r["description"], `${path}.description`);
  });
}

/** Each remote group's published value, and its members' addresses against this fleet's hosts. */
export function checkRemoteGroupSources(ctx: CheckContext, remotes: unknown[], hosts: unknown[]): void {
  const local = new Map<string, { name: string; index: number }>();
  hosts.forEach((h, i) => {
    if (!isObj(h)) return;
    const name = typeof h["name"] === "string" ? h["name"] : `hosts[${i}]`;
    for (const a of usableAddresses(h)) if (!local.has(addressKey(a))) local.set(addressKey(a), { name, index: i });
  });
  remotes.forEach((r, i) => {
    if (!isObj(r) || typeof r["name"] !== "string") return;
    const path = `remoteGroups[${i}]`;
    const groupField = typeof r["group"] === "string" ? "group" : "name";
    const group = typeof r["group"] === "string" ? r["group"] : r["name"];
    const read = readRemoteGroup(r["source"], group, { allowEmpty: r["allowEmpty"] === true, groupField });
    if (!read.ok) {
      for (const p of read.problems) ctx.add(p.path ? `${path}.${p.path}` : path, p.message);
      return;
    }
    for (const m of read.read.members) {
      for (const a of m.addresses) {
        const host = local.get(addressKey(a));
        if (!host) continue;
        ctx.add(
          `${path}.source`,
          `address ${formatAddress(a.family, a.value)} of remote member ${JSON.stringify(m.name)} (group ${group}) is also host ${JSON.stringify(host.name)}'s (hosts[${host.index}]) here; ` +
            "each address may belong to one host only, or rules that name the group would match the wrong host: remove the host from one of the two stacks (moving a host: take it out of the publishing stack and run `pulumi up` there first)",
        );
      }
    }
  });
}

const addressKey = (a: Address) => `${a.family}/${a.value}`;

/** `publish.groups`: this fleet's own groups only; their members need addresses (checked with the hosts). */
export function checkPublish(ctx: CheckContext, publish: unknown): void {
  if (!isObj(publish) || !Array.isArray(publish["groups"])) return;
  (publish["groups"] as unknown[]).forEach((g, k) => {
    if (typeof g !== "string") return;
    const path = `publish.groups[${k}]`;
    if (ctx.groupIndex.has(g)) {
      if (!ctx.publishedGroupUse.has(g)) ctx.publishedGroupUse.set(g, path);
      return;
    }
    const remote = ctx.remoteIndex.get(g);
    ctx.add(
      path,
      remote !== undefined
        ? `${JSON.stringify(g)} is a remote group (remoteGroups[${remote}]): its members are published by the stack that owns them; publish it from there`
        : unknownGroupMessage(ctx, g),
    );
  });
}
