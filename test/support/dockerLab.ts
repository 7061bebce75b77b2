// Real Docker inside a lab host (Debian's docker.io): one dockerd per lab
// host, started in the host's network namespace with its own data-root,
// exec-root, pidfile and socket under the lab directory, so it touches
// nothing outside the lab (lab teardown also kills whatever names the lab
// directory). Images cannot be pulled here: the image is a busybox root
// filesystem made locally and `docker import`ed; containers that need more
// than busybox run the lab's own agent (agent.cjs) with the host's /usr and
// Node.js mounted read-only.
//
// The container network is 198.19.<slot>.0/24 (inside the lab's
// 198.18.0.0/15), so every probe stays on lab addresses.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, copyFileSync, openSync, closeSync } from "node:fs";
import { dirname } from "node:path";
import { AgentClient, agentScript } from "../../lab/agent-client";
import type { Lab } from "../../lab";

export const IMAGE = "nftsg-busybox:lab";
const BUSYBOX = "/bin/busybox";
const DOCKERD = "/usr/sbin/dockerd";

export interface DockerHost {
  /** The lab host dockerd runs in. */
  host: string;
  /** Address of the container bridge (docker0) on the host. */
  bridgeIpv4: string;
  /** Runs the docker CLI against this dockerd; throws on failure. */
  docker(args: readonly string[], opts?: { input?: Buffer | string; timeoutMs?: number }): Promise<string>;
  /**
   * Runs a container that serves the lab agent (echo listeners, probes) on
   * a socket under the lab directory; `publish` as for `docker run -p`.
   */
  runAgentContainer(name: string, publish: readonly string[]): Promise<AgentClient>;
  /** Connects again to a container's agent (after a restart). */
  agent(name: string): Promise<AgentClient>;
  /** Stops dockerd (SIGTERM, as `systemctl restart docker` does) and starts it again. */
  restart(): Promise<void>;
  /** Removes every container and stops dockerd. */
  stop(): Promise<void>;
}

export function dockerAvailable(): string | undefined {
  if (!existsSync(DOCKERD)) return `${DOCKERD} missing: apt-get install docker.io`;
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} missing: apt-get install busybox-static`;
  return undefined;
}

function run(file: string, args: readonly string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(" ")}: ${stderr || err.message}`));
      else resolve(stdout);
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `ip netns exec` remounts /sys for the namespace, which hides the cgroup
 * mounts dockerd needs: mount the same cgroup hierarchies again inside (the
 * mount namespace is private to this dockerd and goes away with it).
 */
const CGROUP_MOUNTS =
  'mount -t tmpfs nftsg-cgroup /sys/fs/cgroup && ' +
  "awk '$3==\"cgroup\"||$3==\"cgroup2\"{print $2, $3, $4}' /proc/1/mounts | " +
  'while read dir type opts; do mkdir -p "$dir" && mount -t "$type" -o "$opts" "$type" "$dir"; done';

function rootfs(dir: string): string {
  const root = `${dir}/rootfs`;
  if (existsSync(`${root}/bin/busybox`)) return root;
  for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev", "usr", "opt/node", "opt/agent", "run/agent"]) mkdirSync(`${root}/${d}`, { recursive: true });
  copyFileSync(BUSYBOX, `${root}/bin/busybox`);
  for (const applet of ["sh", "nc", "cat", "echo", "sleep", "ip", "ping", "wget", "nslookup"]) symlinkSync("busybox", `${root}/bin/${applet}`);
  // Node.js from the host's /usr (mounted read-only at run time).
  symlinkSync("usr/lib", `${root}/lib`);
  symlinkSync("usr/lib64", `${root}/lib64`);
  return root;
}

export async function startDocker(lab: Lab, host: string): Promise<DockerHost> {
  const h = lab.host(host);
  const dir = `${lab.dir}/docker-${host}`;
  mkdirSync(dir, { recursive: true });
  const sock = `${dir}/docker.sock`;
  const bridgeIpv4 = `198.19.${lab.slot}.1`;
  const docker = (args: readonly string[], opts?: { input?: Buffer | string; timeoutMs?: number }) =>
    run("docker", ["-H", `unix://${sock}`, ...args], opts);

  const dockerdArgs = [
    "--data-root", `${dir}/data`, "--exec-root", `${dir}/exec`, "--pidfile", `${dir}/docker.pid`,
    "-H", `unix://${sock}`, "--storage-driver", "vfs", "--bip", `${bridgeIpv4}/24`, "--log-level", "warn",
  ];
  const startDaemon = async (): Promise<void> => {
    const log = openSync(`${dir}/dockerd.log`, "a");
    try {
      const child = spawn("ip", ["netns", "exec", h.ns, "sh", "-c", `${CGROUP_MOUNTS} && exec ${DOCKERD} "$@"`, "dockerd", ...dockerdArgs], {
        detached: true,
        stdio: ["ignore", log, log],
      });
      child.unref();
    } finally {
      closeSync(log);
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await docker(["version", "--format", "{{.Server.Version}}"], { timeoutMs: 5000 });
        return;
      } catch (e) {
        if (Date.now() > deadline) {
          throw new Error(`dockerd in ${h.ns} did not start: ${(e as Error).message}\n${readFileSync(`${dir}/dockerd.log`, "utf8").slice(-2000)}`);
        }
        await sleep(250);
      }
    }
  };
  const stopDaemon = async (): Promise<void> => {
    let pid: number;
    try {
      pid = Number(readFileSync(`${dir}/docker.pid`, "utf8").trim());
    } catch {
      return;
    }
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      return;
    }
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await sleep(100);
    }
    process.kill(pid, "SIGKILL");
  };

  await startDaemon();
  const images = await docker(["images", "-q", IMAGE]);
  if (images.trim() === "") {
    const tar = await runBuffer("tar", ["-C", rootfs(dir), "-c", "."]);
    await docker(["import", "-", IMAGE], { input: tar });
  }

  const node = dirname(dirname(process.execPath));
  const agentDir = dirname(agentScript());
  const agentSocket = (name: string) => `${dir}/agent-${name}/agent.sock`;
  const agent = async (name: string): Promise<AgentClient> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        return await AgentClient.connect(agentSocket(name), 1000);
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`agent in container ${name} unreachable: ${(e as Error).message}`);
        await sleep(100);
      }
    }
  };

  return {
    host,
    bridgeIpv4,
    docker,
    async runAgentContainer(name, publish) {
      mkdirSync(dirname(agentSocket(name)), { recursive: true });
      await docker([
        "run", "-d", "--name", name, "--restart", "always",
        ...publish.flatMap((p) => ["-p", p]),
        "-v", "/usr:/usr:ro", "-v", `${node}:/opt/node:ro`, "-v", `${agentDir}:/opt/agent:ro`,
        "-v", `${dirname(agentSocket(name))}:/run/agent`,
        IMAGE, "/opt/node/bin/node", "/opt/agent/agent.cjs", "/run/agent/agent.sock",
      ]);
      return agent(name);
    },
    agent,
    async restart() {
      await stopDaemon();
      await startDaemon();
    },
    async stop() {
      try {
        const ids = (await docker(["ps", "-aq"])).split("\n").filter(Boolean);
        if (ids.length > 0) await docker(["rm", "-f", ...ids]);
      } finally {
        await stopDaemon();
      }
    },
  };
}

function runBuffer(file: string, args: readonly string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}
