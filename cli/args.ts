// Command-line parsing for `nftsg`: plain argv in, a request out; no I/O.
import { QUERY_PROTOCOLS } from "../provider/vocabulary/traffic";
import type { Query } from "../provider/evaluate";

export class UsageError extends Error {}

export const USAGE = `usage:
  nftsg explain <declaration.json | module.js> --from <end> --to <end> --port <port/proto | proto[/icmp-type]> [--family 4|6]
      <end>: a host name, sg:<group> (every member; a remote group's too), list:<address list>, or an address/CIDR outside the fleet
      e.g. nftsg explain fleet.json --from web-1 --to db-1 --port 5432/tcp
  nftsg lint <declaration.json | module.js>
  nftsg test <declaration.json | module.js>              run the declaration's policy tests
  nftsg flows <preview.json>                             Markdown flow summary of \`pulumi preview --json\`
  nftsg flows --old <declaration> --new <declaration>    the same, between two declarations
  nftsg observe <stack-export.json | -> [--fleet <name>] [--top <n>]
      what observed hosts recorded (pulumi stack export, after pulumi refresh): what a promotion
      would cut, suggested rules, rules without hits and the busiest ones, observation bounds

A module exports \`declaration\` (or a default export): a plain fleet declaration, or a function returning one.`;

export type Request =
  | { command: "explain"; source: string; query: Query }
  | { command: "lint" | "test"; source: string }
  | { command: "flows"; preview?: string; old?: string; new?: string }
  | { command: "observe"; source: string; fleet?: string; top?: number }
  | { command: "help" };

/** "5432/tcp", "tcp/5432", "icmp", "icmpv6/128" (ICMP type). */
export function parseTraffic(text: string): Pick<Query, "protocol" | "port" | "icmpType"> {
  const parts = text.toLowerCase().split("/");
  const proto = parts.find((p) => (QUERY_PROTOCOLS as readonly string[]).includes(p));
  const num = parts.find((p) => /^\d+$/.test(p));
  if (!proto || parts.length > 2 || (parts.length === 2 && num === undefined)) {
    throw new UsageError(`--port ${text}: write <port>/<protocol> (5432/tcp), or a protocol alone (icmp, icmpv6/128 for an ICMP type); protocols: ${QUERY_PROTOCOLS.join(", ")}`);
  }
  const protocol = proto as Query["protocol"];
  if (num === undefined) return { protocol };
  return protocol === "icmp" || protocol === "icmpv6" ? { protocol, icmpType: Number(num) } : { protocol, port: Number(num) };
}

function options(argv: readonly string[], allowed: readonly string[]): { positional: string[]; opts: Record<string, string> } {
  const positional: string[] = [];
  const opts: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split("=", 2) as [string, string | undefined];
    if (!allowed.includes(name)) throw new UsageError(`unknown option --${name} (allowed: ${allowed.map((o) => `--${o}`).join(", ") || "none"})`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    opts[name] = value;
  }
  return { positional, opts };
}

function oneSource(command: string, positional: string[]): string {
  if (positional.length !== 1) throw new UsageError(`${command} takes one declaration file or module`);
  return positional[0]!;
}

export function parseArgs(argv: readonly string[]): Request {
  const [command, ...rest] = argv;
  switch (command) {
    case "explain": {
      const { positional, opts } = options(rest, ["from", "to", "port", "family"]);
      for (const o of ["from", "to", "port"]) if (opts[o] === undefined) throw new UsageError(`explain needs --${o}`);
      const family = opts.family === undefined ? undefined : Number(opts.family);
      if (family !== undefined && family !== 4 && family !== 6) throw new UsageError("--family is 4 or 6");
      return {
        command,
        source: oneSource(command, positional),
        query: { from: opts.from!, to: opts.to!, ...parseTraffic(opts.port!), ...(family ? { family } : {}) },
      };
    }
    case "lint":
    case "test":
      return { command, source: oneSource(command, options(rest, []).positional) };
    case "flows": {
      const { positional, opts } = options(rest, ["old", "new"]);
      if (opts.old !== undefined || opts.new !== undefined) {
        if (opts.old === undefined || opts.new === undefined || positional.length > 0) throw new UsageError("flows takes either <preview.json> or both --old and --new");
        return { command, old: opts.old, new: opts.new };
      }
      return { command, preview: oneSource(command, positional) };
    }
    case "observe": {
      const { positional, opts } = options(rest, ["fleet", "top"]);
      const top = opts.top === undefined ? undefined : Number(opts.top);
      if (top !== undefined && !(Number.isInteger(top) && top > 0)) throw new UsageError("--top is a whole number above 0");
      return { command, source: oneSource(command, positional), ...(opts.fleet !== undefined ? { fleet: opts.fleet } : {}), ...(top !== undefined ? { top } : {}) };
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      return { command: "help" };
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}
