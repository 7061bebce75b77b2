// The container paths of the compiler (provider/compiler/containers.ts):
// published ports follow the ingress rules matched on the port the client
// connected to, container egress follows the egress rules, container
// interfaces are local. Real packets: test/lab-containers.test.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileFleet } from "../../provider/compiler/compile";
import type { ContainersDeclaration, FleetDeclaration } from "../../provider/declaration/declaration";
import { validateFleet } from "../../provider/declaration/validate";
import { CONTAINER_INTERFACES_DEFAULT } from "../../provider/vocabulary/containers";
import { generateFleet } from "../support/fleetGen";

/** Statements of one chain of a script, without indentation and comments; null if absent. */
function chain(script: string, name: string): string[] | null {
  const m = new RegExp(`\\tchain ${name} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(script);
  return m ? m[1]!.split("\n").map((l) => l.trim().replace(/ comment "[^"]*"$/, "")) : null;
}

const db = (containers?: ContainersDeclaration, egress = true): FleetDeclaration => ({
  ...(containers ? { containers } : {}),
  securityGroups: [
    {
      name: "db",
      ingress: [
        { protocol: "tcp", ports: 5432, securityGroups: ["web"] },
        { protocol: "tcp", ports: "8000-8100", cidrs: ["10.0.0.0/8"] },
        { protocol: "udp", ports: [53, 5353], cidrs: ["0.0.0.0/0"] },
        { protocol: "tcp", cidrs: ["192.0.2.0/24"] },
        { protocol: "icmp", icmpType: 8, cidrs: ["0.0.0.0/0"] },
        { protocol: "all", cidrs: ["2001:db8:1::/48"] },
      ],
      egress: egress ? [{ protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0"] }] : [],
    },
    { name: "web" },
  ],
  hosts: [
    { name: "db-1", connection: { host: "198.18.0.21" }, securityGroups: ["db"] },
    { name: "web-1", connection: { host: "198.18.0.11" }, securityGroups: ["web"] },
  ],
});

const DEFAULT_IFACES = `{ ${CONTAINER_INTERFACES_DEFAULT.map((i) => `"${i}"`).join(", ")} }`;

describe("published ports", () => {
  const script = compileFleet(db())["db-1"]!.script;

  it.each([
    ["one port", "ip saddr @sg_web_v4 meta l4proto tcp ct original proto-dst 5432 accept"],
    ["a range", "ip saddr @peers_v4_29a4ab09fd9a meta l4proto tcp ct original proto-dst 8000-8100 accept"],
    ["a port list (set)", "ip saddr @any_v4 meta l4proto udp ct original proto-dst @ports_53_5353 accept"],
    ["all ports", "ip saddr @peers_v4_0b5c3d0c0a0f meta l4proto tcp accept"],
    ["icmp", "ip saddr @any_v4 icmp type echo-request accept"],
    ["all protocols", "ip6 saddr @peers_v6_7a2f2d2b8b3c accept"],
  ])("%s: matched on the port the client connected to", (_what, statement) => {
    const published = chain(script, "published")!;
    // Set names are content hashes: compare with the digest-free form.
    const norm = (s: string) => s.replace(/@peers_v([46])_[0-9a-f]{12}/, "@peers_v$1_X");
    expect(published.map(norm)).toContain(norm(statement));
  });

  it("the published chain is exactly the ingress rules with the published port, then drop", () => {
    const ingress = chain(script, "ingress")!.filter((s) => s.includes("@") && !s.includes("failsafe"));
    const published = chain(script, "published")!;
    expect(published[0]).toBe("ct state invalid drop");
    expect(published.at(-1)).toBe("drop");
    const translated = ingress.map((s) => s.replace(/\b(tcp|udp|sctp) dport /, "meta l4proto $1 ct original proto-dst "));
    expect(published.slice(1, -1)).toEqual(translated);
  });

  it("the forward chain: policy accept, replies, then DNATed traffic from outside the container interfaces, then traffic from outside routed into them (item 11c)", () => {
    expect(chain(script, "forward")).toEqual([
      "type filter hook forward priority filter; policy accept;",
      "ct state established ct direction reply accept",
      "ct state related accept",
      `ct status dnat iifname != ${DEFAULT_IFACES} jump published`,
      `iifname != ${DEFAULT_IFACES} oifname ${DEFAULT_IFACES} jump published`,
      `iifname ${DEFAULT_IFACES} oifname != ${DEFAULT_IFACES} jump container_egress`,
    ]);
  });

  it("the lines say what the forward chain filters: DNAT wherever it goes, and routed connections to local containers", () => {
    const lines = compileFleet(db())["db-1"]!.lines.filter((l) => l.startsWith("forward "));
    expect(lines).toEqual([
      "forward connections from outside that this host DNATs (published ports, port forwards) follow the ingress rules, matched on the port the client connected to [containers]",
      "forward connections from outside to local containers' own addresses (routed, no DNAT) follow the ingress rules [containers]",
      "forward container egress follows the egress rules [containers]",
    ]);
    expect(compileFleet(db({ publishedPorts: false }))["db-1"]!.lines).toContain(
      "forward published ports, port forwards and connections to local containers' own addresses not filtered [containers.publishedPorts: false]",
    );
  });

  it("revokeEstablished: false accepts every established packet in forward too", () => {
    const keep = compileFleet({ ...db(), revokeEstablished: false })["db-1"]!.script;
    expect(chain(keep, "forward")!.slice(1, 2)).toEqual(["ct state established,related accept"]);
  });
});

describe("container egress and local interfaces", () => {
  it("container egress repeats the egress rules, then drops", () => {
    const script = compileFleet(db())["db-1"]!.script;
    const egressRules = chain(script, "egress")!.filter((s) => s.includes(" daddr @"));
    expect(chain(script, "container_egress")).toEqual(["ct state invalid drop", ...egressRules, "drop"]);
  });

  it.each<[string, ContainersDeclaration | undefined, boolean, { published: boolean; egress: boolean; local: boolean }]>([
    ["defaults, egress restricted", undefined, true, { published: true, egress: true, local: true }],
    ["defaults, egress open: containers' egress open too", undefined, false, { published: true, egress: false, local: true }],
    ["publishedPorts: false", { publishedPorts: false }, true, { published: false, egress: true, local: true }],
    ["egress: false", { egress: false }, true, { published: true, egress: false, local: true }],
    ["no container interfaces", { interfaces: [] }, true, { published: true, egress: false, local: false }],
  ])("%s", (_name, containers, egress, want) => {
    const r = compileFleet(db(containers, egress))["db-1"]!;
    expect(chain(r.script, "published") !== null).toBe(want.published);
    expect(chain(r.script, "container_egress") !== null).toBe(want.egress);
    expect(chain(r.script, "ingress")!.some((s) => s.startsWith("iifname {"))).toBe(want.local);
    if (egress) expect(chain(r.script, "egress")!.some((s) => s.startsWith("oifname {"))).toBe(want.local);
    expect(chain(r.script, "forward") !== null).toBe(want.published || want.egress);
    expect(r.lines.filter((l) => l.includes("[containers")).length).toBeGreaterThan(0);
  });

  it("without container interfaces, every DNATed forwarded connection is filtered", () => {
    const script = compileFleet(db({ interfaces: [] }))["db-1"]!.script;
    expect(chain(script, "forward")).toContain("ct status dnat jump published");
  });

  it("interfaces are sorted and de-duplicated; declaration order does not matter", () => {
    const a = compileFleet(db({ interfaces: ["virbr0", "docker0", "br-*", "docker0"] }))["db-1"]!;
    const b = compileFleet(db({ interfaces: ["br-*", "virbr0", "docker0"] }))["db-1"]!;
    expect(a.script).toBe(b.script);
    expect(chain(a.script, "ingress")).toContain('iifname { "br-*", "docker0", "virbr0" } accept');
  });

  it("one interface is written as nft lists it (no braces), so the read-back of an apply matches", () => {
    const script = compileFleet(db({ interfaces: ["docker0"] }))["db-1"]!.script;
    expect(chain(script, "ingress")).toContain('iifname "docker0" accept');
    expect(chain(script, "egress")).toContain('oifname "docker0" accept');
    expect(chain(script, "forward")).toContain('ct status dnat iifname != "docker0" jump published');
    expect(chain(script, "forward")).toContain('iifname "docker0" oifname != "docker0" jump container_egress');
  });

  it("everything off leaves the script as it was before container support (no forward hook)", () => {
    const script = compileFleet(db({ publishedPorts: false, interfaces: [] }))["db-1"]!.script;
    expect(script).not.toMatch(/forward|published|ifname|ct original/);
  });

  it("property: for any fleet, published = ingress with the published port, container egress = egress", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
        const fleet = generateFleet({ seed, hosts: 6, groups: 4, rules: 20, cidrs: 40, egressShare: 0.3 });
        for (const r of Object.values(compileFleet(fleet))) {
          if (r.script === "") continue;
          const groupRule = (s: string) => s.includes("@") && !s.includes("failsafe");
          const ingress = chain(r.script, "ingress")!.filter(groupRule);
          const published = chain(r.script, "published")!;
          expect(published.slice(1, -1)).toEqual(ingress.map((s) => s.replace(/\b(tcp|udp|sctp) dport /, "meta l4proto $1 ct original proto-dst ")));
          const egress = chain(r.script, "egress")!;
          const containerEgress = chain(r.script, "container_egress");
          if (egress[0]!.includes("policy accept")) expect(containerEgress).toBeNull();
          else expect(containerEgress!.slice(1, -1)).toEqual(egress.filter(groupRule));
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe("local interface patterns (item 10)", () => {
  const issues = (interfaces: string[]) => {
    const r = validateFleet({ ...db(), containers: { interfaces } });
    return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
  };

  it("the defaults are bridges and veths of local guests only: weave, which bridges other hosts' containers, is not one", () => {
    expect(CONTAINER_INTERFACES_DEFAULT).not.toContain("weave");
    expect(issues([...CONTAINER_INTERFACES_DEFAULT])).toEqual([]);
  });

  it.each(["br-*", "docker0", "veth*", "tap*", "vnet*", "lxc*", "cali*", "cni0", "virbr0", "weave", "podman1", "dkr-*", "kube-bridge"])(
    "%s is accepted",
    (p) => expect(issues([p])).toEqual([]),
  );

  it.each(["*", "e*", "en*", "lo", "lo*", "eth*", "eth0", "ens*", "enp*", "eno1", "wl*", "wlan*", "wlp*", "ww*", "wwan*", "bond*", "bond0", "team*", "vlan*", "br*", "br0", "bri*", "bridge*", "vmbr*", "ovs*", "wg*", "wg0", "tun*", "ppp*", "flannel*", "vxlan*", "tunl*"])(
    "%s is refused at containers.interfaces[0]",
    (p) => expect(issues([p]).filter((i) => i.startsWith("containers.interfaces[0]: "))).toHaveLength(1),
  );
});
