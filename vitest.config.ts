import * as os from "node:os";
import * as path from "node:path";
import { defineConfig } from "vitest/config";

// Lab and end-to-end tests create real network namespaces and run the real
// Pulumi CLI. Most of their time is spent waiting (SSH handshakes, the
// engine's RPCs, hosts' timers), not computing, so two files run at once:
// labs take separate subnets and namespaces, every stack has its own
// backend and PULUMI_HOME, and tests synchronise on what hosts report,
// never on timing. Timeouts are generous for a busy 2-core machine.
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
    maxWorkers: Number(process.env.NFTSG_TEST_WORKERS ?? 2),
    minWorkers: 1,
    pool: "forks",
    reporters: ["default"],
  },
});
