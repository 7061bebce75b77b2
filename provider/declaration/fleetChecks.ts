// Pass 2 of validation: what a schema cannot say — CIDRs and port specs,
// names, duplicates, references to undeclared groups, protocol/field
// combinations, address families, members of peer groups without a usable
// address. Written against `unknown`, so it still runs (and reports) where
// pass 1 found problems elsewhere in the declaration. Each concern is one
// named check in checks/; the order below matters only where a later check
// uses what an earlier one recorded (group names, peer group use).
import { type PrefixParse, parsePrefix as parsePrefixText } from "../addressing/cidr";
import type { ValidationIssue } from "./fleetModel";
import { arrayAt, isObj, newCheckContext } from "./checks/context";
import { checkFailsafe, checkTable } from "./checks/options";
import { checkContainers } from "./checks/containers";
import { checkGroupNames } from "./checks/groups";
import { checkRules } from "./checks/rules";
import { checkDuplicateAddresses, checkHosts, checkPeerMemberAddresses } from "./checks/hosts";
import { checkPolicyTests } from "./checks/policyTests";
import { checkObserve, proposalIssuePath, proposedDeclaration } from "./checks/observe";
import { checkAddressLists } from "./checks/addressLists";
import { checkPublish, checkRemoteGroupNames, checkRemoteGroupSources } from "./checks/remoteGroups";

export { isObj } from "./checks/context";

export function semanticIssues(decl: unknown, parsePrefix: (text: string) => PrefixParse = parsePrefixText): ValidationIssue[] {
  const ctx = newCheckContext(parsePrefix);
  if (!isObj(decl)) {
    ctx.add("", "the fleet declaration must be an object with securityGroups and hosts");
    return ctx.issues;
  }
  const groups = arrayAt(decl, "securityGroups");
  const hosts = arrayAt(decl, "hosts");
  checkTable(ctx, decl);
  checkFailsafe(ctx, decl);
  checkContainers(ctx, decl);
  const remotes = arrayAt(decl, "remoteGroups");
  checkGroupNames(ctx, groups);
  checkRemoteGroupNames(ctx, remotes);
  checkAddressLists(ctx, arrayAt(decl, "addressLists"));
  checkRules(ctx, groups);
  checkHosts(ctx, hosts);
  checkPublish(ctx, decl["publish"]);
  checkRemoteGroupSources(ctx, remotes, hosts);
  checkPeerMemberAddresses(ctx, hosts);
  checkDuplicateAddresses(ctx, hosts);
  checkPolicyTests(ctx, hosts, arrayAt(decl, "tests"));
  checkObserve(ctx, decl, hosts);
  // A staged change is a fleet of its own (its groups, the hosts' proposed
  // memberships): the same checks, its problems at their place in observe.proposal.
  const proposed = proposedDeclaration(decl);
  if (proposed) {
    const taken = new Set(ctx.issues.map((i) => i.path));
    for (const issue of semanticIssues(proposed.decl, parsePrefix)) {
      const at = proposalIssuePath(issue.path, proposed.listedAt);
      if (at === undefined || (at.prefix !== "" && taken.has(at.path))) continue;
      ctx.add(at.path, `${at.prefix}${issue.message}`);
    }
  }
  return ctx.issues;
}
