// A corpus of invalid fleet declarations, each breaking exactly one thing,
// with the path of the field and a fragment of the message expected. Used by
// the validator's tests and by the provider's check tests (bad input fails
// at preview with the path of the offending field).
import type { FleetDeclaration } from "../../provider/declaration/declaration";
import { multistackBadCases } from "./multistackCases";

/** A small valid fleet; each bad case below breaks exactly one thing. */
export function base(): FleetDeclaration {
  return {
    securityGroups: [
      { name: "web", ingress: [{ protocol: "tcp", ports: [80, 443], cidrs: ["0.0.0.0/0", "::/0"] }], egress: [] },
      { name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["web"] }] },
    ],
    hosts: [
      { name: "web-1", connection: { host: "198.18.0.11" }, securityGroups: ["web"] },
      { name: "db-1", connection: { host: "198.18.0.21", port: 22 }, securityGroups: ["db"] },
    ],
  };
}

// Loosely typed access for building invalid declarations.
export type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any
export const web = (d: Any) => d.securityGroups[0];
export const webRule = (d: Any) => d.securityGroups[0].ingress[0];
export const dbRule = (d: Any) => d.securityGroups[1].ingress[0];
export const host0 = (d: Any) => d.hosts[0];

const R = "securityGroups[0].ingress[0]";

export const badCases: [string, (d: Any) => void, string, string][] = [
  // Address lists and remote groups (docs/multistack.md).
  ...multistackBadCases,
  ["group name with capitals", (d) => (web(d).name = "Web"), "securityGroups[0].name", 'group name "Web" is invalid'],
  ["group name too long", (d) => (d.securityGroups[1].name = `d${"b".repeat(41)}`), "securityGroups[1].name", "use 1-41 characters"],
  ["group name starting with a digit", (d) => (d.securityGroups[1].name = "1db"), "securityGroups[1].name", "starting with a letter"],
  ["duplicate group name", (d) => (d.securityGroups[1].name = "web"), "securityGroups[1].name", 'duplicate security group name "web" (already declared at securityGroups[0])'],
  ["duplicate host name", (d) => (d.hosts[1].name = "web-1"), "hosts[1].name", 'duplicate host name "web-1" (already declared at hosts[0])'],
  ["host name with a space", (d) => (host0(d).name = "web 1"), "hosts[0].name", 'host name "web 1" is invalid'],
  ["unknown group attached to a host", (d) => (host0(d).securityGroups = ["wbe"]), "hosts[0].securityGroups[0]", 'unknown security group "wbe"; did you mean "web"? (declared: db, web)'],
  ["unknown peer group", (d) => (dbRule(d).securityGroups = ["webb"]), "securityGroups[1].ingress[0].securityGroups[0]", 'unknown security group "webb"; did you mean "web"?'],
  ["unknown peer group in an egress rule", (d) => (web(d).egress = [{ protocol: "udp", ports: 53, securityGroups: ["dns"] }]), "securityGroups[0].egress[0].securityGroups[0]", 'unknown security group "dns"'],
  ["CIDR with host bits", (d) => (webRule(d).cidrs = ["10.0.0.1/8"]), `${R}.cidrs[0]`, "CIDR 10.0.0.1/8 has host bits set; use 10.0.0.0/8"],
  ["IPv6 CIDR with host bits", (d) => (webRule(d).cidrs = ["::/0", "2001:db8::1/32"]), `${R}.cidrs[1]`, "CIDR 2001:db8::1/32 has host bits set; use 2001:db8::/32"],
  ["malformed CIDR address", (d) => (webRule(d).cidrs = ["10.0.0.256/24"]), `${R}.cidrs[0]`, '"10.0.0.256" in CIDR 10.0.0.256/24 is not a valid IPv4 or IPv6 address'],
  ["prefix length too long", (d) => (webRule(d).cidrs = ["10.0.0.0/33"]), `${R}.cidrs[0]`, "IPv4 prefix lengths are 0-32"],
  ["CIDR with a zone id", (d) => (webRule(d).cidrs = ["fe80::%eth0/64"]), `${R}.cidrs[0]`, "zone id"],
  ["CIDR that is not a string", (d) => (webRule(d).cidrs = [10]), `${R}.cidrs[0]`, "expected string, got number"],
  ["icmp with only IPv6 peers", (d) => Object.assign(webRule(d), { protocol: "icmp", ports: undefined, cidrs: ["::/0", "2001:db8::/32"] }), `${R}.cidrs`, "protocol icmp (ICMPv4) only matches IPv4 peers, but every CIDR here is IPv6 (::/0, 2001:db8::/32); use protocol icmpv6"],
  ["icmpv6 with only IPv4 peers", (d) => Object.assign(webRule(d), { protocol: "icmpv6", ports: undefined, cidrs: ["10.0.0.0/8"] }), `${R}.cidrs`, "protocol icmpv6 only matches IPv6 peers, but every CIDR here is IPv4 (10.0.0.0/8)"],
  ["port 0", (d) => (webRule(d).ports = [0, 80]), `${R}.ports[0]`, "port 0 is outside 1-65535"],
  ["port 65536", (d) => (webRule(d).ports = 65536), `${R}.ports`, "port 65536 is outside 1-65535"],
  ["port range upper bound too high", (d) => (webRule(d).ports = ["60000-70000"]), `${R}.ports[0]`, 'port 70000 is outside 1-65535 (in "60000-70000")'],
  ["reversed port range", (d) => (webRule(d).ports = [80, "8100-8000"]), `${R}.ports[1]`, 'port range 8100-8000 is reversed; write "8000-8100"'],
  ["port by service name", (d) => (webRule(d).ports = "http"), `${R}.ports`, '"http" is not a port or port range'],
  ["fractional port", (d) => (webRule(d).ports = 80.5), `${R}.ports`, "port 80.5 is not an integer"],
  ["empty port list", (d) => (webRule(d).ports = []), `${R}.ports`, "is an empty list; omit ports to allow all ports"],
  ["ports of the wrong type", (d) => (webRule(d).ports = true), `${R}.ports`, 'expected a port (22), a port range ("8000-8100") or a list of them'],
  ["ports on icmp", (d) => Object.assign(webRule(d), { protocol: "icmp", cidrs: ["0.0.0.0/0"] }), `${R}.ports`, "ports apply only to tcp, udp and sctp; remove ports from this icmp rule"],
  ["ports on all", (d) => (webRule(d).protocol = "all"), `${R}.ports`, "remove ports from this all rule"],
  ["ports on esp", (d) => (webRule(d).protocol = "esp"), `${R}.ports`, "remove ports from this esp rule"],
  ["icmp type on tcp", (d) => (webRule(d).icmpType = 8), `${R}.icmpType`, "icmpType applies only to icmp and icmpv6; remove it from this tcp rule"],
  ["icmp code on udp", (d) => Object.assign(webRule(d), { protocol: "udp", icmpCode: 0 }), `${R}.icmpCode`, "icmpCode applies only to icmp and icmpv6"],
  ["icmp code without type", (d) => Object.assign(webRule(d), { protocol: "icmp", ports: undefined, cidrs: ["0.0.0.0/0"], icmpCode: 3 }), `${R}.icmpCode`, "icmpCode needs icmpType"],
  ["icmp type above 255", (d) => Object.assign(webRule(d), { protocol: "icmp", ports: undefined, cidrs: ["0.0.0.0/0"], icmpType: 256 }), `${R}.icmpType`, "is above the allowed range 0-255"],
  ["icmp type not an integer", (d) => Object.assign(webRule(d), { protocol: "icmpv6", ports: undefined, cidrs: ["::/0"], icmpType: 1.5 }), `${R}.icmpType`, "must be an integer in 0-255"],
  ["rule without peers", (d) => delete webRule(d).cidrs, R, 'rule has no peers; set cidrs (["0.0.0.0/0", "::/0"] for anywhere) and/or securityGroups'],
  ["rule with empty peer lists", (d) => Object.assign(webRule(d), { cidrs: [], securityGroups: [] }), R, "rule has no peers"],
  ["unknown protocol", (d) => (webRule(d).protocol = "tcpp"), `${R}.protocol`, '"tcpp" is not supported; use one of tcp, udp, icmp, icmpv6, all, sctp, esp, ah, gre'],
  ["misspelt field in a rule", (d) => (webRule(d).port = 22), `${R}.port`, 'unknown field "port"; did you mean "ports"?'],
  ["unknown top-level field", (d) => (d.groups = []), "groups", 'unknown field "groups"'],
  ["missing hosts", (d) => delete d.hosts, "hosts", "is required (expected array)"],
  ["securityGroups not a list", (d) => (d.securityGroups = {}), "securityGroups", "expected array, got object"],
  ["host without connection", (d) => delete host0(d).connection, "hosts[0].connection", "is required"],
  ["host without securityGroups", (d) => delete host0(d).securityGroups, "hosts[0].securityGroups", "is required (expected array)"],
  ["SSH port out of range", (d) => (d.hosts[1].connection.port = 70000), "hosts[1].connection.port", "is above the allowed range 1-65535"],
  ["SSH port not an integer", (d) => (d.hosts[1].connection.port = 22.5), "hosts[1].connection.port", "must be an integer in 1-65535"],
  ["empty connection host", (d) => (host0(d).connection.host = ""), "hosts[0].connection.host", "is empty; set the SSH host name or IP address"],
  ["bad IPv4 connection host", (d) => (host0(d).connection.host = "198.18.0.300"), "hosts[0].connection.host", '"198.18.0.300" is not a valid IPv4 address'],
  ["bracketed IPv6 connection host", (d) => (host0(d).connection.host = "[2001:db8::1]"), "hosts[0].connection.host", "write IPv6 addresses without brackets (2001:db8::1)"],
  ["connection host with spaces", (d) => (host0(d).connection.host = "web 1.example"), "hosts[0].connection.host", "is neither an IP address nor a valid DNS host name"],
  ["misspelt connection field", (d) => (host0(d).connection.hostname = "x"), "hosts[0].connection.hostname", 'unknown field "hostname"; did you mean "host"?'],
  ["host address that is a name", (d) => (host0(d).addresses = ["web-1.local"]), "hosts[0].addresses[0]", '"web-1.local" is not a valid IPv4 or IPv6 address'],
  ["host address that is a prefix", (d) => (host0(d).addresses = ["198.18.0.0/24"]), "hosts[0].addresses[0]", '"198.18.0.0/24" is a prefix; addresses are single IPs (e.g. 198.18.0.0)'],
  ["empty address list", (d) => (host0(d).addresses = []), "hosts[0].addresses", "is empty; omit it to default to connection.host"],
  [
    "member of a peer group with no usable address",
    (d) => (host0(d).connection.host = "web-1.example.com"),
    "hosts[0].addresses",
    'host "web-1" has no usable address, but it is a member of group "web", which securityGroups[1].ingress[0] uses as a peer; connection.host "web-1.example.com" is not an IP address other hosts can see it by, so set addresses',
  ],
  ["table name that is an nft keyword", (d) => (d.table = "counter"), "table", 'table name "counter" is an nft keyword; choose another, e.g. "nftsg_counter"'],
  ["IPv4-only failsafe on a host managed over IPv6", (d) => { d.failsafe = { cidrs: ["198.18.0.0/15"] }; host0(d).connection.host = "2001:db8::11"; }, "hosts[0].connection.host", 'host "web-1" is managed over IPv6 (2001:db8::11), but failsafe.cidrs has only IPv4 prefixes'],
  ["IPv6-only failsafe on a host managed over IPv4", (d) => (d.failsafe = { cidrs: ["2001:db8::/32"] }), "hosts[0].connection.host", "failsafe.cidrs has only IPv6 prefixes, so its failsafe would not cover this connection"],
  ["failsafe port with the failsafe off", (d) => (d.failsafe = { ssh: false, port: 22 }), "failsafe.port", "has no effect when failsafe.ssh is false"],
  ["failsafe port out of range", (d) => (d.failsafe = { port: 70000 }), "failsafe.port", "is above the allowed range 1-65535"],
  ["the same address on two hosts", (d) => (d.hosts[1].addresses = ["198.18.0.11"]), "hosts[1].addresses", `address 198.18.0.11 is also host "web-1"'s (hosts[0]); each address may belong to one host only`],
  ["a loopback host address", (d) => (host0(d).addresses = ["127.0.0.1"]), "hosts[0].addresses[0]", '"127.0.0.1" is loopback (127.0.0.0/8)'],
  ["the unspecified host address", (d) => (host0(d).addresses = ["::"]), "hosts[0].addresses[0]", '"::" is unspecified (::)'],
  ["a link-local host address", (d) => (host0(d).addresses = ["fe80::1"]), "hosts[0].addresses[0]", '"fe80::1" is link-local (fe80::/10)'],
  ["a multicast host address", (d) => (host0(d).addresses = ["224.0.0.1"]), "hosts[0].addresses[0]", '"224.0.0.1" is multicast (224.0.0.0/4)'],
  ["an IPv4-mapped host address", (d) => (host0(d).addresses = ["::ffff:198.18.0.11"]), "hosts[0].addresses[0]", "is IPv4-mapped (::ffff:0:0/96): IPv4-mapped IPv6 addresses never appear on the wire"],
  ["a loopback CIDR", (d) => (webRule(d).cidrs = ["127.0.0.0/8"]), `${R}.cidrs[0]`, "CIDR 127.0.0.0/8 is loopback (127.0.0.0/8)"],
  ["the unspecified address as a CIDR", (d) => (webRule(d).cidrs = ["0.0.0.0"]), `${R}.cidrs[0]`, "did you mean 0.0.0.0/0, anywhere?"],
  ["a link-local CIDR", (d) => (webRule(d).cidrs = ["fe80::/64"]), `${R}.cidrs[0]`, "CIDR fe80::/64 is link-local (fe80::/10)"],
  ["a multicast CIDR as an ingress source", (d) => (webRule(d).cidrs = ["224.0.0.0/24"]), `${R}.cidrs[0]`, "CIDR 224.0.0.0/24 is multicast (224.0.0.0/4): multicast addresses are never the source"],
  ["an IPv4-mapped CIDR", (d) => (webRule(d).cidrs = ["::ffff:198.18.0.0/112"]), `${R}.cidrs[0]`, "is IPv4-mapped (::ffff:0:0/96)"],
  ["icmp given ::/0 beside IPv4", (d) => Object.assign(webRule(d), { protocol: "icmp", ports: undefined, cidrs: ["0.0.0.0/0", "::/0"] }), `${R}.cidrs[1]`, "::/0 is an IPv6 prefix, but protocol icmp matches only IPv4 peers; it would match nothing: move it to a separate rule with protocol icmpv6"],
  ["icmpv6 given IPv4 beside IPv6", (d) => Object.assign(webRule(d), { protocol: "icmpv6", ports: undefined, cidrs: ["::/0", "10.0.0.0/8"] }), `${R}.cidrs[1]`, "10.0.0.0/8 is an IPv4 prefix, but protocol icmpv6 matches only IPv6 peers"],
  ["table name of the distributions' default ruleset", (d) => (d.table = "filter"), "table", 'table name "filter" is the table of the distributions\' default nftables.conf'],
  ["table name of firewalld", (d) => (d.table = "firewalld"), "table", 'table name "firewalld" is the table of firewalld; nftsg keeps a table of its own'],
  ["table name that is not an identifier", (d) => (d.table = "Bad-Name"), "table", 'table name "Bad-Name" is not a safe nft identifier'],
  ["table name too long", (d) => (d.table = "t".repeat(33)), "table", "use 1-32 characters"],
  ["empty failsafe cidrs", (d) => (d.failsafe = { cidrs: [] }), "failsafe.cidrs", "is empty; omit it to allow SSH from anywhere, or set failsafe.ssh: false"],
  ["failsafe cidrs with the failsafe off", (d) => (d.failsafe = { ssh: false, cidrs: ["10.0.0.0/8"] }), "failsafe.cidrs", "has no effect when failsafe.ssh is false"],
  ["bad failsafe CIDR", (d) => (d.failsafe = { cidrs: ["192.0.2.1/24"] }), "failsafe.cidrs[0]", "CIDR 192.0.2.1/24 has host bits set; use 192.0.2.0/24"],
  ["failsafe.ssh not a boolean", (d) => (d.failsafe = { ssh: "no" }), "failsafe.ssh", "expected boolean, got string"],
  ["description with a newline", (d) => (webRule(d).description = "line one\nline two"), `${R}.description`, "contains control characters"],
  ["description too long", (d) => (web(d).description = "x".repeat(300)), "securityGroups[0].description", "is too long; at most 256 characters"],
  ["declaration that is not an object", (d) => Object.keys(d).forEach((k) => delete d[k]), "hosts", "is required"],
  ["misspelt containers option", (d) => (d.containers = { publishedPort: false }), "containers.publishedPort", 'unknown field "publishedPort"; did you mean "publishedPorts"?'],
  ["container interface with a space", (d) => (d.containers = { interfaces: ["docker0", "br 1"] }), "containers.interfaces[1]", 'interface "br 1" is not a valid interface name or pattern'],
  ["container interface too long", (d) => (d.containers = { interfaces: ["a-very-long-bridge0"] }), "containers.interfaces[0]", "use 1-15 characters"],
  ["container interface pattern that matches everything", (d) => (d.containers = { interfaces: ["*"] }), "containers.interfaces[0]", 'optionally ending in "*" for a prefix'],
  // Too broad: a local interface is accepted like loopback, before every group rule (item 10).
  ["container interface pattern with a one-character prefix", (d) => (d.containers = { interfaces: ["e*"] }), "containers.interfaces[0]", 'pattern "e*" is too broad'],
  ["container interface pattern with a two-character prefix", (d) => (d.containers = { interfaces: ["docker0", "en*"] }), "containers.interfaces[1]", 'pattern "en*" is too broad'],
  ["loopback as a container interface", (d) => (d.containers = { interfaces: ["lo"] }), "containers.interfaces[0]", '"lo" is the loopback interface'],
  ["uplink prefix eth*", (d) => (d.containers = { interfaces: ["eth*"] }), "containers.interfaces[0]", 'pattern "eth*" is too broad: it matches uplink names like eth0'],
  ["uplink prefix br* without a dash", (d) => (d.containers = { interfaces: ["br*"] }), "containers.interfaces[0]", 'pattern "br*" is too broad: it matches uplink names like br0'],
  ["uplink prefix bond*", (d) => (d.containers = { interfaces: ["bond*"] }), "containers.interfaces[0]", "matches uplink names like bond0"],
  ["uplink prefix vlan*", (d) => (d.containers = { interfaces: ["vlan*"] }), "containers.interfaces[0]", "matches uplink names like vlan10"],
  ["uplink prefix wlp*", (d) => (d.containers = { interfaces: ["wlp*"] }), "containers.interfaces[0]", 'pattern "wlp*" is too broad'],
  ["uplink prefix wwan*", (d) => (d.containers = { interfaces: ["wwan*"] }), "containers.interfaces[0]", "matches uplink names like wwan0"],
  ["Proxmox uplink bridges vmbr*", (d) => (d.containers = { interfaces: ["vmbr*"] }), "containers.interfaces[0]", "matches uplink names like vmbr0"],
  ["an uplink by its name", (d) => (d.containers = { interfaces: ["eth0"] }), "containers.interfaces[0]", 'interface "eth0" is named like an uplink'],
  ["too broad: the message names the fix", (d) => (d.containers = { interfaces: ["eth*"] }), "containers.interfaces[0]", 'set containers.interfaces to the container and VM bridges only (e.g. "docker0", "br-*", "virbr*")'],
  ["container egress without container interfaces", (d) => (d.containers = { egress: true, interfaces: [] }), "containers.egress", "cannot restrict container egress without container interfaces"],
  ["containers.publishedPorts not a boolean", (d) => (d.containers = { publishedPorts: "no" }), "containers.publishedPorts", "expected boolean, got string"],
];

