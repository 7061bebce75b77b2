import * as fs from "node:fs";
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
 * A file's duration when this machine has none recorded (a fresh CI
 * machine). A file that runs Pulumi costs about 4 s per operation it runs
 * (each starts the CLI, a program and the dynamic provider); the others by
 * kind, from the suite's own runs.
 */
function guessMs(file: string, root: string): number {
  if (kindOf(file) !== 2) {
    const text = fs.readFileSync(path.join(root, file), "utf8");
    const operations = text.match(/\.(up|preview|refresh|destroy)\(|pulumi\(\[/g)?.length ?? 0;
    return 10_000 + 4_000 * operations;
  }
  if (/^test\/(distro|lab-apply|semantic)\.test\.ts$/.test(file)) return 60_000;
  if (/^test\/[^/]+\.test\.ts$/.test(file)) return 30_000; // a lab
  return 5_000;
}

/**
 * Longest first within each kind (each file's last recorded duration, else
 * a guess), the kinds interleaved so that each progresses at the same pace:
 * the next file is from the kind that has the smallest share of its time
 * started. Orders that ran files of one kind together cost up to half as
 * much wall time again: all Pulumi files first took 1,092 s, the three
 * typed-CLI files together 889 s, against 736 s mixed (docs/architecture.md,
 * "The test suite's time").
 * Without recorded durations vitest would start the largest files first,
 * and a short file that types `pulumi` would run alone at the end.
 */
class LongestFirstInterleaved extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const kinds: { f: TestSpecification; ms: number }[][] = [[], [], []];
    for (const f of files) {
      const file = path.relative(this.ctx.config.root, f.moduleId);
      const ms = this.ctx.cache.getFileTestResults(`${f.project.name}:${file}`)?.duration ?? guessMs(file, this.ctx.config.root);
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
