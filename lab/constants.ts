// Names, paths and limits shared by every part of the lab. Everything the lab
// creates carries the prefix "nftsg" so leftovers are easy to spot and sweep.

export const PREFIX = "nftsg";

/** Root of all lab state: one directory per lab, plus subnet slot locks. */
export const LAB_ROOT = "/run/nftsg-lab";

/** `ip netns exec NS` bind-mounts each entry of /etc/netns/NS over /etc. */
export const ETC_NETNS = "/etc/netns";

/** Mount target for each host's private /etc/nftsg (must exist in the root fs). */
export const ETC_NFTSG = "/etc/nftsg";

/** Privilege-separation directory sshd insists on. */
export const SSHD_PRIVSEP_DIR = "/run/sshd";

export const SSHD_BIN = "/usr/sbin/sshd";

/** Interface name of the host side of each veth pair (inside its namespace). */
export const HOST_IFACE = `${PREFIX}0`;

/** Lab ids: 4 base36 characters, so link names fit IFNAMSIZ (15). */
export const ID_PATTERN = /^[0-9a-z]{4}$/;

/** Host i gets .(10+i); 200 keeps every address inside the /24. */
export const MAX_HOSTS = 200;

/** Lab k uses 198.18.k.0/24 and 2001:db8:k::/64. */
export const MIN_SLOT = 1;
export const MAX_SLOT = 254;

/** Default per-probe timeout; tests can lower it, never raise it above the cap. */
export const DEFAULT_PROBE_TIMEOUT_MS = 1000;
export const MAX_PROBE_TIMEOUT_MS = 10_000;

/** How many ip/sshd processes `up` runs at once (2-core CI machine). */
export const SETUP_CONCURRENCY = 8;

export const bridgeName = (id: string): string => `${PREFIX}${id}br`;
export const vethName = (id: string, index: number): string => `${PREFIX}${id}v${index}`;
export const nsName = (id: string, index: number): string => `${PREFIX}-${id}-h${index}`;
export const labDir = (id: string): string => `${LAB_ROOT}/${id}`;

/** Patterns that recognise lab-made objects (and nothing else named nftsg*). */
export const LAB_NS_PATTERN = /^nftsg-[0-9a-z]{4}-h\d+$/;
export const LAB_LINK_PATTERN = /^nftsg[0-9a-z]{4}(br|v\d+)$/;
