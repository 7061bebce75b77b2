// One host's table has one Attachment in a stack. The provider's check
// refuses an Attachment whose host and table another one of the same run
// already declared (provider/handlers/runRegistry.ts), but the engine checks
// and creates each resource as the program registers it: which of two
// declarations is checked second depends on timing, and the first one may
// already be applying its ruleset to the host (a refused `up --skip-preview`
// changed the host). So at `pulumi up` an Attachment's verdict (the input its
// check refuses when invalid: provider/handlers/verdict.ts) waits until the
// locations (address, port, table) of every Fleet declared with it are known,
// and names the duplicate for every Attachment of a shared location: each
// one's check refuses it, before any host is contacted. (An Attachment whose
// registration failed instead would be deleted by the engine as no longer
// declared.) Fleets declared in one synchronous stretch of the program form
// a round; a later round is checked against the earlier ones (its duplicates
// are refused, the earlier declarations stand). A preview touches no host:
// there the provider's check reports the duplicate.
import * as pulumi from "@pulumi/pulumi";
import { alsoDeclaredProblem, locationKey } from "../provider/handlers/runRegistry";

/** One declared Attachment's location. */
export interface DeclaredLocation {
  address: string;
  port: number;
  table: string;
  /** "Fleet web, host web-1". */
  label: string;
}

const keyOf = (l: DeclaredLocation) => locationKey(l.address, l.port, l.table);

/** Every declared location that another declaration shares (by label), with the problem its Attachment's check reports. */
export function duplicatedLocations(earlier: ReadonlyMap<string, DeclaredLocation>, round: readonly DeclaredLocation[]): Map<string, string> {
  const byKey = new Map<string, DeclaredLocation[]>();
  for (const l of round) byKey.set(keyOf(l), [...(byKey.get(keyOf(l)) ?? []), l]);
  const refused = new Map<string, string>();
  for (const [key, here] of byKey) {
    const before = earlier.get(key);
    if (here.length === 1 && !before) continue;
    for (const l of here) {
      const twins = [...(before ? [before] : []), ...here.filter((o) => o !== l)].map((o) => o.label);
      refused.set(l.label, alsoDeclaredProblem(l.address, l.port, l.table, twins));
    }
  }
  return refused;
}

interface Round {
  locations: Promise<DeclaredLocation[]>[];
  refused: Promise<Map<string, string>>;
}

interface RunState {
  round?: Round;
  /** Locations of earlier rounds that were not refused. */
  claimed: Map<string, DeclaredLocation>;
}

// Per program run: an Automation API process runs inline programs again and again.
const runs = new WeakMap<object, RunState>();
const outsideARun = {};

function stateOfThisRun(): RunState {
  const run = pulumi.runtime.getStackResource() ?? outsideARun;
  let state = runs.get(run);
  if (!state) runs.set(run, (state = { claimed: new Map() }));
  return state;
}

function newRound(state: RunState): Round {
  const round: Round = {
    locations: [],
    refused: new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      state.round = undefined; // Fleets declared from now on are the next round
      const declared = (await Promise.all(round.locations)).flat();
      const refused = duplicatedLocations(state.claimed, declared);
      for (const l of declared) if (!refused.has(l.label) && !state.claimed.has(keyOf(l))) state.claimed.set(keyOf(l), l);
      return refused;
    }),
  };
  state.round = round;
  return round;
}

export interface HostLocation {
  name: string;
  address: pulumi.Output<string>;
  port: pulumi.Output<number>;
}

/**
 * Declares a Fleet's locations; returns, per host, a promise of the problem
 * with its location (undefined if it is its own), settled once the round's
 * locations are known. Undefined in a preview.
 */
export function gateLocations(fleet: string, table: string, hosts: readonly HostLocation[]): ((host: string) => Promise<string | undefined>) | undefined {
  if (pulumi.runtime.isDryRun()) return undefined;
  const state = stateOfThisRun();
  const round = state.round ?? newRound(state);
  const label = (host: string) => `Fleet ${fleet}, host ${host}`;
  round.locations.push(Promise.all(hosts.map((h) => new Promise<DeclaredLocation>((resolve) => {
    // At `up` every value becomes known; apply runs once it is.
    pulumi.all([h.address, h.port]).apply(([address, port]) => {
      resolve({ address, port, table, label: label(h.name) });
    });
  }))));
  return (host) => round.refused.then((refused) => refused.get(label(host)));
}
