import * as os from "node:os";
import * as path from "node:path";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * A file's duration when this machine has none recorded (a fresh CI
 * machine): by kind, from the suite's own runs. Without it vitest starts
 * the largest files first, and the longest one (a short file that types
 * `pulumi` as a user does) would start last and run alone at the end.
 */
function guessMs(file: string): number {
  if (/^test\/e2e\/cli-/.test(file)) return 150_000;
  if (/^test\/e2e\//.test(file) || /^test\/(distro|lab-apply|semantic)\.test\.ts$/.test(file)) return 60_000;
  if (/^test\/[^/]+\.test\.ts$/.test(file)) return 30_000; // a lab
  return 5_000;
}

/** Longest first: each file's last recorded duration, else a guess by its kind. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const expectedMs = (f: TestSpecification): number => {
      const file = path.relative(this.ctx.config.root, f.moduleId);
      return this.ctx.cache.getFileTestResults(`${f.project.name}:${file}`)?.duration ?? guessMs(file);
    };
    return files.map((f) => ({ f, ms: expectedMs(f) })).sort((a, b) => b.ms - a.ms).map(({ f }) => f);
  }
}

// Lab and end-to-end tests create real network namespaces and run the real
// Pulumi CLI: labs take separate subnets and namespaces, every stack has its
// own backend and PULUMI_HOME, and tests synchronise on what hosts report,
// never on timing. Three files run at once on this 2-core machine: with two,
// the CPU sat idle 13% of the suite (a lockout probe's budget, a host's
// rollback timer, SSH round trips); with three, 2% and the suite took 17%
// less wall time (docs/architecture.md, "The test suite's time").
// NFTSG_TEST_WORKERS overrides it. Timeouts are generous for a busy machine.
export default defineConfig({
  // Outside the repository, so a new clone on the same machine (CI keeps
  // ~/.cache) still knows each file's last duration: the longest files
  // start first (LongestFirst), and the workers finish together.
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
    sequence: { sequencer: LongestFirst },
    reporters: ["default"],
  },
});
