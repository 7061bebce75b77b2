// A stack of the real Pulumi CLI running a Fleet program from dist/, on a
// local file backend. Used by the end-to-end tests, the demo and benchmarks.
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import type { FleetArgs } from "../../sdk/inputs";
import { engineEnv, type EngineEnv } from "./engine";
import { requireDist } from "./dist";

type Sdk = typeof import("../../index");

export interface FleetStack {
  stack: Stack;
  engine: EngineEnv;
  /** Replace the declaration the next operation will use. */
  setArgs(args: FleetArgs): void;
}

export interface FleetStackOptions {
  project?: string;
  stackName?: string;
  fleetName?: string;
  /** Reuse an engine environment (same backend): a second stack beside the first. */
  engine?: EngineEnv;
  /** Use this project directory (its Pulumi.yaml) instead of a temporary one. */
  workDir?: string;
}

export async function fleetStack(args: FleetArgs, opts: FleetStackOptions = {}): Promise<FleetStack> {
  const engine = opts.engine ?? engineEnv(opts.project ?? "fleet");
  let current = args;
  const fleetName = opts.fleetName ?? "lab";
  const program = async () => {
    const sdk = requireDist<Sdk>("index.js");
    const fleet = new sdk.Fleet(fleetName, current);
    const hashes: Record<string, unknown> = {};
    for (const [name, a] of Object.entries(fleet.attachments)) hashes[name] = a.hash;
    return { hashes };
  };
  const pulumiCommand = await PulumiCommand.get({ root: engine.pulumiRoot, skipVersionCheck: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: opts.stackName ?? "test", projectName: opts.project ?? "nftsg-test", program },
    { envVars: engine.env, pulumiHome: engine.home, pulumiCommand, workDir: opts.workDir },
  );
  return { stack, engine, setArgs: (a) => { current = a; } };
}
