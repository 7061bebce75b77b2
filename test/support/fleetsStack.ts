// A stack of the real Pulumi CLI whose program declares several Fleets, keyed
// by Fleet name: renaming a Fleet or moving a host between two Fleets of one
// stack is a change of this record. Same engine setup as stack.ts.
import { createRequire } from "node:module";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import type { FleetArgs } from "../../sdk/inputs";
import { engineEnv, repoRoot, type EngineEnv } from "./engine";
import { requireDist } from "./dist";

type Sdk = typeof import("../../index");
type PulumiSdk = typeof import("@pulumi/pulumi");

/**
 * The Fleets, or a function that declares them inside the program run (for
 * what must be made there, such as a StackReference); it gets the
 * @pulumi/pulumi the product itself loads.
 */
export type FleetsDeclaration = Record<string, FleetArgs> | ((pulumi: PulumiSdk) => Record<string, FleetArgs>);

export interface FleetsStack {
  stack: Stack;
  engine: EngineEnv;
  /** Replace the Fleets the next operation will declare. */
  setFleets(fleets: FleetsDeclaration): void;
}

export async function fleetsStack(
  fleets: FleetsDeclaration,
  opts: { project?: string; stackName?: string; engine?: EngineEnv } = {},
): Promise<FleetsStack> {
  // Another stack in the same backend when an engine is given (StackReferences between them).
  const engine = opts.engine ?? engineEnv(opts.project ?? "fleets");
  let current = fleets;
  const program = async () => {
    const sdk = requireDist<Sdk>("index.js");
    const pulumi = createRequire(path.join(repoRoot, "package.json"))("@pulumi/pulumi") as PulumiSdk;
    const declared = typeof current === "function" ? current(pulumi) : current;
    // A Fleet that publishes groups exports its value as the stack output `published`.
    let published: unknown;
    for (const [name, args] of Object.entries(declared)) published ??= new sdk.Fleet(name, args).published;
    return published === undefined ? {} : { published };
  };
  const pulumiCommand = await PulumiCommand.get({ root: engine.pulumiRoot, skipVersionCheck: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: opts.stackName ?? "test", projectName: opts.project ?? "nftsg-fleets", program },
    { envVars: engine.env, pulumiHome: engine.home, pulumiCommand },
  );
  return { stack, engine, setFleets: (f) => { current = f; } };
}
