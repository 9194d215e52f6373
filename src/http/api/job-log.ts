import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { findTaskJobLog } from "../../db/queries/find-task-job-log.js";
import { listAgentJobLogLines } from "../../db/queries/list-agent-job-log-lines.js";
import type { ApiRouteDeps } from "./api-deps.js";
import { sendJson, sendProblem } from "./problem.js";

const ENDED = ["succeeded", "failed", "cancelled"];
// Live lines read per query; a full page is followed at once by the next.
const LIVE_PAGE = 500;

/**
 * `GET /api/tasks/{id}/jobs/{job}/log`: the job's redacted log as JSONL (stored when the job ends,
 * as `/jobs/:id/log` reads it: the evidence). `follow`: server-sent events: while the job runs, its
 * live lines as a `line` event each as they are stored (polled); once it ends, the stored log's
 * lines if no live line was sent (a job that ended before the stream began), then an `end` event
 * with the job's status.
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
        detail:
          "The job has not ended; its log is stored when it does. Add ?follow=1 to stream its live lines and the end.",
      });
    res.writeHead(200, { "content-type": "application/x-ndjson; charset=utf-8" }).end(found.log);
    return true;
  }
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", connection: "keep-alive" });
  res.write(": following\n\n");
  let closed = false;
  req.on("close", () => (closed = true));
  const sendLine = (line: string) => res.write(`event: line\ndata: ${line}\n\n`);
  let afterSeq = 0;
  let sentLive = 0;
  /** Sends the live lines stored since the last call; answers whether a full page came (more may wait). */
  const sendLiveLines = async (): Promise<boolean> => {
    const lines = await listAgentJobLogLines(deps.sql, jobId, afterSeq, LIVE_PAGE);
    for (const line of lines) if (!closed) sendLine(line.entry);
    afterSeq = lines.at(-1)?.seq ?? afterSeq;
    sentLive += lines.length;
    return lines.length === LIVE_PAGE;
  };
  let current = found;
  // A job that ended before the stream began has its stored log only.
  let ended = current.log !== null;
  while (!closed && !ended) {
    if (await sendLiveLines()) continue;
    current = (await findTaskJobLog(deps.sql, taskId, jobId)) ?? current;
    ended = current.log !== null || ENDED.includes(current.status);
    if (!ended) await sleep(deps.followPollMs ?? 250);
  }
  if (!closed && sentLive > 0) {
    // The job stores its last live lines before it ends: what came since the last poll.
    while (!closed && (await sendLiveLines()));
  }
  if (!closed) {
    if (sentLive === 0) for (const line of (current.log ?? "").split("\n")) if (line.trim() !== "") sendLine(line);
    res.write(`event: end\ndata: ${JSON.stringify({ status: current.status })}\n\n`);
  }
  res.end();
  return true;
}
