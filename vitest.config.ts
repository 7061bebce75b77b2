import { defineConfig } from "vitest/config";

// Lab and end-to-end tests create real network namespaces and run the real
// Pulumi CLI. Most of their time is spent waiting (SSH handshakes, the
// engine's RPCs, hosts' timers), not computing, so two files run at once:
// labs take separate subnets and namespaces, every stack has its own
// backend and PULUMI_HOME, and tests synchronise on what hosts report,
// never on timing. Timeouts are generous for a busy 2-core machine.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "provider/**/*.test.ts", "sdk/**/*.test.ts"],
    exclude: ["dist/**", "node_modules/**"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: true,
    maxWorkers: Number(process.env.NFTSG_TEST_WORKERS ?? 2),
    minWorkers: 1,
    pool: "forks",
    reporters: ["default"],
  },
});
