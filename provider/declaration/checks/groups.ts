// Group names and duplicates. Runs before the rule and host checks, which
// resolve group references against what it records.
import { type CheckContext, isObj } from "./context";
import { GROUP_NAME_PATTERN } from "../../vocabulary/names";

export function checkGroupNames(ctx: CheckContext, groups: unknown[]): void {
  groups.forEach((g, i) => {
    if (!isObj(g) || typeof g["name"] !== "string") return;
    const name = g["name"];
    if (!GROUP_NAME_PATTERN.test(name)) {
      ctx.add(
        `securityGroups[${i}].name`,
        `group name ${JSON.stringify(name)} is invalid; use 1-41 characters: lower-case letters, digits and "-", starting with a letter`,
      );
    }
    const first = ctx.groupIndex.get(name);
    if (first !== undefined) {
      ctx.add(`securityGroups[${i}].name`, `duplicate security group name ${JSON.stringify(name)} (already declared at securityGroups[${first}])`);
    } else {
      ctx.groupIndex.set(name, i);
    }
  });
}
