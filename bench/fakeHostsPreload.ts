// Bench only (bench/scaleFloor.ts): simulated hosts for `pulumi up` at 1,000
// hosts, more than a lab holds. Loaded with `node --require` (NODE_OPTIONS)
// into the processes the Pulumi CLI starts, it replaces the real hosts
// (provider/host/ops.ts sshHostOps, what the Attachment handlers call) by
// test/support/fakeHost.ts: a fake with the real semantics (owner, instance,
// host key, boot files), one machine per address, made on first contact.
// The engine, the dynamic provider and the handlers are the real ones; only
// the SSH side is simulated. Each provider process starts with empty
// machines: an update then applies to a machine without the table, which the
// handlers treat like any first apply.
import type { HostOps } from "../provider/host/ops";
import type { ConnectionDeclaration } from "../provider/declaration/declaration";

const ops = require("../provider/host/ops") as { sshHostOps: () => HostOps };
let fake: HostOps | undefined;

ops.sshHostOps = () => {
  if (fake) return fake;
  const { FakeHosts } = require("../test/support/fakeHost") as typeof import("../test/support/fakeHost");
  const hosts = new FakeHosts();
  const ensure = (c: ConnectionDeclaration) => {
    if (!hosts.machines.has(`${c.host}:${c.port ?? 22}`)) hosts.add(c.host, { port: c.port ?? 22 });
  };
  fake = {
    applyAtomically: (c, table, script, opts) => (ensure(c), hosts.applyAtomically(c, table, script, opts)),
    readLive: (c, table, opts) => (ensure(c), hosts.readLive(c, table, opts)),
    removeTable: (c, table, opts) => (ensure(c), hosts.removeTable(c, table, opts)),
  };
  return fake;
};
