import type { SqlClient } from "../../db/client.js";
import { findLatestTaskRecordHash } from "../../db/queries/find-latest-task-record-hash.js";
import { findQueuePosition } from "../../db/queries/find-queue-position.js";
import { listJobLogTokens } from "../../db/queries/list-job-log-tokens.js";
import type { Task } from "../../workflow/task.js";
import { buildJobLogUrl } from "../links.js";
import type { EffectFacts } from "./effect-outcome.js";

/**
 * Read, before an effect runs, the facts its executor named (`EFFECT_EXECUTORS`), so that executors
 * read no database; facts nobody asked for stay empty and cost no query.
 */
export async function loadEffectFacts(
  sql: SqlClient,
  task: Task,
  needs: ReadonlyArray<keyof EffectFacts>,
  publicUrl: string | null,
): Promise<EffectFacts> {
  const [jobs, queuePosition, latestRecordHash] = await Promise.all([
    needs.includes("jobs") ? listJobLogTokens(sql, task.id) : [],
    needs.includes("queuePosition") && task.state === "awaiting_agent" && task.jobId !== null
      ? findQueuePosition(sql, task.jobId)
      : null,
    needs.includes("latestRecordHash") ? findLatestTaskRecordHash(sql, task.id) : null,
  ]);
  return {
    jobs: jobs.map((job) => ({
      id: job.id,
      role: job.role,
      status: job.status,
      logUrl: publicUrl === null ? null : buildJobLogUrl(publicUrl, job.id, job.logToken),
    })),
    queuePosition,
    latestRecordHash,
  };
}
