// The lab: N real hosts on this machine (network namespaces with their own
// addresses, sshd and nftables, joined by a bridge). See README.md here.
import { LabImpl } from "./lab";
import { labUp as up } from "./up";
import { downAllSync } from "./teardown";
import type { Lab, LabUpOptions } from "./types";

export type { ExecResult, Lab, LabHost, LabUpOptions, ListenProto, ProbeOptions, ProbeProto, ProbeRequest } from "./types";
export { isLabAddress } from "./addressing";
export { RUNNER } from "./lab";

/** Brings up a lab; unless `persistent`, it is torn down when this process exits. */
export function labUp(opts: LabUpOptions): Promise<Lab> {
  return up(opts);
}

/** Handle on a running lab (e.g. one made by `npm run lab -- up N`), from its state.json. */
export async function attachLab(id: string): Promise<Lab> {
  return LabImpl.attach(id);
}

/** Removes every lab and lab leftover on this machine. */
export async function downAll(): Promise<void> {
  downAllSync();
}
