// Local (container) interface patterns that match an uplink are refused on
// the host, at apply, before anything changes (item 10): everything arriving
// on a local interface is accepted like loopback, before every group rule,
// so a pattern that matches the interface carrying the SSH connection, a
// default route or a public address, or a bridge that connects other
// machines, would open the host completely. Real lab hosts, the real apply
// program over SSH, the live table compared before and after.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyAtomically, HostError } from "../provider/host/apply";
import { compileFleet } from "../provider/compiler/compile";
import type { ContainersDeclaration, FleetDeclaration, HostRuleset } from "../provider/declaration/declaration";
import * as remoteLib from "../provider/host/remoteLib";
import { liveTable } from "./support/applyLab";
import { connectionTo } from "./support/labConnection";
import { useLab } from "./support/useLab";

const A = "org/project/stack-a";
const lab = useLab({ hosts: 2, hostNames: ["m1", "m2"] });

/** The host's compiled ruleset: its script and the facts the apply checks (its local interfaces). */
function script(host: string, containers?: ContainersDeclaration): HostRuleset {
  const decl: FleetDeclaration = {
    ...(containers ? { containers } : {}),
    securityGroups: [{ name: "app", ingress: [{ protocol: "tcp", ports: 8080, cidrs: ["198.18.0.0/15"] }] }],
    hosts: [{ name: host, connection: { host: lab.host(host).ipv4 }, securityGroups: ["app"] }],
  };
  return compileFleet(decl, { owner: A })[host]!;
}

const apply = (host: string, r: HostRuleset) => applyAtomically(connectionTo(lab, host), "nftsg", r.script, { facts: r.facts, owner: A, rollbackSeconds: 10 });

async function refused(host: string, s: HostRuleset): Promise<HostError> {
  const before = await liveTable(lab, host);
  let caught: unknown;
  try {
    await apply(host, s);
  } catch (e) {
    caught = e;
  }
  expect(caught, "the apply must be refused").toBeInstanceOf(HostError);
  const e = caught as HostError;
  if (process.env.SHOW_MESSAGES) console.log(e.message);
  expect(e.kind, e.message).toBe("preflight");
  expect(e.message).toContain("containers.interfaces");
  expect(e.message).toContain("nothing was changed");
  expect(await liveTable(lab, host)).toBe(before);
  return e;
}

async function sh(host: string, cmd: string): Promise<void> {
  const r = await lab.exec(host, cmd);
  if (r.code !== 0) throw new Error(`${host}: ${cmd}: ${r.stderr}`);
}

beforeAll(async () => {
  // m1's uplink (the interface its SSH connection arrives on) becomes br-mgmt,
  // a name the default pattern "br-*" matches.
  await sh("m1", "sysctl -qw net.ipv6.conf.nftsg0.keep_addr_on_down=1 && ip link set nftsg0 down && ip link set nftsg0 name br-mgmt && ip link set br-mgmt up");
  for (let i = 0; i < 50 && (await lab.ssh("m1", "true", { timeoutMs: 5000 })).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  // A table to compare with: applied where nothing matches badly.
  await apply("m1", script("m1", { interfaces: ["docker0"] }));
  await apply("m2", script("m2"));
}, 180_000);


describe("refused at apply, before anything changes", () => {
  it("the default pattern br-* matching the interface of the SSH connection (br-mgmt)", async () => {
    const e = await refused("m1", script("m1"));
    expect(e.message).toMatch(/interface br-mgmt \(matched by "br-\*"\) carries the SSH connection \(the route to 198\.18\.\d+\.1\)/);
  });

  it("the default pattern br-* matching a bridge that carries a default route (br-wan)", async () => {
    await sh("m2", "ip link add br-wan type bridge && ip addr add 10.255.0.2/24 dev br-wan && ip link set br-wan up && ip route add default via 10.255.0.1 dev br-wan onlink");
    try {
      const e = await refused("m2", script("m2"));
      expect(e.message).toMatch(/interface br-wan \(matched by "br-\*"\) carries a default route/);
    } finally {
      await sh("m2", "ip link del br-wan");
    }
  });

  it("a pattern matching a device with a public address (br-ex), even without a default route", async () => {
    // Nothing is ever sent to this address: it only has to look public to the host.
    await sh("m2", "ip link add br-ex type veth peer name br-ex-peer && ip addr add 192.88.99.1/32 dev br-ex && ip link set br-ex up");
    try {
      const e = await refused("m2", script("m2"));
      expect(e.message).toMatch(/interface br-ex \(matched by "br-\*"\) carries the public address 192\.88\.99\.1/);
    } finally {
      await sh("m2", "ip link del br-ex");
    }
  });

  it("a bridge that connects other machines (br-vxlan with a VXLAN port), private address, no default route", async () => {
    await sh("m2", "ip link add br-vxlan type bridge && ip link add vxlan42 type vxlan id 42 dstport 4789 dev nftsg0 && ip link set vxlan42 master br-vxlan && ip addr add 10.254.0.1/24 dev br-vxlan && ip link set br-vxlan up && ip link set vxlan42 up");
    try {
      const e = await refused("m2", script("m2"));
      expect(e.message).toMatch(/interface br-vxlan \(matched by "br-\*"\) bridges vxlan42, a vxlan device/);
    } finally {
      await sh("m2", "ip link del vxlan42; ip link del br-vxlan");
    }
  });

  it("a pattern that matches a physical-like device that is not a bridge, veth or tap (weave as a vxlan device)", async () => {
    await sh("m2", "ip link add weave type vxlan id 43 dstport 4790 dev nftsg0");
    try {
      const e = await refused("m2", script("m2", { interfaces: ["docker0", "weave"] }));
      expect(e.message).toMatch(/interface weave \(matched by "weave"\) is a vxlan device, not a bridge of local guests/);
    } finally {
      await sh("m2", "ip link del weave");
    }
  });
});

describe("accepted", () => {
  it("Docker-like bridges of local guests (veth ports), also with a public (routed) address", async () => {
    await sh("m2", "ip link add br-0123456789ab type bridge && ip link add vethc1 type veth peer name vethc1p && ip link set vethc1 master br-0123456789ab && ip addr add 192.88.99.129/25 dev br-0123456789ab && ip link add docker0 type bridge && ip link set br-0123456789ab up && ip link set docker0 up");
    try {
      const s = script("m2");
      await apply("m2", s);
      expect(await liveTable(lab, "m2")).toContain('iifname { "br-*", "cali*"');
    } finally {
      await sh("m2", "ip link del vethc1; ip link del br-0123456789ab; ip link del docker0");
    }
  });
});

describe("the SSH client's address", () => {
  it("is found when sudo (or anything) reset the environment: an ancestor still has SSH_CONNECTION", async () => {
    const { shellVars, SH_BASE, SH_LOCAL_IFACES } = remoteLib as typeof remoteLib & { SH_LOCAL_IFACES?: string };
    expect(SH_LOCAL_IFACES, "the apply program's local-interface functions").toBeDefined();
    const lib = shellVars({ table: "nftsg", nonce: "0" }) + SH_BASE + SH_LOCAL_IFACES!;
    const r = await lab.ssh("m2", `env -u SSH_CONNECTION sh <<'NFTSG_EOF'\n${lib}\nset -- $(ssh_connection)\necho "client=$1"\nNFTSG_EOF`);
    expect(r.stdout.trim()).toBe(`client=${lab.runnerIpv4}`);
  });
});
