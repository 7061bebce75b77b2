// npm run lab -- up N [--names a,b,c] [--json]   bring up a lab that stays up
// npm run lab -- down ID | --all                  remove one lab / every lab
// npm run lab -- status [--json]                  running labs and reachability
// npm run lab -- show ID                          addresses and ssh line of a lab
import { tcpReachable } from "./up";
import { attachLab, downAll, labUp, type Lab } from "./index";
import { mapLimit } from "./pool";
import { listLabIds, readState, type LabState } from "./state";
import { teardownSync } from "./teardown";
import { ipv4Subnet, ipv6Subnet } from "./addressing";
import { ensureDistroRoot } from "./distroRoot";
import { distroLabUp } from "./distroLab";

const USAGE = `usage:
  npm run lab -- up N [--names a,b,c] [--json]
  npm run lab -- down ID | --all
  npm run lab -- status [--json]
  npm run lab -- show ID
  npm run lab -- distro-root                 build (or find) the cached Debian root of distro hosts
  npm run lab -- distro-up N                 a lab of N real Debian 12 hosts (systemd-nspawn)`;

function printLab(lab: Lab, seconds?: number): void {
  const took = seconds === undefined ? "" : ` in ${seconds.toFixed(2)} s`;
  console.log(`lab ${lab.id} up${took}: ${lab.hosts.length} hosts, ${ipv4Subnet(lab.slot)}, ${ipv6Subnet(lab.slot)}`);
  const w = Math.max(6, ...lab.hosts.map((h) => h.name.length));
  console.log(`  ${"runner".padEnd(w)}  ${lab.runnerIpv4.padEnd(15)}  ${lab.runnerIpv6}`);
  for (const h of lab.hosts) console.log(`  ${h.name.padEnd(w)}  ${h.ipv4.padEnd(15)}  ${h.ipv6.padEnd(22)}  netns ${h.ns}`);
  const first = lab.hosts[0];
  console.log(`private key: ${lab.privateKeyPath}`);
  if (first) {
    console.log(`ssh: ssh -i ${lab.privateKeyPath} -o UserKnownHostsFile=${lab.dir}/known_hosts root@${first.ipv4} nft list ruleset`);
    console.log(`  (or -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null)`);
    console.log(`shell in a host without SSH: ip netns exec ${first.ns} bash`);
  }
  console.log(`remove: npm run lab -- down ${lab.id}`);
}


async function status(json: boolean): Promise<void> {
  const labs: { state: LabState; ssh: boolean[] }[] = [];
  for (const id of listLabIds()) {
    let state: LabState;
    try {
      state = readState(id);
    } catch (e) {
      console.log(`lab ${id}: unreadable state (${(e as Error).message}); remove with: npm run lab -- down --all`);
      continue;
    }
    labs.push({ state, ssh: await mapLimit(state.hosts, 32, (h) => tcpReachable(h.ipv4, 22, 500)) });
  }
  if (json) {
    console.log(JSON.stringify(labs.map(({ state, ssh }) => ({ ...state, sshReachable: ssh })), null, 2));
    return;
  }
  if (labs.length === 0) console.log("no labs running");
  for (const { state, ssh } of labs) {
    const up = ssh.filter(Boolean).length;
    const kind = state.persistent ? "persistent" : "owned by a test run";
    console.log(`lab ${state.id}: ${state.hosts.length} hosts, ${ipv4Subnet(state.slot)}, ${kind}, since ${state.createdAt}, sshd reachable ${up}/${ssh.length}`);
    state.hosts.forEach((h, i) => console.log(`  ${h.name.padEnd(8)} ${h.ipv4.padEnd(15)} ${h.ipv6.padEnd(22)} ssh ${ssh[i] ? "up" : "DOWN"}`));
    for (const d of state.distroHosts ?? []) console.log(`  ${d.name.padEnd(8)} ${d.ipv4.padEnd(15)} ${d.ipv6.padEnd(22)} Debian 12 machine ${d.machine}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const json = rest.includes("--json");
  switch (cmd) {
    case "up": {
      const n = Number(rest[0]);
      const namesAt = rest.indexOf("--names");
      const hostNames = namesAt >= 0 ? rest[namesAt + 1]?.split(",") : undefined;
      const t0 = process.hrtime.bigint();
      const lab = await labUp({ hosts: n, hostNames, persistent: true });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (json) console.log(JSON.stringify({ ...readState(lab.id), upSeconds: seconds }, null, 2));
      else printLab(lab, seconds);
      return 0;
    }
    case "down": {
      if (rest[0] === "--all") {
        await downAll();
        console.log("all labs removed");
      } else if (rest[0]) {
        teardownSync(readState(rest[0]));
        console.log(`lab ${rest[0]} removed`);
      } else {
        console.error(USAGE);
        return 2;
      }
      return 0;
    }
    case "distro-root": {
      const r = await ensureDistroRoot((l) => console.log(l));
      console.log(`distro root ${r.path} (${r.built ? "built" : "cached"}, ${r.seconds.toFixed(1)} s)`);
      return 0;
    }
    case "distro-up": {
      const n = Number(rest[0] ?? 1);
      if (!Number.isInteger(n) || n < 1) break;
      const lab = await distroLabUp({ names: Array.from({ length: n }, (_, i) => `d${i + 1}`), persistent: true, log: (l) => console.log(l) });
      console.log(`lab ${lab.id} up: ${n} Debian 12 hosts (systemd-nspawn), ${ipv4Subnet(lab.slot)}; root ${lab.times.rootBuilt ? "built" : "cached"} in ${lab.times.rootSeconds.toFixed(1)} s`);
      for (const h of lab.hosts) {
        console.log(`  ${h.name}  ${h.ipv4.padEnd(15)}  ${h.ipv6.padEnd(22)}  machine ${h.machine}, ssh after ${lab.times.bootToSshSeconds[h.name]?.toFixed(2)} s`);
      }
      console.log(`ssh: ssh ${lab.sshArgs(lab.hosts[0]?.name ?? "d1").join(" ")}   (or ${lab.sudoUser}@, passwordless sudo)`);
      console.log(`remove: npm run lab -- down ${lab.id}`);
      return 0;
    }
    case "status":
      await status(json);
      return 0;
    case "show": {
      if (!rest[0]) break;
      printLab(await attachLab(rest[0]));
      return 0;
    }
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
