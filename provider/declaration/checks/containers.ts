// The `containers` option: interface patterns nft can use, and options that
// contradict each other.
import { INTERFACE_PATTERN, interfaceBreadthProblem } from "../../vocabulary/containers";
import { type CheckContext, type Obj, isObj } from "./context";

export function checkContainers(ctx: CheckContext, decl: Obj): void {
  const containers = decl["containers"];
  if (!isObj(containers)) return;
  const interfaces = containers["interfaces"];
  if (!Array.isArray(interfaces)) return;
  interfaces.forEach((name, k) => {
    if (typeof name !== "string") return;
    if (INTERFACE_PATTERN.test(name)) {
      // Everything arriving on a local interface is accepted like loopback,
      // before every group rule: a pattern that can match an uplink opens the host.
      const broad = interfaceBreadthProblem(name);
      if (broad) {
        ctx.add(
          `containers.interfaces[${k}]`,
          `${broad}; everything arriving on a local interface is accepted like loopback, before every security group rule; set containers.interfaces to the container and VM bridges only (e.g. "docker0", "br-*", "virbr*")`,
        );
      }
      return;
    }
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
