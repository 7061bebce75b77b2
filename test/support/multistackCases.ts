// Invalid declarations of address lists and remote groups (docs/multistack.md),
// each breaking exactly one thing on badDeclarations.ts's base fleet, with the
// path of the field and a fragment of the message: part of the corpus that
// test/unit/validate.test.ts and test/unit/checkCorpus.test.ts run.
import { REMOTE_GROUPS_KEY, publishedGroups } from "../../provider/declaration/remoteGroups";

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const R = "securityGroups[0].ingress[0]";

/** A value a platform stack publishes: bastion (dual stack) and monitoring. */
export function platformPublished(): Any {
  return publishedGroups(
    [
      { name: "bastion-1", securityGroups: ["bastion"], connection: { host: "198.51.100.10" }, addresses: ["198.51.100.10", "2001:db8:5::10"] },
      { name: "mon-1", securityGroups: ["monitoring"], connection: { host: "198.51.100.20" } },
    ],
    ["bastion", "monitoring"],
    { stack: "organization/platform/prod", fleet: "platform" },
  );
}

/** Adds an address list "office" (IPv4 and IPv6) and names it in web's first rule. */
export function withOffice(d: Any, cidrs: string[] = ["203.0.113.0/24", "2001:db8:ff::/48"]): Any {
  d.addressLists = [{ name: "office", cidrs, description: "office networks" }];
  d.securityGroups[0].ingress[0].addressLists = ["office"];
  return d;
}

/** Stands for "no value" (a default parameter would replace undefined). */
export const MISSING = Symbol("missing");

/** Adds a remote group "bastion" from the platform's published value and names it in db's rule. */
export function withBastion(d: Any, source: unknown = platformPublished(), extra: Any = {}): Any {
  d.remoteGroups = [{ name: "bastion", source: source === MISSING ? undefined : source, ...extra }];
  d.securityGroups[1].ingress.push({ protocol: "tcp", ports: 22, securityGroups: ["bastion"], description: "ssh from the platform's bastion" });
  return d;
}

const icmpRule = (d: Any, protocol: "icmp" | "icmpv6", extra: Any = {}) =>
  Object.assign(d.securityGroups[0].ingress[0], { protocol, ports: undefined, cidrs: undefined, addressLists: ["office"], ...extra });

const SRC = "remoteGroups[0].source";

export const multistackBadCases: [string, (d: Any) => void, string, string][] = [
  // Address lists
  ["unknown address list", (d) => (withOffice(d).securityGroups[0].ingress[0].addressLists = ["offce"]), `${R}.addressLists[0]`, 'unknown address list "offce"; did you mean "office"? (declared: office)'],
  ["address list named but none declared", (d) => (d.securityGroups[0].ingress[0].addressLists = ["office"]), `${R}.addressLists[0]`, "no address lists are declared: declare it in addressLists: [{ name, cidrs }]"],
  ["empty address list", (d) => withOffice(d, []), "addressLists[0].cidrs", "is empty: an address list needs at least one CIDR"],
  ["overlapping address list entries", (d) => withOffice(d, ["203.0.113.0/24", "203.0.113.128/25"]), "addressLists[0].cidrs[1]", "203.0.113.128/25 overlaps 203.0.113.0/24 (cidrs[0]), which already holds it"],
  ["overlap found in any order", (d) => withOffice(d, ["2001:db8:ff:1::/64", "10.0.0.0/8", "2001:db8:ff::/48"]), "addressLists[0].cidrs[0]", "2001:db8:ff:1::/64 overlaps 2001:db8:ff::/48 (cidrs[2])"],
  ["address list entry listed twice", (d) => withOffice(d, ["203.0.113.0/24", "203.0.113.0/24"]), "addressLists[0].cidrs[1]", "203.0.113.0/24 is listed twice (also cidrs[0]); remove one"],
  ["address list CIDR with host bits", (d) => withOffice(d, ["203.0.113.1/24"]), "addressLists[0].cidrs[0]", "CIDR 203.0.113.1/24 has host bits set; use 203.0.113.0/24"],
  ["loopback in an address list", (d) => withOffice(d, ["127.0.0.0/8"]), "addressLists[0].cidrs[0]", "CIDR 127.0.0.0/8 is loopback"],
  ["address list name with capitals", (d) => (withOffice(d).addressLists[0].name = "Office"), "addressLists[0].name", 'address list name "Office" is invalid'],
  ["duplicate address list name", (d) => withOffice(d).addressLists.push({ name: "office", cidrs: ["192.0.2.0/24"] }), "addressLists[1].name", 'duplicate address list name "office" (already declared at addressLists[0])'],
  ["misspelt address list field", (d) => (withOffice(d).addressLists[0] = { name: "office", cidr: ["192.0.2.0/24"] }), "addressLists[0].cidr", 'unknown field "cidr"; did you mean "cidrs"?'],
  ["misspelt rule field addressList", (d) => (d.securityGroups[0].ingress[0].addressList = ["office"]), `${R}.addressList`, 'unknown field "addressList"; did you mean "addressLists"?'],
  ["icmp rule naming an IPv6-only list", (d) => icmpRule(withOffice(d, ["2001:db8:ff::/48"]), "icmp"), `${R}.addressLists[0]`, 'address list "office" holds only IPv6 prefixes, but protocol icmp matches only IPv4 peers: it would match nothing'],
  ["icmpv6 rule naming an IPv4-only list", (d) => icmpRule(withOffice(d, ["203.0.113.0/24"]), "icmpv6"), `${R}.addressLists[0]`, "holds only IPv4 prefixes, but protocol icmpv6 matches only IPv6 peers"],
  ["icmp rule with an IPv6 CIDR beside a list", (d) => icmpRule(withOffice(d), "icmp", { cidrs: ["2001:db8:1::/48"] }), `${R}.cidrs[0]`, "2001:db8:1::/48 is an IPv6 prefix, but protocol icmp matches only IPv4 peers"],
  ["multicast list in an ingress rule", (d) => withOffice(d, ["224.0.0.0/4"]), `${R}.addressLists[0]`, 'address list "office" holds multicast 224.0.0.0/4 (cidrs[0]), which is never the source of a packet'],
  ["policy test naming an unknown list", (d) => (withOffice(d).tests = [{ from: "list:ofice", to: "web-1", protocol: "tcp", port: 80, expect: "allow" }]), "tests[0].from", 'unknown address list "ofice"; did you mean "office"?'],
  ["policy test between a list and a CIDR", (d) => (withOffice(d).tests = [{ from: "list:office", to: "10.0.0.0/8", protocol: "tcp", port: 80, expect: "allow" }]), "tests[0].to", "are both outside the fleet"],
  // Remote groups: missing or malformed published values fail, never an empty group
  ["remote group without a published value", (d) => withBastion(d, MISSING), SRC, "no published value (got nothing): the publishing stack has no such output, or has not run `pulumi up`"],
  ["remote group whose value is null", (d) => withBastion(d, null), SRC, "no published value (got null)"],
  ["remote group: the fix is named", (d) => withBastion(d, MISSING), SRC, "or set allowEmpty: true to accept an empty group until it has"],
  ["remote group from a plain string", (d) => withBastion(d, "bastion"), SRC, 'expected the value a Fleet publishes (an object with "nftsg.dev/remote-groups" and groups), got a string'],
  ["remote group from JSON text", (d) => withBastion(d, JSON.stringify(platformPublished())), SRC, "it is JSON text: pass the parsed value"],
  ["remote group from the stack's outputs", (d) => withBastion(d, { published: platformPublished(), rulesets: {} }), SRC, 'is an object whose field "published" holds the published value'],
  ["remote group from an object of another shape", (d) => withBastion(d, { members: [] }), SRC, 'is not a published nftsg value: it has no "nftsg.dev/remote-groups" field (fields: members)'],
  ["remote group published in a newer format", (d) => withBastion(d, { ...platformPublished(), [REMOTE_GROUPS_KEY]: 2 }), `${SRC}["nftsg.dev/remote-groups"]`, "published in format 2 by a newer pulumi-nftsg; this version reads format 1: upgrade pulumi-nftsg"],
  ["remote group with a format that is not a number", (d) => withBastion(d, { ...platformPublished(), [REMOTE_GROUPS_KEY]: "1" }), `${SRC}["nftsg.dev/remote-groups"]`, "must be the format number 1"],
  ["remote group value without groups", (d) => withBastion(d, { [REMOTE_GROUPS_KEY]: 1 }), `${SRC}.groups`, "expected an object of published groups by name, got nothing"],
  ["remote group not published", (d) => withBastion(d, { ...platformPublished(), groups: { monitoring: platformPublished().groups.monitoring } }), "remoteGroups[0].name", 'has no group "bastion" (it publishes monitoring)'],
  ["remote group naming an unpublished group", (d) => withBastion(d, platformPublished(), { group: "bastions" }), "remoteGroups[0].group", 'has no group "bastions" (it publishes bastion, monitoring)'],
  ["remote group published without members", (d) => withBastion(d, { ...platformPublished(), groups: { bastion: { members: [] } } }), `${SRC}.groups.bastion.members`, 'the published group "bastion" (stack organization/platform/prod, Fleet platform) has no members; set allowEmpty: true'],
  ["remote group with members that are not a list", (d) => withBastion(d, { ...platformPublished(), groups: { bastion: { members: {} } } }), `${SRC}.groups.bastion.members`, "expected { members: [{ name, addresses }] }"],
  ["remote member with a bad address", (d) => withBastion(d, { ...platformPublished(), groups: { bastion: { members: [{ name: "b", addresses: ["198.51.100.300"] }] } } }), `${SRC}.groups.bastion.members[0].addresses[0]`, "expected an IPv4 or IPv6 address"],
  ["remote member with a loopback address", (d) => withBastion(d, { ...platformPublished(), groups: { bastion: { members: [{ name: "b", addresses: ["127.0.0.1"] }] } } }), `${SRC}.groups.bastion.members[0].addresses[0]`, "127.0.0.1 is loopback"],
  ["remote member without addresses", (d) => withBastion(d, { ...platformPublished(), groups: { bastion: { members: [{ name: "b", addresses: [] }] } } }), `${SRC}.groups.bastion.members[0].addresses`, 'member "b" has no address, so rules naming the group would silently not match it'],
  ["remote member with a bad name", (d) => withBastion(d, { ...platformPublished(), groups: { bastion: { members: [{ name: "b 1", addresses: ["198.51.100.9"] }] } } }), `${SRC}.groups.bastion.members[0].name`, "expected a host name"],
  ["remote value with a stack that is not text", (d) => withBastion(d, { ...platformPublished(), stack: 7 }), `${SRC}.stack`, "must be a single line of text"],
  ["remote member that is a host of this fleet", (d) => withBastion(d, { ...platformPublished(), groups: { bastion: { members: [{ name: "b", addresses: ["198.18.0.11"] }] } } }), SRC, 'address 198.18.0.11 of remote member "b" (group bastion) is also host "web-1"\'s (hosts[0]) here'],
  ["remote group named like a local group", (d) => (withBastion(d).remoteGroups[0].name = "web"), "remoteGroups[0].name", '"web" is also a security group of this fleet (securityGroups[0]); rules name both the same way'],
  ["duplicate remote group name", (d) => withBastion(d).remoteGroups.push({ name: "bastion", source: platformPublished() }), "remoteGroups[1].name", 'duplicate remote group name "bastion" (already declared at remoteGroups[0])'],
  ["remote group name with capitals", (d) => (withBastion(d).remoteGroups[0].name = "Bastion"), "remoteGroups[0].name", 'group name "Bastion" is invalid'],
  ["misspelt remote group field", (d) => (withBastion(d).remoteGroups[0].allowempty = true), "remoteGroups[0].allowempty", 'unknown field "allowempty"; did you mean "allowEmpty"?'],
  ["host attached to a remote group", (d) => withBastion(d).hosts[0].securityGroups.push("bastion"), "hosts[0].securityGroups[1]", '"bastion" is a remote group (remoteGroups[0]): its members are the hosts another stack publishes'],
  ["unknown peer group suggests remote groups", (d) => (withBastion(d).securityGroups[1].ingress[1].securityGroups = ["bastoin"]), "securityGroups[1].ingress[1].securityGroups[0]", 'unknown security group "bastoin"; did you mean "bastion"? (declared: bastion, db, web)'],
  // Publishing
  ["publishing an unknown group", (d) => (d.publish = { groups: ["wbe"] }), "publish.groups[0]", 'unknown security group "wbe"; did you mean "web"?'],
  ["publishing a remote group", (d) => (withBastion(d).publish = { groups: ["bastion"] }), "publish.groups[0]", '"bastion" is a remote group (remoteGroups[0]): its members are published by the stack that owns them; publish it from there'],
  ["published member without an address", (d) => Object.assign(d, { publish: { groups: ["db"] }, hosts: [d.hosts[0], { ...d.hosts[1], connection: { host: "db-1.example" } }] }), "hosts[1].addresses", 'member of group "db", which publish.groups[0] publishes to other stacks'],
  ["misspelt publish field", (d) => (d.publish = { group: ["web"] }), "publish.group", 'unknown field "group"; did you mean "groups"?'],
];
