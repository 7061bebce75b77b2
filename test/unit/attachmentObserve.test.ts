// Observe on the Attachment's handlers, on fake hosts (docs/observe.md): what
// an apply and a refresh record in `observed`, counters carried over an
// apply, the promotion guard (staged -> enforced, a staged change becoming
// the declaration): refused with the observed flows it would cut, or with no
// observation since the policy was applied, or with unrecorded packets, or
// when the promotion also changes the policy; accepted with the digest
// acknowledged, or after a clean observation window. And old state (no
// observe) keeps diffing as before.
import { beforeEach, describe, expect, it } from "vitest";
import type { AttachmentEnv, AttachmentProps } from "../../provider/handlers/attachment";
import { compileFleet } from "../../provider/compiler/compile";
import type { FleetDeclaration, ObserveDeclaration } from "../../provider/declaration/declaration";
import { ATTACHMENT_FORMAT, encodeScript } from "../../provider/handlers/scriptEncoding";
import { FakeHosts, type FakeMachine } from "../support/fakeHost";
import { requireDist } from "../support/dist";

const { attachmentHandlers } = requireDist<typeof import("../../provider/handlers/attachment")>("provider/handlers/attachment.js");
const { parseFlowLine } = requireDist<typeof import("../../provider/handlers/attachmentObserve")>("provider/handlers/attachmentObserve.js");

const OWNER = "o/p/s/host=db-1";
const ADDRESS = "198.18.0.21";
const T = "nftsg";

function fleet(observe: ObserveDeclaration | undefined, extraPort?: number): FleetDeclaration {
  const ingress = [{ protocol: "tcp" as const, ports: 5432, cidrs: ["198.18.0.0/16"], description: "postgres" }];
  if (extraPort) ingress.push({ protocol: "tcp", ports: extraPort, cidrs: ["198.18.0.0/16"], description: `port ${extraPort}` });
  return {
    ...(observe ? { observe } : {}),
    securityGroups: [{ name: "db", ingress }],
    hosts: [{ name: "db-1", connection: { host: ADDRESS }, securityGroups: ["db"] }],
  };
}

/** The inputs the SDK sends for db-1. */
function inputs(decl: FleetDeclaration, acknowledge?: string[]): AttachmentProps {
  const r = compileFleet(decl, { owners: { "db-1": OWNER }, lineStyle: "groups" })["db-1"]!;
  const ack = [...(decl.observe?.acknowledge ?? []), ...(acknowledge ?? [])];
  return {
    fleet: "lab", hostName: "db-1", address: ADDRESS, port: 22,
    connection: { host: ADDRESS, user: "root", privateKey: "KEY" },
    table: T, owner: OWNER, takeover: false, rollbackSeconds: 30,
    format: ATTACHMENT_FORMAT, rules: r.lines.join("\n"), scriptBrotli: encodeScript(r.script), hash: r.hash,
    ...(r.observe ? { observe: { ...r.observe, ...(ack.length ? { acknowledge: ack } : {}) } } : {}),
  };
}

let hosts: FakeHosts;
let m: FakeMachine;
let warnings: string[];
let handlers: ReturnType<typeof attachmentHandlers>;

beforeEach(() => {
  hosts = new FakeHosts();
  m = hosts.add(ADDRESS, { name: "db-1" });
  warnings = [];
  const env: AttachmentEnv = { host: () => hosts, warn: async (w) => void warnings.push(w) };
  handlers = attachmentHandlers(env);
});

const refresh = async (outs: AttachmentProps) => (await handlers.read("id", outs)).props!;
const staged = fleet({ mode: "staged" });
const enforced = fleet({ mode: "enforce" });
/** A would-be drop from 198.18.5.9 to tcp/9100, 4 packets, last seen `agoMinutes` ago (retention 7 days). */
const flow9100 = (agoMinutes: number) => `198.18.5.9 . tcp . 9100 counter packets 4 bytes 240 expires ${7 * 24 * 60 - agoMinutes}m`;

describe("observe on the Attachment", () => {
  it("an apply records the policy and since when; a refresh brings counters and recorded flows, compactly", async () => {
    const outs = (await handlers.create(inputs(staged))).outs;
    expect(outs.observed?.mode).toBe("staged");
    expect(outs.observed?.policyHash).toBe(inputs(staged).observe!.policyHash);
    expect(Date.parse(outs.observed!.policySince!)).toBeGreaterThan(Date.now() - 60_000);
    m.record(T, "drops_in_v4", flow9100(0));
    m.record(T, "first_in_v4", "198.18.5.9 . tcp . 9100 expires 10071m");
    m.record(T, "drops_in_v6", "2001:db8:5::9 . ipv6-icmp . 32768 counter packets 1 bytes 104 expires 10080m");
    const counter = /counter (r_db_in_\w+) \{/.exec(m.tables.get(T)!.listing)![1]!;
    m.count(T, counter, 17, 1020);
    const read = await refresh(outs);
    const o = read.observed!;
    expect(o.counters?.[counter]).toEqual([17, 1020]);
    expect(o.dropsTotal).toBe(2);
    expect(o.drops).toHaveLength(2);
    const f = parseFlowLine(o.drops![0]!)!;
    expect(f).toMatchObject({ direction: "ingress", address: "198.18.5.9", protocol: "tcp", port: 9100, packets: 4, bytes: 240 });
    expect(Math.abs(Date.now() - f.lastMs)).toBeLessThan(30_000);
    expect(f.lastMs - f.firstMs!).toBe(9 * 60_000);
    expect(o.drops![1]).toMatch(/^in 2001:db8:5::9 icmpv6\/128\.0 1p 104B first \? last /);
    expect(o.countingSince).toBeDefined();
    // The flows were seen after the staged policy was applied: a promotion would cut them.
    expect(o.cut?.total).toBe(2);
    // The refresh is not drift.
    expect(read.rules).toBe(outs.rules);
  });

  it("counters and recorded flows survive an apply of another change", async () => {
    const outs = (await handlers.create(inputs(staged))).outs;
    const counter = /counter (r_db_in_\w+) \{/.exec(m.tables.get(T)!.listing)![1]!;
    m.count(T, counter, 5, 300);
    m.record(T, "drops_in_v4", flow9100(1));
    const changed = fleet({ mode: "staged" }, 8080);
    const updated = (await handlers.update("id", outs, inputs(changed))).outs;
    const read = await refresh(updated);
    expect(read.observed?.counters?.[counter]).toEqual([5, 300]);
    expect(read.observed?.dropsTotal).toBe(1);
    expect(Object.keys(read.observed!.counters!).filter((c) => c.startsWith("r_db_in_"))).toHaveLength(2);
  });

  it("staged -> enforce: preview warns and up refuses while would-be drops were observed; the digest acknowledges it", async () => {
    const outs = await refresh((await handlers.create(inputs(staged))).outs);
    m.record(T, "drops_in_v4", flow9100(0));
    const read = await refresh(outs);
    const promote = inputs(enforced);
    // The refresh's inputs keep what a promotion needs (not the counters or flow lists): check shows the cut in the diff.
    const readInputs = (await handlers.read("id", outs)).inputs as AttachmentProps;
    expect(readInputs.observed?.counters).toBeUndefined();
    const checked = (await handlers.check(readInputs, promote)).inputs as AttachmentProps;
    expect(checked.observe?.promotion?.join("\n")).toMatch(/^db-1: staged policy -> enforce, refused by up unless acknowledged\nwould cut 1 observed flow since [^:]+:[^\n]*\nin 198\.18\.5\.9 tcp\/9100 4p 240B [^\n]*\nacknowledge: "[0-9a-f]{12}"$/);
    expect((await handlers.diff("id", read, promote)).changes).toBe(true);
    expect(warnings.join("\n")).toMatch(/promoting the staged policy to enforce: 1 observed flow would be cut[\s\S]*in 198\.18\.5\.9 tcp\/9100 4p 240B/);
    const error = await handlers.update("id", read, promote).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/refused before contacting the host/);
    expect(m.calls.filter((c) => c.startsWith("apply"))).toHaveLength(1);
    const digest = /add "([0-9a-f]{12})" to observe\.acknowledge/.exec(error!.message)![1]!;
    const done = (await handlers.update("id", read, inputs(enforced, [digest]))).outs;
    expect(done.observed?.mode).toBe("enforce");
    expect(m.tables.get(T)!.listing).toContain('drop comment "default drop, flow recorded"');
    // Acknowledged: the flows are kept (the table was seeded), the digest listed nowhere else.
    expect((await refresh(done)).observed?.dropsTotal).toBe(1);
  });

  it("a promotion with nothing observed since the staged policy was applied is refused: refresh first", async () => {
    const outs = (await handlers.create(inputs(staged))).outs;
    const error = await handlers.update("id", outs, inputs(enforced)).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/nothing was observed since the staged policy was applied/);
  });

  it("after the suggested rule and a clean observation window, the promotion passes", async () => {
    const first = await refresh((await handlers.create(inputs(staged))).outs);
    m.record(T, "drops_in_v4", flow9100(0));
    const observed = await refresh(first);
    expect(observed.observed?.cut?.total).toBe(1);
    // The rule that allows it (staged still): a new staged policy, applied now.
    m.advance(60_000);
    const withRule = fleet({ mode: "staged" }, 9100);
    const applied = (await handlers.update("id", observed, inputs(withRule))).outs;
    expect(Date.parse(applied.observed!.policySince!)).toBeGreaterThan(Date.parse(observed.observed!.policySince!));
    // A clean window: nothing new recorded (the old flow was last seen before the new policy).
    const clean = await refresh(applied);
    expect(clean.observed?.dropsTotal).toBe(1);
    expect(clean.observed?.cut?.total).toBe(0);
    const promoted = (await handlers.update("id", clean, inputs(fleet({ mode: "enforce" }, 9100)))).outs;
    expect(promoted.observed?.mode).toBe("enforce");
  });

  it("packets that could not be recorded (a full flow set) make the observation incomplete: refused", async () => {
    const outs = (await handlers.create(inputs(staged))).outs;
    m.count(T, "unrecorded_in", 50, 3000);
    const read = await refresh(outs);
    const error = await handlers.update("id", read, inputs(enforced)).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/50 would-be dropped packets could not be recorded/);
  });

  it("unrecorded packets after the counter restarted (below the state's baseline: a reboot) still make the observation incomplete", async () => {
    // A first policy whose window lost 80 packets: the baseline of the next one.
    const first = await refresh((await handlers.create(inputs(fleet({ mode: "staged" }, 443)))).outs);
    m.count(T, "unrecorded_in", 80, 4800);
    const lossy = await refresh(first);
    const applied = (await handlers.update("id", lossy, inputs(staged))).outs;
    expect(applied.observed?.unrecordedBaseline).toBe(80);
    // The host reboots (counters restart at 0), then loses 30 packets of the new policy's window.
    m.reboot();
    m.count(T, "unrecorded_in", 30, 1800);
    const read = await refresh(applied);
    expect(read.observed?.cut?.unrecorded).toBe(30);
    const error = await handlers.update("id", read, inputs(enforced)).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/30 would-be dropped packets could not be recorded/);
  });

  it("a promotion that also changes the policy is refused: what it enforces was never staged", async () => {
    const read = await refresh((await handlers.create(inputs(staged))).outs);
    const error = await handlers.update("id", read, inputs(fleet({ mode: "enforce" }, 443))).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/also changes the policy/);
  });

  it("a staged change: the flows it would newly deny are told from those both deny; promoting it is guarded the same way", async () => {
    const proposal = {
      securityGroups: [{ name: "db", ingress: [{ protocol: "tcp" as const, ports: 5433, cidrs: ["198.18.0.0/16"], description: "postgres, new port" }] }],
    };
    const withProposal = fleet({ mode: "enforce", proposal });
    const outs = await refresh((await handlers.create(inputs(withProposal))).outs);
    expect(outs.observed?.proposalHash).toBeDefined();
    // 5432 is allowed now and would be denied: newly denied. 9100 is denied by both.
    m.record(T, "proposal_drops_in_v4", "198.18.5.7 . tcp . 5432 counter packets 3 bytes 180 expires 10080m");
    m.record(T, "proposal_drops_in_v4", flow9100(0));
    m.record(T, "drops_in_v4", flow9100(0));
    const read = await refresh(outs);
    expect(read.observed?.newlyDenied?.map((l) => l.split(" ").slice(0, 3).join(" "))).toEqual(["in 198.18.5.7 tcp/5432"]);
    expect(read.observed?.bothDenyTotal).toBe(1);
    // The proposal becomes the declaration.
    const promote = inputs({ ...fleet({ mode: "enforce" }), securityGroups: proposal.securityGroups });
    expect(promote.observe?.policyHash).toBe(outs.observe?.proposalHash);
    const error = await handlers.update("id", read, promote).then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/promoting the staged change[\s\S]*1 observed flow would be cut[\s\S]*198\.18\.5\.7 tcp\/5432/);
    expect(error?.message).not.toMatch(/9100/);
  });

  it("an acknowledgement alone changes nothing on the host", async () => {
    const outs = (await handlers.create(inputs(staged))).outs;
    const acked = inputs(staged, ["0123456789ab"]);
    expect((await handlers.diff("id", outs, acked)).changes).toBe(false);
    const r = await handlers.update("id", outs, acked);
    expect(r.outs.observed).toEqual(outs.observed);
    expect(m.calls.filter((c) => c.startsWith("apply"))).toHaveLength(1);
  });

  it("old state (no observe) diffs as before: an upgrade re-pushes no host that does not change mode", async () => {
    const plain = inputs(fleet(undefined));
    const outs = (await handlers.create(plain)).outs;
    expect(outs).not.toHaveProperty("observed");
    expect(outs).not.toHaveProperty("observe");
    expect((await handlers.diff("id", outs, inputs(fleet(undefined)))).changes).toBe(false);
    expect((await handlers.read("id", outs)).props).toEqual(outs);
    // Observing it is a change (counters are added to its table).
    expect((await handlers.diff("id", outs, inputs(enforced))).changes).toBe(true);
  });
});
