// The verdict of a probe after a ruleset change ("a new login still works",
// "this jump host still reaches its target") is rolled back on if it fails,
// so it must mean that no try got through within the WHOLE budget, not that
// one try ran out of its share: on a busy host a login that takes 60% of the
// budget is still a login. So every try may use all the time left; another
// starts when one fails (after a short pause), and one more beside the first
// if it still hangs at half the budget (a dropped SYN waits for TCP's
// retransmission, seconds later). The first success wins; otherwise the
// verdict is the last failure, once every try has ended or the budget is spent.
/** Outcome of a probe. */
export type ProbeResult = { ok: true } | { ok: false; reason: string };

export interface ProbeBudget {
  /** Tries in all (default 3). */
  maxTries?: number;
  /** Pause before a try that follows a failed one (default 200 ms). */
  retryDelayMs?: number;
  /** A try needs at least this much time (default 500 ms); the budget is never less. */
  minTryMs?: number;
}

/** Runs `tryOnce(msLeft)` within `totalMs` as described above; `tryOnce` closes what it opened. */
export function probeWithinBudget(totalMs: number, tryOnce: (ms: number) => Promise<ProbeResult>, budget: ProbeBudget = {}): Promise<ProbeResult> {
  const maxTries = budget.maxTries ?? 3;
  const retryDelayMs = budget.retryDelayMs ?? 200;
  const minTryMs = budget.minTryMs ?? 500;
  const deadline = Date.now() + Math.max(totalMs, minTryMs);
  return new Promise((resolve) => {
    let started = 0;
    let running = 0;
    let settled = false;
    let last: ProbeResult = { ok: false, reason: "not tried" };
    const timers = new Set<NodeJS.Timeout>();
    const after = (ms: number, f: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        f();
      }, ms);
      timers.add(t);
    };
    const settle = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      resolve(r);
    };
    const start = () => {
      if (settled || started >= maxTries) return;
      const left = deadline - Date.now();
      if (left < minTryMs) {
        if (running === 0) settle(last);
        return;
      }
      started++;
      running++;
      tryOnce(left)
        .catch((e: Error): ProbeResult => ({ ok: false, reason: e.message }))
        .then((r) => {
          running--;
          if (settled) return;
          if (r.ok) return settle(r);
          last = r;
          if (running > 0) return; // another try still has its chance
          if (started >= maxTries || deadline - Date.now() - retryDelayMs < minTryMs) return settle(last);
          after(retryDelayMs, start);
        });
    };
    start();
    after(Math.max(totalMs, minTryMs) / 2, start);
  });
}
