// The `containers` option of a fleet (docs/containers.md): the default local
// container and VM interfaces, and what an interface pattern may look like.

/**
 * The devices that container and VM managers create for local guests by
 * default, as nft ifname patterns ("*" = any suffix): Docker's default bridge
 * and its user-defined networks (br-<id>), Podman (netavark and CNI), the CNI
 * bridge plugin (flannel's cni0), Calico's per-pod veths (cali<id>), libvirt,
 * LXC, LXD and Incus. Only devices that connect guests *on this host*;
 * overlay and tunnel devices that carry other hosts' traffic (flannel.1,
 * vxlan.calico, tunl0, wireguard) are deliberately absent, and so is Weave
 * Net's bridge `weave`, which bridges the containers of every host of the
 * Weave network (through its vxlan/fastdp datapath). The host refuses any
 * pattern that matches an uplink at apply (SH_LOCAL_IFACES).
 */
export const CONTAINER_INTERFACES_DEFAULT: readonly string[] = [
  "br-*",
  "cali*",
  "cni-podman*",
  "cni0",
  "docker0",
  "incusbr*",
  "lxcbr*",
  "lxdbr*",
  "podman*",
  "virbr*",
];

/**
 * An interface name or prefix pattern nft accepts unquoted inside quotes:
 * 1-15 characters (IFNAMSIZ - 1) of letters, digits, "_", ".", "-", "@", ":",
 * optionally ending in "*" (the prefix before it must not be empty).
 */
export const INTERFACE_PATTERN = /^(?:[A-Za-z0-9_.@:-]{1,15}|[A-Za-z0-9_.@:-]{1,14}\*)$/;

/**
 * Names that uplinks and tunnels usually have (kernel and systemd predictable
 * names, wireless, WWAN, bonds, teams, VLANs, uplink bridges, Proxmox, Open
 * vSwitch, VPNs, overlays): a wildcard pattern whose prefix one of them starts
 * with is too broad to be a local container network.
 */
export const UPLINK_NAME_EXAMPLES: readonly string[] = [
  "eth0", "en0", "eno1", "ens3", "enp1s0", "enx0a1b2c3d4e5f", "em1", "wlan0", "wlp2s0", "wwan0", "wwp0s20f0u6",
  "bond0", "team0", "vlan10", "br0", "bridge0", "vmbr0", "ovs-system", "wg0", "tun0", "ppp0", "ib0", "usb0",
  "flannel.1", "vxlan0", "tunl0", "gre0",
];

/** Exact names (and wildcard prefixes) of those families: eth0, eno1, wlp2s0, bond0, br0, ... */
const UPLINK_FAMILY = /^(?:eth\d|en[opsx]|em\d|wl|ww|bond\d|team\d|vlan\d|br\d|bridge\d|vmbr\d|wg\d|tun\d|tunl\d|ppp\d|ib\d|usb\d|gre\d|vxlan\d|flannel\.)/;

/**
 * Why a valid interface name or pattern is too broad to be a local container
 * network (everything arriving there is accepted like loopback), or undefined.
 */
export function interfaceBreadthProblem(name: string): string | undefined {
  if (name === "lo" || name === "lo*") {
    return `"${name}" is the loopback interface, which every ruleset already accepts; remove it`;
  }
  if (name.endsWith("*")) {
    const prefix = name.slice(0, -1);
    const example = UPLINK_NAME_EXAMPLES.find((e) => e.startsWith(prefix)) ?? (UPLINK_FAMILY.test(prefix) ? `${prefix}0` : undefined);
    if (example) return `pattern "${name}" is too broad: it matches uplink names like ${example}`;
    if (prefix.length <= 2) {
      return `pattern "${name}" is too broad: a prefix of ${prefix.length === 1 ? "one character" : "two characters"} matches uplinks as well as container bridges`;
    }
    return undefined;
  }
  if (UPLINK_FAMILY.test(name)) return `interface "${name}" is named like an uplink`;
  return undefined;
}
