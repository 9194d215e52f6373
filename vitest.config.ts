import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The fault suite runs on its own: `npm run test:faults` (vitest.faults.config.ts).
    exclude: ["test/faults/**", "**/node_modules/**"],
    globalSetup: ["test/helpers/global-setup.ts"],
    setupFiles: ["test/helpers/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Each integration file gets its own database; files run in parallel, tests inside a file in order.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ["default", "json"],
    outputFile: { json: "coverage/test-results.json" },
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      reporter: ["text-summary", "text", "json-summary"],
      thresholds: {
        "src/workflow/**": { lines: 80 },
        "src/engine/**": { lines: 80 },
        "src/compliance/**": { lines: 80 },
      },
    },
  },
});
