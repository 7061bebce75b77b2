// A stack of the real Pulumi CLI whose program declares several Fleets, keyed
// by Fleet name: renaming a Fleet or moving a host between two Fleets of one
// stack is a change of this record. Same engine setup as stack.ts.
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import type { FleetArgs } from "../../sdk/inputs";
import { engineEnv, type EngineEnv } from "./engine";
import { requireDist } from "./dist";

type Sdk = typeof import("../../index");

export interface FleetsStack {
  stack: Stack;
  engine: EngineEnv;
  /** Replace the Fleets the next operation will declare. */
  setFleets(fleets: Record<string, FleetArgs>): void;
}

export async function fleetsStack(
  fleets: Record<string, FleetArgs>,
  opts: { project?: string; stackName?: string } = {},
): Promise<FleetsStack> {
  const engine = engineEnv(opts.project ?? "fleets");
  let current = fleets;
  const program = async () => {
    const sdk = requireDist<Sdk>("index.js");
    for (const [name, args] of Object.entries(current)) new sdk.Fleet(name, args);
    return {};
  };
  const pulumiCommand = await PulumiCommand.get({ root: engine.pulumiRoot, skipVersionCheck: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: opts.stackName ?? "test", projectName: opts.project ?? "nftsg-fleets", program },
    { envVars: engine.env, pulumiHome: engine.home, pulumiCommand },
  );
  return { stack, engine, setFleets: (f) => { current = f; } };
}
