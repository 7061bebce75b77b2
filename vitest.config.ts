import { defineConfig } from "vitest/config";

// Lab and end-to-end tests create real network namespaces and run the real
// Pulumi CLI; they are slow and share a 2-core machine, so files run one at a
// time and tests get generous timeouts.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "provider/**/*.test.ts", "sdk/**/*.test.ts"],
    exclude: ["dist/**", "node_modules/**"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    pool: "forks",
    reporters: ["default"],
  },
});
