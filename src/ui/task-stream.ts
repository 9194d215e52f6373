/**
 * A task page's live stream (`/ui/tasks/<id>/events`, server-sent events for htmx's SSE
 * extension): every `pollMs` it sends the new timeline entries, the jobs when they changed (their
 * live lines as they are stored, then their logs), and the task's state when it moved. It ends
 * when the browser goes, on a failed read, or when the dashboard closes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { findTaskDocument } from "../db/queries/find-task-document.js";
import { listTaskJobLogs } from "../db/queries/list-task-job-logs.js";
import { listTaskTimeline } from "../db/queries/list-task-timeline.js";
import type { UiSession } from "./session.js";
import { describeJobs, findVisibleTask, presentJob } from "./task-page.js";
import type { UiContext } from "./ui-context.js";

/** Opens the task's stream from what the page showed (`seq`, `jobs` in the URL); 404 when the person cannot see it. */
export async function streamTask(
  context: UiContext,
  req: IncomingMessage,
  res: ServerResponse,
  session: UiSession,
  taskId: string,
  url: URL,
): Promise<true> {
  const { deps, render, streams } = context;
  const task = await findVisibleTask(context, session, taskId);
  if (!task) {
    res.writeHead(404, { "content-type": "text/plain" }).end("No such task.");
    return true;
  }
  let seq = Number(url.searchParams.get("seq") ?? 0) || 0;
  let jobsSeen = url.searchParams.get("jobs") ?? "";
  let state = String(task.state);
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  res.write(": live\n\n");
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const stop = () => {
    if (closed) return;
    closed = true;
    if (timer) clearTimeout(timer);
    streams.delete(stop);
    res.end();
  };
  streams.add(stop);
  req.on("close", stop);
  const send = (event: string, html: string) => {
    res.write(
      `event: ${event}\n${html
        .split("\n")
        .map((line) => `data: ${line}`)
        .join("\n")}\n\n`,
    );
  };
  const tick = async () => {
    try {
      const entries = await listTaskTimeline(deps.sql, taskId, seq);
      if (closed) return;
      if (entries.length > 0) {
        seq = entries.at(-1)!.seq;
        send("timeline", render.fragment("timeline-entries", { timeline: entries }));
      }
      const jobs = await listTaskJobLogs(deps.sql, taskId);
      const described = describeJobs(jobs);
      if (!closed && described !== jobsSeen) {
        jobsSeen = described;
        send("jobs", render.fragment("jobs", { jobs: jobs.map(presentJob) }));
      }
      const current = await findTaskDocument(deps.sql, taskId);
      if (!closed && current && String(current.state) !== state) {
        state = String(current.state);
        send("state", render.fragment("state", { state, step: current.step }));
      }
    } catch (error) {
      deps.log.error({ err: error, taskId }, "dashboard live stream failed");
      stop();
      return;
    }
    if (!closed) timer = setTimeout(() => void tick(), deps.pollMs);
  };
  timer = setTimeout(() => void tick(), 0);
  return true;
}
