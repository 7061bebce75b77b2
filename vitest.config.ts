import * as os from "node:os";
import * as path from "node:path";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Three kinds of file, by what they start: a copy of an example installed
 * with npm and the `pulumi` CLI typed in it (test/e2e/cli-*), the CLI
 * through the Automation API (the rest of test/e2e), and labs and unit
 * tests.
 */
function kindOf(file: string): 0 | 1 | 2 {
  if (/^test\/e2e\/cli-/.test(file)) return 0;
  return /^test\/e2e\//.test(file) ? 1 : 2;
}

/**
 * Seconds each file took in a fresh-clone run here (three workers, 2 cores;
 * files of 15 s or more), for a machine that has no durations recorded yet
 * (a fresh CI machine). Only the order depends on it: a file missing or
 * grown since is guessed by its kind.
 */
const FRESH_CLONE_S: Readonly<Record<string, number>> = {
  "test/e2e/cli-multistack.test.ts": 165, "test/lab-apply.test.ts": 115, "test/e2e/observe.test.ts": 103,
  "test/e2e/cli-project.test.ts": 97, "test/distro.test.ts": 94, "test/e2e/safety.test.ts": 93,
  "test/e2e/moves.test.ts": 71, "test/e2e/provider.test.ts": 65, "test/e2e/replacement.test.ts": 63,
  "test/lab-failclosed.test.ts": 46, "test/lab-trust.test.ts": 46, "test/semantic.test.ts": 37,
  "test/e2e/cli-quickstart.test.ts": 35, "test/e2e/multistack.test.ts": 32, "test/lab-observe.test.ts": 31,
  "test/e2e/upgrade.test.ts": 31, "test/e2e/jumpHosts.test.ts": 27, "test/e2e/automation-example.test.ts": 26,
  "test/e2e/failClosed.test.ts": 26, "test/e2e/engine-smoke.test.ts": 24, "test/lab-containers.test.ts": 23,
  "test/e2e/membership.test.ts": 23, "test/package.test.ts": 22, "test/e2e/flows.test.ts": 22,
  "test/unit/golden.test.ts": 21, "test/e2e/coexistence.test.ts": 20, "test/unit/sshTransport.test.ts": 19,
  "test/e2e/persistence.test.ts": 18, "test/lab-forwarding.test.ts": 17, "test/e2e/policyTests.test.ts": 16,
};

/** A file's expected duration when this machine has none recorded. */
function guessMs(file: string): number {
  const measured = FRESH_CLONE_S[file];
  if (measured !== undefined) return measured * 1000;
  if (kindOf(file) !== 2) return 30_000;
  return /^test\/[^/]+\.test\.ts$/.test(file) ? 15_000 : 3_000; // a lab, a unit test
}

/**
 * Longest first within each kind (each file's last recorded duration, else
 * a guess), the kinds interleaved so that each progresses at the same pace:
 * the next file is from the kind that has the smallest share of its time
 * started. Orders that ran files of one kind together cost up to half as
 * much wall time again: all Pulumi files first took 1,092 s, the three
 * typed-CLI files together 889 s, against 736 s mixed (docs/architecture.md,
 * "The test suite's time").
 * Without recorded durations (FRESH_CLONE_S instead) vitest would start the
 * largest files first, and a short file that types `pulumi` would run
 * alone at the end.
 */
class LongestFirstInterleaved extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const kinds: { f: TestSpecification; ms: number }[][] = [[], [], []];
    for (const f of files) {
      const file = path.relative(this.ctx.config.root, f.moduleId);
      const ms = this.ctx.cache.getFileTestResults(`${f.project.name}:${file}`)?.duration ?? guessMs(file);
      kinds[kindOf(file)]!.push({ f, ms });
    }
    for (const k of kinds) k.sort((a, b) => b.ms - a.ms);
    const total = kinds.map((k) => k.reduce((n, t) => n + t.ms, 0) || 1);
    const started = [0, 0, 0];
    const order: TestSpecification[] = [];
    for (;;) {
      const open = [0, 1, 2].filter((i) => kinds[i]!.length > 0);
      if (open.length === 0) return order;
      const i = open.reduce((best, j) => (started[j]! / total[j]! < started[best]! / total[best]! ? j : best));
      const next = kinds[i]!.shift()!;
      started[i]! += next.ms;
      order.push(next.f);
    }
  }
}

// Lab and end-to-end tests create real network namespaces and run the real
// Pulumi CLI: labs take separate subnets and namespaces, every stack has its
// own backend and PULUMI_HOME, and tests synchronise on what hosts report,
// never on timing. Three files run at once on this 2-core machine: with two,
// the CPU sat idle 13% of the suite (a lockout probe's budget, a host's
// rollback timer, SSH round trips); with three, 2-3%, and the suite took 17%
// less wall time (docs/architecture.md, "The test suite's time").
// NFTSG_TEST_WORKERS overrides it. Timeouts are generous for a busy machine.
export default defineConfig({
  // Outside the repository, so a new clone on the same machine (CI keeps
  // ~/.cache) still knows each file's last duration: the longest files
  // start first (LongestFirstInterleaved), and the workers finish together.
  cacheDir: path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "nftsg", "vite"),
  test: {
    include: ["test/**/*.test.ts", "provider/**/*.test.ts", "sdk/**/*.test.ts"],
    exclude: ["dist/**", "node_modules/**"],
    setupFiles: ["test/support/afterFile.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: true,
    maxWorkers: Number(process.env.NFTSG_TEST_WORKERS ?? 3),
    minWorkers: 1,
    pool: "forks",
    sequence: { sequencer: LongestFirstInterleaved },
    reporters: ["default"],
  },
});
