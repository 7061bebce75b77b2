// What the handlers do to a host, as an interface: the seam between the
// Pulumi side and the hosts (kube-proxy's knftables.Interface, in spirit).
// The real implementation is the SSH one in apply.ts, loaded lazily (ssh2 is
// heavy); tests of handler logic use a fake with the same semantics
// (test/support/fakeHost.ts), proven against a real host by
// test/hostContract.test.ts.
import type { ConnectionDeclaration } from "../declaration/declaration";
import type { ApplyOptions, ApplyResult, LiveState, ReadOptions, RemoveOptions, RemoveResult } from "./apply";

export type { ApplyOptions, ApplyResult, LiveState, ReadOptions, RemoveOptions, RemoveResult } from "./apply";

export interface HostOps {
  /** Commit-confirmed apply of one table (docs/apply.md). */
  applyAtomically(conn: ConnectionDeclaration, table: string, script: string, opts: ApplyOptions): Promise<ApplyResult>;
  /** The live table, its owner, instance and boot loading; changes nothing. */
  readLive(conn: ConnectionDeclaration, table: string, opts: ReadOptions): Promise<LiveState>;
  /** Removes the table and its boot loading, unless it is not this caller's. */
  removeTable(conn: ConnectionDeclaration, table: string, opts: RemoveOptions): Promise<RemoveResult>;
}

/** The real hosts, over SSH. */
export function sshHostOps(): HostOps {
  const { applyAtomically, readLive, removeTable } = require("./apply") as typeof import("./apply");
  return { applyAtomically, readLive, removeTable };
}
