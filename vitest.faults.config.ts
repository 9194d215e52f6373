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
    // Found by postgres-restart.test.ts: when PostgreSQL goes away, postgres.js can throw from a
    // queued write on a closed socket (connection.js nextWrite, "reading 'write'") outside any
    // promise. It is let through here, and only it; docs/reliability.md#postgresql-restarted says more.
    onUnhandledError: (error) =>
      !(
        error.name === "TypeError" &&
        /reading 'write'/.test(error.message) &&
        /postgres\/src\/connection/.test(error.stack ?? "")
      ),
    reporters: ["default", "./test/faults/fault-table-reporter.ts"],
  },
});
