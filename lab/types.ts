// Public types of the lab API.
import type { ExecResult } from "./sh";

export type { ExecResult };

export type ProbeProto = "tcp" | "udp" | "icmp";
export type ListenProto = "tcp" | "udp";

export interface LabHost {
  /** Logical name: h1..hN by default, or the names given to labUp. */
  name: string;
  /** Network namespace, e.g. nftsg-4k2x-h1. */
  ns: string;
  ipv4: string;
  ipv6: string;
  /** "ssh-ed25519 AAAA..." of this host's sshd, for pinning tests. */
  hostPublicKey: string;
  /** "SHA256:..." of the host key. */
  hostKeyFingerprint: string;
}

export interface ProbeOptions {
  proto: ProbeProto;
  /** Required for tcp and udp. */
  port?: number;
  /** Per-probe timeout, default 1000 ms, capped at 10 s. */
  timeoutMs?: number;
  /** When `to` is a host name: which of its addresses to use (default 4). */
  family?: 4 | 6;
}

export interface ProbeRequest extends ProbeOptions {
  /** A lab host name, or "runner" (the root namespace). */
  from: string;
  /** An address (lab ranges or loopback only) or a lab host name. */
  to: string;
}

export interface Lab {
  readonly id: string;
  /** /run/nftsg-lab/<id> */
  readonly dir: string;
  /** Subnet slot k: 198.18.k.0/24, 2001:db8:k::/64. */
  readonly slot: number;
  readonly hosts: readonly LabHost[];
  readonly runnerIpv4: string;
  readonly runnerIpv6: string;
  /** OpenSSH-format ed25519 client private key, authorised for root on every host. */
  readonly privateKey: string;
  readonly privateKeyPath: string;
  /** "ssh-ed25519 AAAA..." */
  readonly publicKey: string;

  host(name: string): LabHost;
  /** Runs `sh -c cmd` inside the host's namespaces via `ip netns exec` (not SSH). */
  exec(host: string, cmd: string, opts?: { timeoutMs?: number; input?: string }): Promise<ExecResult>;
  /** Runs a command on the host over real SSH with the lab key (host key pinned). */
  ssh(host: string, cmd: string, opts?: { timeoutMs?: number; family?: 4 | 6 }): Promise<ExecResult>;
  /** Arguments for the `ssh` binary that log in to the host (append a command). */
  sshArgs(host: string, family?: 4 | 6): string[];
  /** Starts echo listeners on [::]:port (dual stack) in the host. Idempotent. */
  listen(host: string, proto: ListenProto, ports: readonly number[]): Promise<void>;
  unlisten(host: string, proto: ListenProto, ports: readonly number[]): Promise<void>;
  probe(from: string, to: string, opts: ProbeOptions): Promise<boolean>;
  /** Runs all probes in parallel (bounded) and returns their results in order. */
  probeMany(reqs: readonly ProbeRequest[]): Promise<boolean[]>;
  /** Kills the host's sshd (listener and sessions): the host becomes unreachable over SSH. */
  stopSshd(host: string): Promise<void>;
  startSshd(host: string): Promise<void>;
  /** Removes everything this lab created. Idempotent. */
  down(): Promise<void>;
}

export interface LabUpOptions {
  hosts: number;
  hostNames?: readonly string[];
  /**
   * Keep the lab after this process exits (CLI `up`). Default false: the lab is
   * torn down on exit, SIGINT, SIGTERM and SIGHUP.
   */
  persistent?: boolean;
  /**
   * Let bash source the runner's root ~/.bashrc for commands run over SSH, as
   * the hosts share the runner's /root (default false: see lab/sshd.ts).
   */
  runnerLoginRc?: boolean;
}
