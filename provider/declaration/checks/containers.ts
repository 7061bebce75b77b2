// The `containers` option: interface patterns nft can use, and options that
// contradict each other.
import { INTERFACE_PATTERN } from "../../vocabulary/containers";
import { type CheckContext, type Obj, isObj } from "./context";

export function checkContainers(ctx: CheckContext, decl: Obj): void {
  const containers = decl["containers"];
  if (!isObj(containers)) return;
  const interfaces = containers["interfaces"];
  if (!Array.isArray(interfaces)) return;
  interfaces.forEach((name, k) => {
    if (typeof name !== "string" || INTERFACE_PATTERN.test(name)) return;
    ctx.add(
      `containers.interfaces[${k}]`,
      `interface ${JSON.stringify(name)} is not a valid interface name or pattern; use 1-15 characters (letters, digits, _ . - @ :), optionally ending in "*" for a prefix (e.g. "docker0", "br-*")`,
    );
  });
  if (interfaces.length === 0 && containers["egress"] === true) {
    ctx.add(
      "containers.egress",
      "cannot restrict container egress without container interfaces: containers.interfaces is empty; list the container bridges (e.g. [\"docker0\", \"br-*\"]) or drop egress: true",
    );
  }
}
