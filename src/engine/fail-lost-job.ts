/**
 * A job that lost its runner on its last attempt: failed with INFRA_CONTAINER_LOST, and the task
 * told (`job_failed`, `agent_job.finished` as foreman[app]) in one transaction, once across replicas.
 */
import { finishAgentJob } from "../db/queries/finish-agent-job.js";
import { findTaskForUpdate } from "../db/queries/find-task-for-update.js";
import { toTask } from "../db/queries/task-row.js";
import { EventType } from "../workflow/events.js";
import { JobFailureCode } from "../workflow/job-failure.js";
import { deliverTaskEvent } from "./deliver-task-event.js";
import type { AgentStepDeps } from "./agent-step/agent-step-deps.js";

// Its message names the attempts: the operator sees the restarts, not an agent failing.
export async function failLostJob(deps: AgentStepDeps, jobId: string, taskId: string, attempt: number): Promise<void> {
  const { engine } = deps;
  const message = `The agent's container was lost ${attempt} times (Foreman or its Docker host restarted while it ran), so the step was not retried again.`;
  await engine.database.sql.begin(async (tx) => {
    const row = await findTaskForUpdate(tx, { by: "id", taskId });
    if (!row) return;
    const task = toTask(row);
    const usage = { durationMs: 0, tokens: 0, costUsd: 0 };
    const failed = await finishAgentJob(
      tx,
      {
        id: jobId,
        status: "failed",
        image: null,
        exitCode: null,
        failureCode: JobFailureCode.infraContainerLost,
        failureMessage: message,
        result: null,
        usage,
        prompt: null,
        promptSha256: null,
        log: null,
        pushedSha: null,
      },
      attempt,
    );
    // Another replica failed or requeued it first.
    if (!failed) return;
    await deliverTaskEvent(
      tx,
      engine,
      task,
      {
        type: EventType.jobFailed,
        taskId,
        jobId,
        code: JobFailureCode.infraContainerLost,
        message,
        logTail: "",
        usage,
      },
      `job:${jobId}:finished`,
      [
        {
          taskId,
          kind: "agent_job.finished",
          actor: "foreman[app]",
          payload: { jobId, status: "failed", failureCode: JobFailureCode.infraContainerLost, attempt },
          createdAt: engine.now(),
        },
      ],
    );
  });
}
