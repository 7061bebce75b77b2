// Policy tests in the program (docs/evaluate.md). They run in the FleetModel's check;
// when the declaration holds values not known at preview (the address of a VM
// created in the same program), the check cannot run them, so say so here:
// they run at `up`, where the check sees the real values before any
// Attachment (all depend on the model) touches a host.
import * as pulumi from "@pulumi/pulumi";
import type { PolicyTestArgs } from "./inputs";

export function announceUnknownPolicyTests(model: pulumi.Resource, declaration: pulumi.Output<unknown>, tests: PolicyTestArgs[] | undefined): void {
  if (!tests?.length || !pulumi.runtime.isDryRun()) return;
  // Output.isKnown is not in the typings, but every Output has it.
  const known = (declaration as unknown as { isKnown?: Promise<boolean> }).isKnown;
  void known?.then((k) => {
    if (k) return;
    const n = tests.length;
    pulumi.log.warn(
      `${n} policy test${n === 1 ? " is" : "s are"} unknown at preview: the fleet declaration holds values not known yet; ` +
        `${n === 1 ? "it runs" : "they run"} at up, before any host is touched`,
      model,
    );
  });
}
