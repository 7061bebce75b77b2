// How tests, benchmarks and demos log in to lab hosts: root, with the lab's
// key. (No vitest here: benchmarks import it too.)
import type * as pulumi from "@pulumi/pulumi";
import type { Lab } from "../../lab";
import type { ConnectionDeclaration } from "../../provider/declaration/declaration";

/** The SSH login of every lab host (root, with the lab's key) at `address`, known or not yet known. */
export function connectionAt<A extends pulumi.Input<string>>(lab: Lab, address: A): { host: A; user: string; privateKey: string } {
  return { host: address, user: "root", privateKey: lab.privateKey };
}

/** The connection to a lab host: root with the lab's key at its IPv4 address; `extra` adds or overrides fields. */
export function connectionTo(lab: Lab, host: string, extra: Partial<ConnectionDeclaration> = {}): ConnectionDeclaration {
  return { ...connectionAt(lab, lab.host(host).ipv4), ...extra };
}
