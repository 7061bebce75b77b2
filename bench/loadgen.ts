// A tiny TCP load generator for the dataplane benchmark. It runs as a separate
// node process inside a lab host's namespace (`ip netns exec`), so the packets
// really leave that host and cross the target's firewall. Each connection is
// opened, counted once established, and reset (RST, so no TIME_WAIT piles up
// and the client never runs out of ephemeral ports). The loop is bounded by a
// connection count AND a time cap.
import { writeFileSync } from "node:fs";
import type { Lab } from "../lab";

const SOURCE = String.raw`"use strict";
const net = require("node:net");
const [host, portText, countText, concText, capText] = process.argv.slice(2);
const port = Number(portText), count = Number(countText), conc = Number(concText), capMs = Number(capText);
const start = process.hrtime.bigint();
const deadline = Date.now() + capMs;
let started = 0, ok = 0, failed = 0, inflight = 0, finished = false;
const errors = {};
function finish() {
  if (finished || inflight > 0) return;
  finished = true;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(JSON.stringify({ ok, failed, ms, errors }) + "\n");
}
function next() {
  if (started >= count || Date.now() > deadline) return finish();
  started++;
  inflight++;
  let done = false;
  const s = net.connect({ host, port });
  const end = (good, why) => {
    if (done) return;
    if (!good) errors[why] = (errors[why] || 0) + 1;
    done = true;
    if (good) { ok++; s.resetAndDestroy(); } else { failed++; s.destroy(); }
    inflight--;
    next();
  };
  // Generous: on a shared 2-core machine a stalled event loop must not count as a drop.
  s.setTimeout(3000, () => end(false, "timeout"));
  s.once("connect", () => end(true));
  s.once("error", (e) => end(false, e.code || String(e)));
}
for (let i = 0; i < conc; i++) next();
`;

export interface LoadResult {
  ok: number;
  failed: number;
  ms: number;
  /** Failure counts by cause (error code or "timeout"). */
  errors: Record<string, number>;
  /** Established connections per second. */
  rate: number;
}

export interface LoadOptions {
  count: number;
  concurrency: number;
  capMs: number;
}

/** Writes the generator into the lab's directory (once) and returns its path. */
export function installLoadgen(lab: Lab): string {
  const path = `${lab.dir}/loadgen.cjs`;
  writeFileSync(path, SOURCE);
  return path;
}

export async function runLoad(lab: Lab, script: string, from: string, to: string, port: number, o: LoadOptions): Promise<LoadResult> {
  const cmd = [process.execPath, script, to, port, o.count, o.concurrency, o.capMs].join(" ");
  const r = await lab.exec(from, cmd, { timeoutMs: o.capMs + 15_000 });
  if (r.code !== 0) throw new Error(`load generator failed (${r.code}): ${r.stderr.trim()}`);
  const res = JSON.parse(r.stdout.trim()) as Omit<LoadResult, "rate">;
  return { ...res, rate: (res.ok * 1000) / res.ms };
}
