// What a host forwards, with real packets and without Docker (docs/containers.md,
// "What is filtered"): one lab host, gw-1, plays a Docker host, a router and a
// Kubernetes node at once, with namespaces as its guests and LAN hosts:
//
//   br-0123456789ab (a Docker-like bridge, local)  198.19.k.0/26    container c1 .2, tcp/80
//   lan0            (a router's LAN bridge)        198.19.k.64/26   LAN host  l1 .66, tcp/443
//   cni0            (a pod bridge, local)          198.19.k.128/26  pod       p1 .130
//   node-2's cni0   (another node's pods)          198.19.k.192/26  pod       p2 .194, tcp/53
//
// gw-1 DNATs tcp/8080 to c1:80 (a published port), tcp/8443 to l1:443 (a
// router's port forward to another host) and the "ClusterIP" 198.19.k.250:53
// to p2:53 (kube-proxy). web-1 and other-1 route 198.19.k.0/24 via gw-1.
// Decisions (item 11): (a) pods' traffic off the host follows the host's
// egress rules, on the address after DNAT; (b) a connection to the host's own
// address follows its ingress rules wherever it is forwarded, and what the
// host merely routes is not touched; (c) a connection from outside to a local
// container's own address (routed, no DNAT) follows the ingress rules.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileFleet } from "../provider/compiler/compile";
import type { ContainersDeclaration, FleetDeclaration, RuleDeclaration } from "../provider/declaration/declaration";
import { useLab } from "./support/useLab";
import { ensureAgent, type AgentClient } from "../lab/agent-client";
import { run, runOk } from "../lab/sh";
import { LiveConnection } from "./support/liveConnection";

const TIMEOUT_MS = 1000;
const lab = useLab({ hosts: 4, hostNames: ["gw-1", "web-1", "other-1", "node-2"] });
let net: string; // "198.19.k"
const guests: Record<string, AgentClient> = {};
const guestNs: string[] = [];

const addr = (last: number) => `${net}.${last}`;
const C1 = () => addr(2);
const L1 = () => addr(66);
const P1 = () => addr(130);
const P2 = () => addr(194);
const CLUSTER_IP = () => addr(250);

async function hostSh(host: string, cmd: string): Promise<void> {
  const r = await lab.exec(host, cmd);
  if (r.code !== 0) throw new Error(`${host}: ${cmd}: ${r.stderr}`);
}

/**
 * A guest namespace behind `bridge` (made if missing) on `host`, with an
 * agent listening on `tcp`; the bridge gets the first address of the /26.
 */
async function guest(name: string, host: string, bridge: string, last: number, tcp: number[]): Promise<void> {
  const ns = `nftsg-${lab.id}-${name}`;
  const hostNs = lab.host(host).ns;
  const gw = addr(last - 1);
  guestNs.push(ns);
  await runOk("ip", ["netns", "add", ns]);
  await runOk("sh", ["-c", [
    `ip -n ${hostNs} link show ${bridge} >/dev/null 2>&1 || { ip -n ${hostNs} link add ${bridge} type bridge && ip -n ${hostNs} addr add ${gw}/26 dev ${bridge} && ip -n ${hostNs} link set ${bridge} up; }`,
    `ip -n ${hostNs} link add v${name} type veth peer name eth0 netns ${ns}`,
    `ip -n ${hostNs} link set v${name} master ${bridge} up`,
    `ip -n ${ns} link set lo up`,
    `ip -n ${ns} addr add ${addr(last)}/26 dev eth0`,
    `ip -n ${ns} link set eth0 up`,
    `ip -n ${ns} route add default via ${gw}`,
  ].join(" && ")]);
  const agent = await ensureAgent({ socketPath: `${lab.dir}/${name}.sock`, logPath: `${lab.dir}/${name}.log`, ns });
  if (tcp.length) await agent.request("listen", { proto: "tcp", ports: tcp }, 10_000);
  guests[name] = agent;
}

const probeFromGuest = async (name: string, to: string, port: number): Promise<boolean> =>
  (await guests[name]!.request<boolean[]>("probe", { probes: [{ to, proto: "tcp", port, timeoutMs: TIMEOUT_MS }] }, 10_000))[0] === true;

const probe = (from: string, to: string, port: number) => lab.probe(from, to, { proto: "tcp", port, timeoutMs: TIMEOUT_MS });

interface Rules {
  ingress?: RuleDeclaration[];
  egress?: RuleDeclaration[];
  containers?: ContainersDeclaration;
}

const LOCAL: ContainersDeclaration = { interfaces: ["br-*", "cni0"] };

function fleet(r: Rules): FleetDeclaration {
  return {
    containers: r.containers ?? LOCAL,
    securityGroups: [{ name: "web" }, { name: "gw", ingress: r.ingress ?? [], egress: r.egress ?? [] }],
    hosts: [
      { name: "gw-1", connection: { host: lab.host("gw-1").ipv4 }, securityGroups: ["gw"] },
      { name: "web-1", connection: { host: lab.host("web-1").ipv4 }, securityGroups: ["web"] },
      { name: "other-1", connection: { host: lab.host("other-1").ipv4 }, securityGroups: [] },
      { name: "node-2", connection: { host: lab.host("node-2").ipv4 }, securityGroups: [] },
    ],
  };
}

async function apply(r: Rules): Promise<string> {
  const script = compileFleet(fleet(r))["gw-1"]!.script;
  const res = await lab.exec("gw-1", "nft -f -", { input: script });
  expect(res.code, res.stderr).toBe(0);
  return script;
}

const removeNftsg = () => lab.exec("gw-1", "nft delete table inet nftsg 2>/dev/null; true");

const fromWeb = (port: number): RuleDeclaration => ({ protocol: "tcp", ports: port, securityGroups: ["web"] });
const tcpTo = (port: number, cidr: string): RuleDeclaration => ({ protocol: "tcp", ports: port, cidrs: [cidr] });
/** Restricted egress that allows nothing the tests use. */
const HTTPS_ONLY = [tcpTo(443, "192.0.2.0/24")];

beforeAll(async () => {
  net = `198.19.${lab.slot}`;
  const gw = lab.host("gw-1").ipv4;
  const node2 = lab.host("node-2").ipv4;
  await hostSh("gw-1", "sysctl -qw net.ipv4.ip_forward=1");
  await hostSh("node-2", "sysctl -qw net.ipv4.ip_forward=1");
  await guest("c1", "gw-1", "br-0123456789ab", 2, [80]);
  await guest("l1", "gw-1", "lan0", 66, [443]);
  await guest("p1", "gw-1", "cni0", 130, [8081]);
  await guest("p2", "node-2", "cni0", 194, [53]);
  for (const h of ["web-1", "other-1"]) await hostSh(h, `ip route add ${net}.0/24 via ${gw}`);
  await hostSh("gw-1", `ip route add ${net}.192/26 via ${node2}`);
  await hostSh("node-2", `ip route add ${net}.0/25 via ${gw}; ip route add ${net}.128/26 via ${gw}`);
  // The DNATs other tools make (Docker's -p, a router's port forward, kube-proxy's ClusterIP).
  await hostSh("gw-1", `nft -f - <<'EOF'
table ip emu {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr ${gw} tcp dport 8080 dnat to ${C1()}:80
		ip daddr ${gw} tcp dport 8443 dnat to ${L1()}:443
		ip daddr ${CLUSTER_IP()} tcp dport 53 dnat to ${P2()}:53
	}
}
EOF`);
  await lab.listen("web-1", "tcp", [9000]);
}, 240_000);

afterAll(async () => {
  for (const a of Object.values(guests)) a.close();
  for (const ns of guestNs) await run("ip", ["netns", "del", ns]);
}, 120_000);

describe("without nftsg everything is open (the emulation works)", () => {
  it("published port, port forward, routed container address, transit, pod to ClusterIP", async () => {
    await removeNftsg();
    const gw = lab.host("gw-1").ipv4;
    expect(await probe("other-1", gw, 8080)).toBe(true);
    expect(await probe("other-1", gw, 8443)).toBe(true);
    expect(await probe("other-1", C1(), 80)).toBe(true);
    expect(await probe("other-1", L1(), 443)).toBe(true);
    expect(await probeFromGuest("p1", CLUSTER_IP(), 53)).toBe(true);
    expect(await probeFromGuest("p1", P2(), 53)).toBe(true);
  });
});

describe("(c) a connection from outside to a local container's own address (routed, no DNAT)", () => {
  it("follows the host's ingress rules: dropped when they do not allow its port", async () => {
    await apply({ ingress: [fromWeb(8080)] });
    expect(await probe("web-1", C1(), 80)).toBe(false);
    expect(await probe("other-1", C1(), 80)).toBe(false);
    // Published through DNAT: filtered on the published port, as before.
    expect(await probe("web-1", lab.host("gw-1").ipv4, 8080)).toBe(true);
    expect(await probe("other-1", lab.host("gw-1").ipv4, 8080)).toBe(false);
  });

  it("allowed from the rule's peers only, on the container's port", async () => {
    await apply({ ingress: [fromWeb(80)] });
    expect(await probe("web-1", C1(), 80)).toBe(true);
    expect(await probe("other-1", C1(), 80)).toBe(false);
    // A rule for 80 opens the container's own address, not a published 8080.
    expect(await probe("web-1", lab.host("gw-1").ipv4, 8080)).toBe(false);
  });

  it("removing the rule cuts an open connection to it (revokeEstablished, the default), as for the host's own services", async () => {
    await apply({ ingress: [fromWeb(80)] });
    const conn = await LiveConnection.open(lab, "web-1", C1(), 80);
    try {
      expect(await conn.roundTrip()).toBe("ok");
      await apply({ ingress: [fromWeb(8080)] });
      expect(await conn.roundTrip()).toBe("timeout");
    } finally {
      conn.close();
    }
  });

  it("a Kubernetes node: another node's pods reach this node's pods only as its ingress rules allow (the pod network's CIDR)", async () => {
    await apply({ ingress: [] });
    expect(await probeFromGuest("p2", P1(), 8081)).toBe(false);
    await apply({ ingress: [{ protocol: "all", cidrs: [`${net}.192/26`] }] });
    expect(await probeFromGuest("p2", P1(), 8081)).toBe(true);
  });

  it("publishedPorts: false leaves it to other tools (open), as it leaves published ports", async () => {
    await apply({ ingress: [], containers: { ...LOCAL, publishedPorts: false } });
    expect(await probe("other-1", C1(), 80)).toBe(true);
  });

  it("the live forward chain jumps to the ingress rules for traffic into a local interface", async () => {
    await apply({ ingress: [fromWeb(80)] });
    const live = (await lab.exec("gw-1", "nft list chain inet nftsg forward")).stdout;
    expect(live).toContain('iifname != { "br-*", "cni0" } oifname { "br-*", "cni0" } jump published');
  });
});

describe("(b) a router: port forwards to another host and routed traffic", () => {
  it("traffic the host merely routes (no DNAT, not to a local container) is not touched, whatever its rules", async () => {
    await apply({ ingress: [], egress: HTTPS_ONLY });
    expect(await probe("other-1", L1(), 443)).toBe(true);
    expect(await probe("web-1", L1(), 443)).toBe(true);
    // ...nor is what the LAN host sends out through it (it is not a container).
    expect(await probeFromGuest("l1", lab.host("web-1").ipv4, 9000)).toBe(true);
  });

  it("a port forward on the host's own address follows its ingress rules, as in a cloud security group", async () => {
    const gw = lab.host("gw-1").ipv4;
    await apply({ ingress: [] });
    expect(await probe("web-1", gw, 8443)).toBe(false);
    await apply({ ingress: [fromWeb(8443)] });
    expect(await probe("web-1", gw, 8443)).toBe(true);
    expect(await probe("other-1", gw, 8443)).toBe(false);
    // A rule for the LAN host's own port does not open the forward.
    await apply({ ingress: [fromWeb(443)] });
    expect(await probe("web-1", gw, 8443)).toBe(false);
  });
});

describe("(a) a Kubernetes-style node whose groups restrict egress", () => {
  it("pod traffic off the node follows the egress rules, on the address after DNAT (a ClusterIP is never seen)", async () => {
    await apply({ egress: HTTPS_ONLY });
    expect(await probeFromGuest("p1", CLUSTER_IP(), 53)).toBe(false);
    expect(await probeFromGuest("p1", P2(), 53)).toBe(false);
    // A rule for the ClusterIP matches nothing: the packet leaves with the pod's address.
    await apply({ egress: [...HTTPS_ONLY, tcpTo(53, `${CLUSTER_IP()}/32`)] });
    expect(await probeFromGuest("p1", CLUSTER_IP(), 53)).toBe(false);
  });

  it("an egress rule for the pod network opens pod-to-pod and ClusterIP traffic", async () => {
    await apply({ egress: [...HTTPS_ONLY, tcpTo(53, `${net}.192/26`)] });
    expect(await probeFromGuest("p1", CLUSTER_IP(), 53)).toBe(true);
    expect(await probeFromGuest("p1", P2(), 53)).toBe(true);
  });

  it("containers.egress: false leaves pod egress open while the node stays restricted; pods on the node reach each other", async () => {
    await apply({ egress: HTTPS_ONLY, containers: { ...LOCAL, egress: false } });
    expect(await probeFromGuest("p1", CLUSTER_IP(), 53)).toBe(true);
    expect(await probe("gw-1", lab.host("web-1").ipv4, 9000)).toBe(false);
    await apply({ egress: HTTPS_ONLY });
    expect(await probeFromGuest("p1", C1(), 80)).toBe(true);
  });
});
