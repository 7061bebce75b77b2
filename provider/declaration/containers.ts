// The `containers` option of a fleet, normalised: which interfaces are local
// container or VM networks, and whether published ports and container egress
// follow the host's rules (docs/containers.md).
import { CONTAINER_INTERFACES_DEFAULT } from "../vocabulary/containers";
import type { NormalisedFleet } from "./fleetModel";

/** `null` means absent, as everywhere in a declaration. */
interface ParsedContainers {
  publishedPorts?: boolean | null;
  egress?: boolean | null;
  interfaces?: string[] | null;
}

export function normaliseContainers(c: ParsedContainers | null | undefined): NormalisedFleet["containers"] {
  const interfaces = c?.interfaces ?? CONTAINER_INTERFACES_DEFAULT;
  return {
    publishedPorts: c?.publishedPorts !== false,
    egress: c?.egress !== false,
    interfaces: [...new Set(interfaces)].sort(),
  };
}
