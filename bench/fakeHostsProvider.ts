// Bench only: the provider implementation (provider/index.ts) with the
// Attachment's handlers on fake hosts (test/support/fakeHost.ts, the HostOps
// seam of provider/host/ops.ts), so that the many-stacks benchmark can `up`
// thousands of Attachments without contacting a host. Every other handler is
// the product's own.
//
// bench/multistack.ts loads it through the product's ordinary resolution: the
// dynamic providers require `pulumi-nftsg/provider` by name first
// (sdk/providers.ts), and during the benchmark's `up`s only, NODE_PATH points
// at a directory whose `pulumi-nftsg/provider` is this module. Its previews run
// without it: the real implementation, which contacts no host at preview.
//
// A machine appears at any address when first contacted and lives as long as
// the provider process (one `up`): an update of an Attachment whose table is
// not on its (new) machine creates the table there, as a host that lost it
// would be restored.
import { attachmentHandlers } from "../provider/handlers/attachment";
import { RunRegistry } from "../provider/handlers/runRegistry";
import type { ConnectionDeclaration } from "../provider/declaration/declaration";
import type { HostOps } from "../provider/host/ops";
import { FakeHosts } from "../test/support/fakeHost";

const hosts = new FakeHosts();
/** Operations that reached a fake machine, by kind (read by nothing: a debugging aid). */
export const counts = { apply: 0, read: 0, remove: 0 };

function machineFor(conn: ConnectionDeclaration): void {
  if (!hosts.machines.has(`${conn.host}:${conn.port ?? 22}`)) hosts.add(conn.host, { port: conn.port ?? 22 });
}

const ops: HostOps = {
  applyAtomically: (conn, table, script, opts) => (machineFor(conn), counts.apply++, hosts.applyAtomically(conn, table, script, opts)),
  readLive: (conn, table, opts) => (machineFor(conn), counts.read++, hosts.readLive(conn, table, opts)),
  removeTable: (conn, table, opts) => (machineFor(conn), counts.remove++, hosts.removeTable(conn, table, opts)),
};

export const attachment = attachmentHandlers({ host: () => ops, warn: async () => undefined, run: new RunRegistry() });
export { securityGroup, rule, model, stackIdentity, addressList, remoteGroup } from "../provider/index";
