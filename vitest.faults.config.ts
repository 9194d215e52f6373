import { defineConfig } from "vitest/config";

// The fault suite (`npm run test:faults`): the loop under injected faults, one file per kind of
// fault, with the fault table printed at the end. GitHub is the fake server over real HTTP, so no
// nock here (`test/faults/setup.ts` takes its interceptor out).
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    setupFiles: ["test/faults/setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ["default", "./test/faults/fault-table-reporter.ts"],
  },
});
