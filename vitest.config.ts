import * as os from "node:os";
import * as path from "node:path";
import { defineConfig } from "vitest/config";

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
  // ~/.cache) still knows each file's last duration: vitest starts the
  // longest files first, and the two workers finish together.
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
    reporters: ["default"],
  },
});
