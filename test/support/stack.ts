// Stacks of the real Pulumi CLI on a local file backend, driven through the
// Automation API: every end-to-end suite, the demos and the benchmarks make
// their stacks here. programStack runs any program; fleetStack and
// fleetsStack run Fleet programs from dist/ whose declarations a test
// replaces between operations.
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, PulumiCommand, type PulumiFn, type Stack } from "@pulumi/pulumi/automation";
import type { FleetArgs } from "../../sdk/inputs";
import { engineEnv, repoRoot, type EngineEnv } from "./engine";
import { requireDist } from "./dist";
import { answerFromEvents } from "./eventAnswers";

type Sdk = typeof import("../../index");
type SmokeModule = typeof import("./smokeResource");

export interface StackOptions {
  project?: string;
  stackName?: string;
  /** Reuse an engine environment (same backend): a second stack beside the first. */
  engine?: EngineEnv;
  /** Use this project directory (its Pulumi.yaml) instead of a temporary one. */
  workDir?: string;
}

export interface ProgramStack {
  stack: Stack;
  engine: EngineEnv;
}

const pulumiCommands = new Map<string, Promise<PulumiCommand>>();

/** One PulumiCommand per CLI install and test process: getting one runs `pulumi version`. */
function pulumiCommandAt(root: string): Promise<PulumiCommand> {
  let command = pulumiCommands.get(root);
  if (!command) pulumiCommands.set(root, (command = PulumiCommand.get({ root, skipVersionCheck: true })));
  return command;
}

/** A stack running `program`, with an engine environment of its own unless `opts.engine` is given. */
export async function programStack(program: PulumiFn, opts: StackOptions = {}): Promise<ProgramStack> {
  const project = opts.project ?? "nftsg-test";
  const engine = opts.engine ?? engineEnv(project);
  const pulumiCommand = await pulumiCommandAt(engine.pulumiRoot);
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: opts.stackName ?? "test", projectName: project, program },
    { envVars: engine.env, pulumiHome: engine.home, pulumiCommand, workDir: opts.workDir },
  );
  return { stack: answerFromEvents(stack), engine };
}

export interface FleetStack extends ProgramStack {
  /** Replace the declaration the next operation will use. */
  setArgs(args: FleetArgs): void;
}

export interface FleetStackOptions extends StackOptions {
  fleetName?: string;
}

/** A stack whose program declares one Fleet (default name "lab") and exports its Attachments' hashes. */
export async function fleetStack(args: FleetArgs, opts: FleetStackOptions = {}): Promise<FleetStack> {
  let current = args;
  const fleetName = opts.fleetName ?? "lab";
  const program = async () => {
    const sdk = requireDist<Sdk>("index.js");
    const fleet = new sdk.Fleet(fleetName, current);
    const hashes: Record<string, unknown> = {};
    for (const [name, a] of Object.entries(fleet.attachments)) hashes[name] = a.hash;
    return { hashes };
  };
  const s = await programStack(program, opts);
  return { ...s, setArgs: (a) => { current = a; } };
}

/**
 * The Fleets, or a function that declares them inside the program run (for
 * what must be made there, such as a StackReference); it gets the
 * @pulumi/pulumi the product itself loads.
 */
export type FleetsDeclaration = Record<string, FleetArgs> | ((sdk: typeof pulumi) => Record<string, FleetArgs>);

export interface FleetsStack extends ProgramStack {
  /** Replace the Fleets the next operation will declare. */
  setFleets(fleets: FleetsDeclaration): void;
}

/**
 * A stack whose program declares several Fleets, keyed by Fleet name:
 * renaming a Fleet or moving a host between two Fleets of one stack is a
 * change of this record. A Fleet that publishes groups exports its value as
 * the stack output `published` (docs/multistack.md).
 */
export async function fleetsStack(fleets: FleetsDeclaration, opts: StackOptions = {}): Promise<FleetsStack> {
  let current = fleets;
  const program = async () => {
    const sdk = requireDist<Sdk>("index.js");
    const pulumiSdk = createRequire(path.join(repoRoot, "package.json"))("@pulumi/pulumi") as typeof pulumi;
    const declared = typeof current === "function" ? current(pulumiSdk) : current;
    let published: unknown;
    for (const [name, args] of Object.entries(declared)) published ??= new sdk.Fleet(name, args).published;
    return published === undefined ? {} : { published };
  };
  const s = await programStack(program, { ...opts, project: opts.project ?? "nftsg-fleets" });
  return { ...s, setFleets: (f) => { current = f; } };
}

/**
 * Inside a program: `value` as the output of a resource created in the same
 * program (a Smoke resource "vm"), so unknown at preview, as the address of a
 * VM created beside the Fleet would be.
 */
export function unknownAtPreview(value: string): pulumi.Output<string> {
  const { Smoke } = requireDist<SmokeModule>("test/support/smokeResource.js");
  return new Smoke("vm", { value }).computed;
}
