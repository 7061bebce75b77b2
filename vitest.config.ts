import * as os from "node:os";
import * as path from "node:path";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** Files that run the Pulumi CLI: every operation starts the CLI, a program and the dynamic provider. */
const runsPulumi = (file: string) => /^test\/e2e\//.test(file);

/**
 * A file's duration when this machine has none recorded (a fresh CI
 * machine): by kind, from the suite's own runs.
 */
function guessMs(file: string): number {
  if (/^test\/e2e\/cli-/.test(file)) return 150_000;
  if (runsPulumi(file) || /^test\/(distro|lab-apply|semantic)\.test\.ts$/.test(file)) return 60_000;
  if (/^test\/[^/]+\.test\.ts$/.test(file)) return 30_000; // a lab
  return 5_000;
}

/**
 * Longest first (each file's last recorded duration, else a guess by its
 * kind), the files that run the Pulumi CLI interleaved with the others so
 * both kinds progress together. Three Pulumi files at once each took 2-3
 * times as long as beside a lab file, and the whole suite 1,092 s against
 * 736 s with the two kinds mixed (docs/architecture.md). Without recorded
 * durations vitest would start the largest files first, and a short file
 * that types `pulumi` as a user does would run alone at the end.
 */
class LongestFirstInterleaved extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const timed = files.map((f) => {
      const file = path.relative(this.ctx.config.root, f.moduleId);
      const ms = this.ctx.cache.getFileTestResults(`${f.project.name}:${file}`)?.duration ?? guessMs(file);
      return { f, ms, pulumi: runsPulumi(file) };
    }).sort((a, b) => b.ms - a.ms);
    const [heavy, light] = [timed.filter((t) => t.pulumi), timed.filter((t) => !t.pulumi)];
    const total = (ts: typeof timed) => ts.reduce((n, t) => n + t.ms, 0) || 1;
    const [heavyTotal, lightTotal] = [total(heavy), total(light)];
    const order: TestSpecification[] = [];
    let [heavyDone, lightDone] = [0, 0];
    while (heavy.length || light.length) {
      const takeHeavy = heavy.length > 0 && (light.length === 0 || heavyDone / heavyTotal <= lightDone / lightTotal);
      const next = (takeHeavy ? heavy : light).shift()!;
      if (takeHeavy) heavyDone += next.ms; else lightDone += next.ms;
      order.push(next.f);
    }
    return order;
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
