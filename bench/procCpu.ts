// CPU time of this process's descendants, by kind (the Pulumi CLI, the
// dynamic provider's Node.js process, ssh, ...): where an operation's CPU
// goes. Samples /proc every `intervalMs`; a process is charged the last CPU
// time seen for it, so one that lives less than an interval may be missed.
import * as fs from "node:fs";

const CLK_TCK = 100; // Linux USER_HZ

interface ProcStat {
  ppid: number;
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parentheses: fields restart after the last ")".
    const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
    // rest[0] = state (field 3), ppid = field 4, utime = 14, stime = 15.
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

function readCmd(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** Peak resident set (VmHWM) of a process so far, in KiB. */
function readPeakRssKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The machine's CPU counters (/proc/stat "cpu" line, USER_HZ ticks), for what an interval cost the whole machine. */
export interface MachineCpu {
  user: number;
  system: number;
  idle: number;
  iowait: number;
  steal: number;
}

export function machineCpu(): MachineCpu {
  const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return { user: f[0]! + f[1]!, system: f[2]! + f[5]! + f[6]!, idle: f[3]!, iowait: f[4]!, steal: f[7] ?? 0 };
}

/** Seconds of each counter between two readings. */
export function machineCpuSince(a: MachineCpu): MachineCpu {
  const b = machineCpu();
  return { user: (b.user - a.user) / CLK_TCK, system: (b.system - a.system) / CLK_TCK, idle: (b.idle - a.idle) / CLK_TCK, iowait: (b.iowait - a.iowait) / CLK_TCK, steal: (b.steal - a.steal) / CLK_TCK };
}

export type Classifier = (cmdline: string) => string;

export class ProcCpu {
  /** base: CPU ticks already used when first seen in the initial sample (charged only what follows). */
  private seen = new Map<number, { kind: string; ticks: number; base: number; peakKb: number }>();
  private initial = true;
  private timer?: NodeJS.Timeout;
  private readonly rootPid = process.pid;
  private cpu0 = process.cpuUsage();

  constructor(private readonly classify: Classifier) {}

  start(intervalMs = 100): this {
    this.cpu0 = process.cpuUsage();
    this.initial = true;
    this.sample();
    this.initial = false;
    this.timer = setInterval(() => this.sample(), intervalMs);
    return this;
  }

  private sample(): void {
    const parent = new Map<number, number>();
    const stats = new Map<number, ProcStat>();
    for (const e of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(e)) continue;
      const pid = Number(e);
      const st = readStat(pid);
      if (!st) continue;
      parent.set(pid, st.ppid);
      stats.set(pid, st);
    }
    for (const [pid, st] of stats) {
      const known = this.seen.get(pid);
      if (known) {
        known.ticks = Math.max(known.ticks, st.ticks);
        known.peakKb = Math.max(known.peakKb, readPeakRssKb(pid));
        continue;
      }
      // A new descendant of ours? (Once seen, a process stays tracked even if re-parented.)
      let p = parent.get(pid);
      let depth = 0;
      while (p !== undefined && p > 1 && p !== this.rootPid && depth++ < 64) p = parent.get(p);
      if (p !== this.rootPid || pid === this.rootPid) continue;
      this.seen.set(pid, { kind: this.classify(readCmd(pid)), ticks: st.ticks, base: this.initial ? st.ticks : 0, peakKb: readPeakRssKb(pid) });
    }
  }

  /** Largest peak RSS (MiB) of one process of each kind, sampled (call after stop). */
  peakRssMb(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { kind, peakKb } of this.seen.values()) out[kind] = Math.max(out[kind] ?? 0, peakKb / 1024);
    return out;
  }

  /** CPU seconds by kind, plus "this process" (the bench: Automation API and the inline Pulumi program). */
  stop(): Record<string, number> {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    const out: Record<string, number> = {};
    for (const { kind, ticks, base } of this.seen.values()) out[kind] = (out[kind] ?? 0) + (ticks - base) / CLK_TCK;
    const own = process.cpuUsage(this.cpu0);
    out["bench process (Automation API + inline program)"] = (own.user + own.system) / 1e6;
    return out;
  }
}

/** Kinds for a `pulumi up` driven by the Automation API. */
export const pulumiClassifier: Classifier = (cmd) => {
  if (/dynamic-provider/.test(cmd) || /pulumi-resource-pulumi-nodejs/.test(cmd)) return "dynamic provider (node)";
  if (/@pulumi\/pulumi\/cmd\/run/.test(cmd) || /pulumi-language-nodejs/.test(cmd)) return cmd.includes("cmd/run") ? "program (node)" : "language host";
  if (/(^|\/)pulumi(\s|$)/.test(cmd)) return "pulumi CLI (engine, Go)";
  if (/(^|\/)ssh(\s|$)/.test(cmd)) return "ssh client";
  if (/ansible/.test(cmd)) return "ansible (python)";
  const exe = (cmd.split(" ")[0] ?? "").split("/").pop() ?? "";
  if (exe === "node") return "other node";
  // The lab's sshd processes are children of the process that brought the lab up (this one).
  return "lab hosts' sshd + commands (sampled: short-lived ones missed)";
};
