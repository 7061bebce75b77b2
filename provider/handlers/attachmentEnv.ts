// What the Attachment's handlers use of the world, injected so that their
// logic runs against fake hosts in tests (test/support/fakeHost.ts).
import type { HostOps } from "../host/ops";
import { RunRegistry } from "./runRegistry";

/** The hosts, the engine's log, the other Attachments of this run. */
export interface AttachmentEnv {
  /** The hosts (SSH by default; a fake in handler tests). */
  host(): HostOps;
  /** A warning shown by `pulumi up` / `refresh`. */
  warn(message: string): Promise<void>;
  /** Every Attachment this operation declares (runRegistry.ts). */
  run?: RunRegistry;
}

/** The real world: hosts over SSH, warnings to the engine, one registry per provider process. Loaded lazily. */
export function realAttachmentEnv(): AttachmentEnv {
  let ops: HostOps | undefined;
  return {
    host: () => (ops ??= (require("../host/ops") as typeof import("../host/ops")).sshHostOps()),
    warn: (message) => (require("./engineLog") as typeof import("./engineLog")).warn(message),
    run: new RunRegistry(),
  };
}
