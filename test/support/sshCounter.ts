// Counts new TCP connections to a host's SSH port, in a table of its own
// (never nftsg's): how the tests prove that a no-change `up` makes no SSH
// connection at all.
import type { Lab } from "../../lab";

const TABLE = "inet nftsglabcount";

export async function installSshCounter(lab: Lab, host: string): Promise<void> {
  const script = [
    `table ${TABLE} {}`,
    `delete table ${TABLE}`,
    `table ${TABLE} {`,
    `  counter ssh_new {}`,
    `  chain input {`,
    `    type filter hook input priority -10; policy accept;`,
    `    tcp dport 22 ct state new counter name ssh_new`,
    `  }`,
    `}`,
  ].join("\n");
  const r = await lab.exec(host, "nft -f -", { input: script });
  if (r.code !== 0) throw new Error(`installing the SSH counter on ${host}: ${r.stderr}`);
}

export async function sshConnectionCount(lab: Lab, host: string): Promise<number> {
  const r = await lab.exec(host, `nft list counter ${TABLE} ssh_new`);
  const m = /packets (\d+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`reading the SSH counter on ${host}: ${r.stderr || r.stdout}`);
  return Number(m[1]);
}

export async function removeSshCounter(lab: Lab, host: string): Promise<void> {
  await lab.exec(host, `nft delete table ${TABLE}`);
}
