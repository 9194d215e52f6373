import type { SqlClient } from "../db/client.js";
import { blockGitHubWrites } from "../db/queries/block-github-writes.js";
import { reserveGitHubWrite } from "../db/queries/reserve-github-write.js";
import { sleepUnlessAborted, type WritePacer, type WritePaceSettings } from "../github/write-pacer.js";

/**
 * A pacer over the database's `github_write_pace` rows (one token bucket per installation, shared
 * by every replica): a write reserves its slot in one upsert, then waits for it in-process.
 */
export function buildDatabaseWritePacer(sql: SqlClient, settings: WritePaceSettings): WritePacer {
  return {
    async awaitTurn(installationId, signal) {
      const waitSeconds = await reserveGitHubWrite(sql, installationId, settings);
      if (waitSeconds > 0) await sleepUnlessAborted(waitSeconds * 1000, signal);
      return waitSeconds;
    },
    block: (installationId, retryAfterSeconds) => blockGitHubWrites(sql, installationId, retryAfterSeconds),
  };
}
