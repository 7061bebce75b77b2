// The Lab object: a handle on a running lab, built from its state.json, so
// the process that brought the lab up and any process that attaches later
// (attachLab, the CLI) get the same API.
import { readFileSync } from "node:fs";
import { DEFAULT_PROBE_TIMEOUT_MS, MAX_PROBE_TIMEOUT_MS } from "./constants";
import { assertLabAddress } from "./addressing";
import { AgentClient, ensureAgent, type AgentSpec } from "./agent-client";
import { unregisterOwned } from "./hooks";
import { mapLimit } from "./pool";
import { run, type ExecResult } from "./sh";
import { startSshd, stopSshd } from "./sshd";
import { readState, type HostState, type LabState } from "./state";
import { teardownSync } from "./teardown";
import type { Lab, LabHost, ListenProto, ProbeOptions, ProbeRequest } from "./types";

export const RUNNER = "runner";

/** Probe as sent to an agent: resolved address, validated port and timeout. */
interface WireProbe {
  to: string;
  proto: ProbeRequest["proto"];
  port?: number;
  timeoutMs: number;
}

const MAX_PROBES_PER_REQUEST = 1000;
const AGENT_START_CONCURRENCY = 6;

function sendProbes(agent: AgentClient, probes: WireProbe[]): Promise<boolean[]> {
  // Worst case: every probe times out, 16 pings at a time (the agent's limit).
  const slowest = Math.max(...probes.map((p) => p.timeoutMs));
  const budget = Math.ceil(probes.length / 16) * (slowest + 1000) + 5000;
  return agent.request<boolean[]>("probe", { probes }, budget);
}

export const knownHostsPath = (state: LabState): string => `${state.dir}/known_hosts`;

export class LabImpl implements Lab {
  readonly id: string;
  readonly dir: string;
  readonly slot: number;
  readonly hosts: readonly LabHost[];
  readonly runnerIpv4: string;
  readonly runnerIpv6: string;
  readonly privateKeyPath: string;
  readonly publicKey: string;
  private readonly byName: ReadonlyMap<string, HostState>;
  private readonly agents = new Map<string, Promise<AgentClient>>();
  private isDown = false;

  constructor(
    private readonly state: LabState,
    readonly privateKey: string,
  ) {
    this.id = state.id;
    this.dir = state.dir;
    this.slot = state.slot;
    this.runnerIpv4 = state.runnerIpv4;
    this.runnerIpv6 = state.runnerIpv6;
    this.privateKeyPath = state.privateKeyPath;
    this.publicKey = state.publicKey;
    this.hosts = state.hosts.map((h) => ({
      name: h.name,
      ns: h.ns,
      ipv4: h.ipv4,
      ipv6: h.ipv6,
      hostPublicKey: h.hostPublicKey,
      hostKeyFingerprint: h.hostKeyFingerprint,
    }));
    this.byName = new Map(state.hosts.map((h) => [h.name, h]));
  }

  /** Re-attaches to a running lab from /run/nftsg-lab/<id>/state.json. */
  static attach(id: string): LabImpl {
    const state = readState(id);
    return new LabImpl(state, readFileSync(state.privateKeyPath, "utf8"));
  }

  host(name: string): LabHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`lab ${this.id} has no host ${JSON.stringify(name)} (hosts: ${[...this.byName.keys()].join(", ")})`);
    return h;
  }

  private hostState(name: string): HostState {
    this.host(name); // throws a helpful error for unknown names
    return this.byName.get(name) as HostState;
  }

  exec(host: string, cmd: string, opts: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
    return run("ip", ["netns", "exec", this.hostState(host).ns, "sh", "-c", cmd], opts);
  }

  sshArgs(host: string, family: 4 | 6 = 4): string[] {
    const h = this.hostState(host);
    return [
      "-i", this.privateKeyPath,
      "-o", "BatchMode=yes",
      "-o", "IdentitiesOnly=yes",
      "-o", "StrictHostKeyChecking=yes",
      "-o", `UserKnownHostsFile=${knownHostsPath(this.state)}`,
      "-o", "ConnectTimeout=5",
      "-o", "LogLevel=ERROR",
      `root@${family === 6 ? h.ipv6 : h.ipv4}`,
    ];
  }

  ssh(host: string, cmd: string, opts: { timeoutMs?: number; family?: 4 | 6 } = {}): Promise<ExecResult> {
    return run("ssh", [...this.sshArgs(host, opts.family), cmd], { timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  async listen(host: string, proto: ListenProto, ports: readonly number[]): Promise<void> {
    const agent = await this.agent(host);
    await agent.request("listen", { proto, ports: [...ports] }, 10_000);
  }

  async unlisten(host: string, proto: ListenProto, ports: readonly number[]): Promise<void> {
    const agent = await this.agent(host);
    await agent.request("unlisten", { proto, ports: [...ports] }, 10_000);
  }

  async probe(from: string, to: string, opts: ProbeOptions): Promise<boolean> {
    const [ok] = await this.probeMany([{ ...opts, from, to }]);
    return ok === true;
  }

  async probeMany(reqs: readonly ProbeRequest[]): Promise<boolean[]> {
    // Validate everything up front: a bad request fails the batch before any packet is sent.
    const wire = reqs.map((r) => this.toWire(r));
    const groups = new Map<string, number[]>();
    reqs.forEach((r, i) => {
      if (r.from !== RUNNER) this.hostState(r.from);
      const g = groups.get(r.from) ?? [];
      g.push(i);
      groups.set(r.from, g);
    });
    // Start every agent needed before any probe runs: agent start-up is
    // CPU-heavy and would otherwise make early probes time out spuriously.
    const agents = new Map<string, AgentClient>();
    await mapLimit([...groups.keys()], AGENT_START_CONCURRENCY, async (from) => {
      agents.set(from, await this.agent(from));
    });
    const results = new Array<boolean>(reqs.length).fill(false);
    const jobs: Promise<void>[] = [];
    for (const [from, indexes] of groups) {
      for (let s = 0; s < indexes.length; s += MAX_PROBES_PER_REQUEST) {
        const chunk = indexes.slice(s, s + MAX_PROBES_PER_REQUEST);
        const agent = agents.get(from) as AgentClient;
        jobs.push(sendProbes(agent, chunk.map((i) => wire[i] as WireProbe)).then((r) => {
          chunk.forEach((idx, k) => (results[idx] = r[k] === true));
        }));
      }
    }
    await Promise.all(jobs);
    return results;
  }

  private toWire(r: ProbeRequest): WireProbe {
    const target = this.byName.get(r.to);
    const to = target ? (r.family === 6 ? target.ipv6 : target.ipv4) : r.to;
    assertLabAddress(to);
    if (r.proto !== "tcp" && r.proto !== "udp" && r.proto !== "icmp") throw new Error(`bad proto ${String(r.proto)}`);
    if (r.proto !== "icmp" && !(Number.isInteger(r.port) && (r.port as number) > 0 && (r.port as number) < 65536)) {
      throw new Error(`${r.proto} probe to ${to} needs a port (got ${String(r.port)})`);
    }
    const timeoutMs = Math.min(Math.max(1, r.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS), MAX_PROBE_TIMEOUT_MS);
    return { to, proto: r.proto, port: r.proto === "icmp" ? undefined : r.port, timeoutMs };
  }

  /** The agent for a host (or the runner), started on first use and reused. */
  private agent(name: string): Promise<AgentClient> {
    if (this.isDown) return Promise.reject(new Error(`lab ${this.id} is down`));
    const existing = this.agents.get(name);
    if (existing) {
      return existing.then((c) => (c.isClosed ? this.startAgent(name) : c));
    }
    return this.startAgent(name);
  }

  private startAgent(name: string): Promise<AgentClient> {
    const spec: AgentSpec =
      name === RUNNER
        ? { socketPath: `${this.dir}/runner-agent.sock`, logPath: `${this.dir}/runner-agent.log` }
        : (() => {
            const h = this.hostState(name);
            return { socketPath: `${h.dir}/agent.sock`, logPath: `${h.dir}/agent.log`, ns: h.ns };
          })();
    const p = ensureAgent(spec);
    this.agents.set(name, p);
    p.catch(() => this.agents.delete(name));
    return p;
  }

  async stopSshd(host: string): Promise<void> {
    await stopSshd(this.hostState(host));
  }

  async startSshd(host: string): Promise<void> {
    await startSshd(this.hostState(host));
  }

  async down(): Promise<void> {
    if (this.isDown) return;
    this.isDown = true;
    for (const p of this.agents.values()) p.then((c) => c.close(), () => undefined);
    this.agents.clear();
    teardownSync(this.state);
    unregisterOwned(this.id);
  }
}
