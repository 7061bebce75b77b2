// Other firewalls next to nftsg's table (provider/otherFirewalls/analysis.ts),
// on rulesets printed by the real nft: our compiled table plus the tables
// and chains that Docker, ufw, firewalld, fail2ban and plain iptables make,
// loaded into a scratch network namespace and read as `nft -j list ruleset`.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyseOtherFirewalls } from "../../provider/otherFirewalls/analysis";
import { compileFleet } from "../../provider/compiler/compile";
import type { FleetDeclaration } from "../../provider/declaration/declaration";

const NETNS = `nftsg-cx-${randomBytes(4).toString("hex")}`;
const run = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
const inNs = (cmd: string, args: string[], input?: string) => run("ip", ["netns", "exec", NETNS, cmd, ...args], input);

const decl: FleetDeclaration = {
  securityGroups: [
    { name: "web" },
    {
      name: "db",
      ingress: [
        { protocol: "tcp", ports: 5432, securityGroups: ["web"], description: "postgres from web" },
        { protocol: "udp", ports: "6000-6010", cidrs: ["198.18.0.0/15"], description: "metrics" },
        { protocol: "icmp", cidrs: ["0.0.0.0/0"] },
      ],
    },
  ],
  hosts: [
    { name: "db-1", connection: { host: "198.18.0.21", port: 2222 }, securityGroups: ["db"] },
    { name: "web-1", connection: { host: "198.18.0.11" }, securityGroups: ["web"] },
  ],
};
const OURS = compileFleet(decl)["db-1"]!.script;

/** Other software's rules, as its own commands would create them. */
const iptables = (...lines: string[][]) => () => lines.forEach((l) => inNs("iptables", l));
const nftTable = (text: string) => () => inNs("nft", ["-f", "-"], text);

const FIREWALLD = `table inet firewalld {
  chain filter_INPUT { type filter hook input priority filter + 10; policy accept;
    ct state established,related accept
    iifname "lo" accept
    jump filter_INPUT_ZONES
    reject with icmpx admin-prohibited; }
  chain filter_INPUT_ZONES { tcp dport { 22, 2222 } accept; }
}`;
const FAIL2BAN = `table inet f2b-table {
  set addr-set-sshd { type ipv4_addr; elements = { 192.0.2.1 }; }
  chain f2b-chain { type filter hook input priority filter - 1; policy accept;
    tcp dport 2222 ip saddr @addr-set-sshd reject; }
}`;
const EXTRA_PORT = `table inet tools { chain input { type filter hook input priority filter; policy accept; tcp dport { 5432, 8080-8081 } accept; }; }`;

const cases: [string, () => void, { chains: RegExp[]; warnings: RegExp[] }][] = [
  ["nothing else on the host", () => undefined, { chains: [], warnings: [] }],
  [
    "ufw-style iptables INPUT with policy drop that allows only SSH",
    iptables(["-N", "ufw-user-input"], ["-P", "INPUT", "DROP"], ["-A", "INPUT", "-j", "ufw-user-input"], ["-A", "ufw-user-input", "-p", "tcp", "--dport", "2222", "-j", "ACCEPT"]),
    {
      chains: [/^ip filter INPUT: filter hook input priority filter \(0\) policy drop, 1 rule \[ufw\]$/],
      warnings: [
        /^ip filter INPUT \(ufw\) drops tcp\/5432, which nftsg allows \(db: postgres from web\): its policy drop;/,
        /^ip filter INPUT \(ufw\) drops udp\/6000-6010, which nftsg allows \(db: metrics\): its policy drop;/,
      ],
    },
  ],
  [
    "firewalld: a final reject after the zones",
    nftTable(FIREWALLD),
    {
      chains: [/^inet firewalld filter_INPUT: filter hook input priority 10 policy accept, 4 rules \[firewalld\]$/],
      warnings: [
        /^inet firewalld filter_INPUT \(firewalld\) drops tcp\/5432, .*: its rule in inet firewalld filter_INPUT;/,
        /drops udp\/6000-6010/,
        // The host's SSH is on 2222 (the failsafe); firewalld's 22 is closed by nftsg.
        /^inet firewalld filter_INPUT \(firewalld\) accepts tcp\/22, which nftsg drops/,
      ],
    },
  ],
  ["fail2ban: a ban on some sources is not a contradiction", nftTable(FAIL2BAN), { chains: [/^inet f2b-table f2b-chain: .* \[fail2ban\]$/], warnings: [] }],
  [
    "another tool accepts ports nftsg drops",
    nftTable(EXTRA_PORT),
    { chains: [/^inet tools input: /], warnings: [/^inet tools input accepts tcp\/8080-8081, which nftsg drops: another table's accept cannot override/] },
  ],
  [
    "Docker's forward chain (policy drop) is listed, not a contradiction",
    iptables(["-N", "DOCKER"], ["-N", "DOCKER-USER"], ["-P", "FORWARD", "DROP"], ["-A", "FORWARD", "-j", "DOCKER-USER"], ["-A", "FORWARD", "-o", "docker0", "-j", "DOCKER"]),
    { chains: [/^ip filter FORWARD: filter hook forward priority filter \(0\) policy drop, 2 rules \[docker\]$/], warnings: [] },
  ],
];

beforeAll(() => run("ip", ["netns", "add", NETNS]));
afterAll(() => run("ip", ["netns", "del", NETNS]));

describe("other firewalls on the host (real nft rulesets)", () => {
  it.each(cases)("%s", (_name, setup, want) => {
    inNs("nft", ["flush", "ruleset"]);
    inNs("nft", ["-f", "-"], OURS);
    setup();
    const report = analyseOtherFirewalls(inNs("nft", ["-j", "list", "ruleset"]), "nftsg");
    expect(report.chains, report.chains.join("\n")).toHaveLength(want.chains.length);
    for (const c of want.chains) expect(report.chains.some((l) => c.test(l)), `${c} in\n${report.chains.join("\n")}`).toBe(true);
    expect(report.warnings, report.warnings.join("\n")).toHaveLength(want.warnings.length);
    for (const w of want.warnings) expect(report.warnings.some((l) => w.test(l)), `${w} in\n${report.warnings.join("\n")}`).toBe(true);
  });

  it("an all-protocols group rule admits every port: another tool's accept is no contradiction", () => {
    inNs("nft", ["flush", "ruleset"]);
    const all: FleetDeclaration = { ...decl, securityGroups: [{ name: "web" }, { name: "db", ingress: [{ protocol: "all", securityGroups: ["web"] }] }] };
    inNs("nft", ["-f", "-"], compileFleet(all)["db-1"]!.script);
    inNs("nft", ["-f", "-"], EXTRA_PORT);
    expect(analyseOtherFirewalls(inNs("nft", ["-j", "list", "ruleset"]), "nftsg").warnings).toEqual([]);
  });

  it("our own table is never reported, and the baseline is not a permission", () => {
    inNs("nft", ["flush", "ruleset"]);
    inNs("nft", ["-f", "-"], OURS);
    // A table that drops everything at input: only our permissions are named.
    inNs("nft", ["-f", "-"], "table inet wall { chain input { type filter hook input priority filter; policy drop; }; }");
    const report = analyseOtherFirewalls(inNs("nft", ["-j", "list", "ruleset"]), "nftsg");
    expect(report.chains).toEqual(["inet wall input: filter hook input priority filter (0) policy drop, 0 rules"]);
    expect(report.warnings.map((w) => w.replace(/,.*$/, ""))).toEqual([
      "inet wall input drops tcp/2222",
      "inet wall input drops tcp/5432",
      "inet wall input drops udp/6000-6010",
    ]);
  });

  const link = (ifname: string, ...addrs: string[]) => ({ ifname, addr_info: addrs.map((local) => ({ local })) });
  it.each<[string, unknown[], unknown[], RegExp[]]>([
    [
      "an uplink named like a Docker network (OpenWrt's br-lan) carries the default route",
      [link("br-lan", "198.18.0.21"), link("docker0", "172.17.0.1")],
      [{ dst: "default", gateway: "198.18.0.1", dev: "br-lan" }],
      [/^interface br-lan carries the default route and 198\.18\.0\.21, the address nftsg connects to but matches the container interface pattern "br-\*": everything arriving on it is accepted/],
    ],
    [
      "the address nftsg connects to is on a matching interface",
      [link("eth0", "192.0.2.5"), link("virbr0", "198.18.0.21")],
      [{ dst: "default", gateway: "192.0.2.1", dev: "eth0" }],
      [/^interface virbr0 carries 198\.18\.0\.21, the address nftsg connects to but matches the container interface pattern "virbr\*"/],
    ],
    ["uplink eth0 and container bridges elsewhere: nothing to say", [link("eth0", "198.18.0.21"), link("docker0", "172.17.0.1"), link("br-0a1b2c3d4e5f", "172.18.0.1")], [{ dst: "default", dev: "eth0" }], []],
  ])("%s", (_name, addresses, routes, want) => {
    inNs("nft", ["flush", "ruleset"]);
    inNs("nft", ["-f", "-"], OURS);
    const report = analyseOtherFirewalls(inNs("nft", ["-j", "list", "ruleset"]), "nftsg", "inet", {
      addresses: JSON.stringify(addresses),
      routes: `${JSON.stringify(routes)}\n[]`,
      connectAddress: "198.18.0.21",
    });
    expect(report.warnings, report.warnings.join("\n")).toHaveLength(want.length);
    want.forEach((w, i) => expect(report.warnings[i]).toMatch(w));
  });
});
