import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { findTaskJobLog } from "../../db/queries/find-task-job-log.js";
import type { ApiRouteDeps } from "./api-deps.js";
import { sendJson, sendProblem } from "./problem.js";

const ENDED = ["succeeded", "failed", "cancelled"];

/**
 * `GET /api/tasks/{id}/jobs/{job}/log`: the job's redacted log as JSONL (stored when the job ends,
 * as `/jobs/:id/log` reads it). `follow`: server-sent events: each line as a `line` event once the
 * log is stored, then an `end` event with the job's status; the stream waits while the job runs.
 */
export async function sendJobLog(
  deps: ApiRouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
  taskId: string,
  jobId: string,
  follow: boolean,
): Promise<true> {
  const found = await findTaskJobLog(deps.sql, taskId, jobId);
  if (!found)
    return sendProblem(
      res,
      404,
      "not-found",
      `Task ${taskId} has no job ${jobId}. GET /api/tasks/${taskId} lists its jobs.`,
    );
  if (!follow) {
    if (found.log === null)
      return sendJson(res, 202, {
        status: found.status,
        detail: "The job has not ended; its log is stored when it does. Add ?follow=1 to wait for it.",
      });
    res.writeHead(200, { "content-type": "application/x-ndjson; charset=utf-8" }).end(found.log);
    return true;
  }
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", connection: "keep-alive" });
  res.write(": following\n\n");
  let closed = false;
  req.on("close", () => (closed = true));
  let current = found;
  while (!closed && current.log === null && !ENDED.includes(current.status)) {
    await sleep(deps.followPollMs ?? 500);
    current = (await findTaskJobLog(deps.sql, taskId, jobId)) ?? current;
  }
  if (!closed) {
    for (const line of (current.log ?? "").split("\n")) {
      if (line.trim() !== "") res.write(`event: line\ndata: ${line}\n\n`);
    }
    res.write(`event: end\ndata: ${JSON.stringify({ status: current.status })}\n\n`);
  }
  res.end();
  return true;
}
