// The `containers` option of a fleet (docs/containers.md): the default local
// container and VM interfaces, and what an interface pattern may look like.

/**
 * The devices that container and VM managers create for local guests by
 * default, as nft ifname patterns ("*" = any suffix): Docker's default bridge
 * and its user-defined networks (br-<id>), Podman (netavark and CNI), the CNI
 * bridge plugin (flannel's cni0), Calico's per-pod veths (cali<id>), Weave's
 * bridge, libvirt, LXC, LXD and Incus. Only devices that connect guests *on
 * this host*; overlay and tunnel devices that carry other hosts' traffic
 * (flannel.1, vxlan.calico, tunl0, wireguard) are deliberately absent.
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
  "weave",
];

/**
 * An interface name or prefix pattern nft accepts unquoted inside quotes:
 * 1-15 characters (IFNAMSIZ - 1) of letters, digits, "_", ".", "-", "@", ":",
 * optionally ending in "*" (the prefix before it must not be empty).
 */
export const INTERFACE_PATTERN = /^(?:[A-Za-z0-9_.@:-]{1,15}|[A-Za-z0-9_.@:-]{1,14}\*)$/;
