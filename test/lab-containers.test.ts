// Hosts that run containers, with real Docker (Debian's docker.io) inside a
// lab host and real packets: a container publishing a TCP and a UDP port is
// open to everyone without nftsg; with nftsg its published ports follow the
// host's ingress rules, matched on the published port; its egress follows
// the host's restricted egress; it still reaches services on its host; and
// a dockerd restart (which rewrites Docker's own rules) disturbs neither
// ruleset. (docs/containers.md)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileFleet } from "../provider/compiler/compile";
import type { FleetDeclaration, RuleDeclaration } from "../provider/declaration/declaration";
import { expectedListing, normaliseNftListing } from "../provider/nft/listing";
import { analyseOtherFirewalls } from "../provider/otherFirewalls/analysis";
import type { AgentClient } from "../lab/agent-client";
import { dockerAvailable, startDocker, type DockerHost } from "./support/dockerLab";
import { LiveConnection } from "./support/liveConnection";
import { useLab } from "./support/useLab";

const PUBLISHED_TCP = 8080; // -> container port 80
const PUBLISHED_UDP = 5353; // -> container port 53
const EGRESS_ALLOWED = 9000;
const EGRESS_DENIED = 9001;
const HOST_DNS = 53; // a UDP service on the host, reached by the container on the bridge
const TIMEOUT_MS = 1000;

const lab = useLab({ hosts: 3, hostNames: ["docker-1", "web-1", "other-1"] });
let docker: DockerHost;
let app: AgentClient;

const listen = (agent: AgentClient, proto: "tcp" | "udp", ports: number[]) => agent.request("listen", { proto, ports }, 10_000);
const probeFrom = async (agent: AgentClient, to: string, proto: "tcp" | "udp", port: number): Promise<boolean> =>
  (await agent.request<boolean[]>("probe", { probes: [{ to, proto, port, timeoutMs: TIMEOUT_MS }] }, 10_000))[0] === true;

interface Rules {
  published?: RuleDeclaration[];
  egress?: RuleDeclaration[];
}

const fromWeb = (protocol: "tcp" | "udp", ports: number): RuleDeclaration => ({ protocol, ports, securityGroups: ["web"] });
const ALLOW_PUBLISHED = [fromWeb("tcp", PUBLISHED_TCP), fromWeb("udp", PUBLISHED_UDP)];
const ALLOW_EGRESS = [{ protocol: "tcp" as const, ports: EGRESS_ALLOWED, securityGroups: ["web"] }];

function fleet(rules: Rules, extra: Partial<FleetDeclaration> = {}): FleetDeclaration {
  return {
    ...extra,
    securityGroups: [
      { name: "web" },
      { name: "docker", ingress: rules.published ?? [], egress: rules.egress ?? [] },
    ],
    hosts: [
      { name: "docker-1", connection: { host: lab.host("docker-1").ipv4 }, securityGroups: ["docker"] },
      { name: "web-1", connection: { host: lab.host("web-1").ipv4 }, securityGroups: ["web"] },
      { name: "other-1", connection: { host: lab.host("other-1").ipv4 }, securityGroups: [] },
    ],
  };
}

function scriptFor(decl: FleetDeclaration): string {
  return compileFleet(decl)["docker-1"]!.script;
}

async function apply(decl: FleetDeclaration): Promise<void> {
  const r = await lab.exec("docker-1", "nft -f -", { input: scriptFor(decl) });
  expect(r.code, r.stderr).toBe(0);
}

async function removeNftsg(): Promise<void> {
  await lab.exec("docker-1", "nft delete table inet nftsg 2>/dev/null; true");
}

/** Who reaches what: published ports from web-1, other-1 and the runner; the container's egress and its host's DNS. */
async function reachability(): Promise<Record<string, boolean>> {
  const target = lab.host("docker-1").ipv4;
  const published = await lab.probeMany(
    (["web-1", "other-1", "runner"] as const).flatMap((from) => [
      { from, to: target, proto: "tcp" as const, port: PUBLISHED_TCP, timeoutMs: TIMEOUT_MS },
      { from, to: target, proto: "udp" as const, port: PUBLISHED_UDP, timeoutMs: TIMEOUT_MS },
    ]),
  );
  const web = lab.host("web-1").ipv4;
  return {
    "web-1 tcp": published[0]!,
    "web-1 udp": published[1]!,
    "other-1 tcp": published[2]!,
    "other-1 udp": published[3]!,
    "runner tcp": published[4]!,
    "runner udp": published[5]!,
    "container egress allowed port": await probeFrom(app, web, "tcp", EGRESS_ALLOWED),
    "container egress other port": await probeFrom(app, web, "tcp", EGRESS_DENIED),
    "container -> host dns": await probeFrom(app, docker.bridgeIpv4, "udp", HOST_DNS),
  };
}

const ALL_OPEN = {
  "web-1 tcp": true, "web-1 udp": true, "other-1 tcp": true, "other-1 udp": true, "runner tcp": true, "runner udp": true,
  "container egress allowed port": true, "container egress other port": true, "container -> host dns": true,
};
const PROTECTED = {
  ...ALL_OPEN, "other-1 tcp": false, "other-1 udp": false, "runner tcp": false, "runner udp": false,
  "container egress other port": false,
};

const unavailable = dockerAvailable();

beforeAll(async () => {
  if (unavailable) throw new Error(`real Docker is needed for this test: ${unavailable}`);
  docker = await startDocker(lab, "docker-1");
  app = await docker.runAgentContainer("app", [`${PUBLISHED_TCP}:80/tcp`, `${PUBLISHED_UDP}:53/udp`]);
  await listen(app, "tcp", [80]);
  await listen(app, "udp", [53]);
  await lab.listen("web-1", "tcp", [EGRESS_ALLOWED, EGRESS_DENIED]);
  await lab.listen("docker-1", "udp", [HOST_DNS]);
}, 240_000);

afterAll(async () => {
  await docker?.stop();
}, 120_000);

describe("published container ports (real Docker)", () => {
  it("without nftsg a published port is open to everyone", async () => {
    await removeNftsg();
    expect(await reachability()).toEqual(ALL_OPEN);
  });

  it("with a group allowing the published ports only from web: web-1 connects, anyone else is dropped; restricted egress applies to the container; it still reaches its host", async () => {
    await apply(fleet({ published: ALLOW_PUBLISHED, egress: ALLOW_EGRESS }));
    expect(await reachability()).toEqual(PROTECTED);
  });

  it("rules match the published port, not the container's own port", async () => {
    await apply(fleet({ published: [fromWeb("tcp", 80), fromWeb("udp", 53)], egress: ALLOW_EGRESS }));
    const r = await reachability();
    expect([r["web-1 tcp"], r["web-1 udp"]]).toEqual([false, false]);
  });

  it("removing the rule cuts it, and revokeEstablished cuts an open connection to the published port", async () => {
    await apply(fleet({ published: ALLOW_PUBLISHED, egress: ALLOW_EGRESS }));
    const conn = await LiveConnection.open(lab, "web-1", lab.host("docker-1").ipv4, PUBLISHED_TCP);
    try {
      expect(await conn.roundTrip()).toBe("ok");
      await apply(fleet({ published: [fromWeb("udp", PUBLISHED_UDP)], egress: ALLOW_EGRESS }));
      expect(await conn.roundTrip()).toBe("timeout");
    } finally {
      conn.close();
    }
    const r = await reachability();
    expect([r["web-1 tcp"], r["web-1 udp"]]).toEqual([false, true]);
  });

  it("containers.egress: false leaves the container's egress open while the host's stays restricted", async () => {
    await apply(fleet({ published: ALLOW_PUBLISHED, egress: ALLOW_EGRESS }, { containers: { egress: false } }));
    expect(await reachability()).toEqual({ ...PROTECTED, "container egress other port": true });
    // The host itself is still restricted.
    expect(await lab.probe("docker-1", lab.host("web-1").ipv4, { proto: "tcp", port: EGRESS_DENIED, timeoutMs: TIMEOUT_MS })).toBe(false);
  });

  it("containers.publishedPorts: false leaves published ports to Docker (open), as before this option existed", async () => {
    await apply(fleet({ published: ALLOW_PUBLISHED, egress: ALLOW_EGRESS }, { containers: { publishedPorts: false } }));
    const r = await reachability();
    expect([r["other-1 tcp"], r["runner udp"]]).toEqual([true, true]);
  });

  it("nftsg never breaks Docker's networking: with open egress the container's egress is open; a container reaches a published port through its host's address", async () => {
    await apply(fleet({ published: ALLOW_PUBLISHED }));
    expect(await reachability()).toEqual({ ...PROTECTED, "container egress other port": true });
    expect(await probeFrom(app, lab.host("docker-1").ipv4, "tcp", PUBLISHED_TCP)).toBe(true);
  });

  it("the report of other firewalls lists Docker's chains and finds nothing that contradicts ours", async () => {
    await apply(fleet({ published: ALLOW_PUBLISHED, egress: ALLOW_EGRESS }));
    const report = analyseOtherFirewalls((await lab.exec("docker-1", "nft -j list ruleset")).stdout, "nftsg");
    expect(report.chains).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ip filter FORWARD: filter hook forward priority filter \(0\) policy drop, \d+ rules \[docker\]$/),
        expect.stringMatching(/^ip nat PREROUTING: nat hook prerouting priority dstnat \(-100\) policy accept, \d+ rules? \[docker\]$/),
      ]),
    );
    expect(report.warnings).toEqual([]);
  });

  it("a dockerd restart (Docker rewrites its own rules) disturbs neither ruleset", async () => {
    const decl = fleet({ published: ALLOW_PUBLISHED, egress: ALLOW_EGRESS });
    await apply(decl);
    const dockerRulesBefore = await lab.exec("docker-1", "nft list table ip nat");
    await docker.restart();
    app = await docker.agent("app"); // restarted by its restart policy
    await listen(app, "tcp", [80]);
    await listen(app, "udp", [53]);
    const ours = await lab.exec("docker-1", "nft list table inet nftsg");
    expect(normaliseNftListing(ours.stdout)).toBe(expectedListing({ script: scriptFor(decl) }));
    const dockerRulesAfter = await lab.exec("docker-1", "nft list table ip nat");
    expect(dockerRulesAfter.stdout).toContain(`dport ${PUBLISHED_TCP}`);
    expect(dockerRulesBefore.stdout).toContain(`dport ${PUBLISHED_TCP}`);
    expect(await reachability()).toEqual(PROTECTED);
  });
});
