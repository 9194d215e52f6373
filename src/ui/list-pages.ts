/**
 * The dashboard's overview pages, each limited to the repositories the person can read: the board
 * (tasks by state), the reviews waiting, the agent job queue, the KPIs (and their JSON for the
 * charts), the compliance status (auditors and operators) and the settings (the pause).
 */
import type { ServerResponse } from "node:http";
import { countComplianceRecords } from "../db/queries/count-compliance-records.js";
import { findChainHead } from "../db/queries/find-chain-head.js";
import { findLatestCheckpoint } from "../db/queries/find-latest-checkpoint.js";
import { findPauseSetting } from "../db/queries/find-pause-setting.js";
import { listBoardTasks } from "../db/queries/list-board-tasks.js";
import { listDailyTaskKpis } from "../db/queries/list-daily-task-kpis.js";
import { listOpenAgentJobs } from "../db/queries/list-open-agent-jobs.js";
import { ACTIVE_STATES, TERMINAL_STATES } from "../workflow/states.js";
import type { UiSession } from "./session.js";
import { SECURITY_HEADERS, type UiContext } from "./ui-context.js";

/** `/ui/`: a column per active state, and the ended states that have tasks. */
export async function sendBoard(context: UiContext, res: ServerResponse, session: UiSession): Promise<true> {
  const tasks = await listBoardTasks(context.deps.sql, session.repoIds);
  const columns = [...ACTIVE_STATES, ...TERMINAL_STATES].map((state) => ({
    state,
    tasks: tasks.filter((task) => task.state === state),
  }));
  return context.sendPage(res, 200, "board", session, {
    columns: columns.filter((column) => column.tasks.length > 0 || ACTIVE_STATES.includes(column.state)),
    empty: tasks.length === 0,
  });
}

/** `/ui/reviews`: the tasks ready for review, the longest waiting first. */
export async function sendReviews(context: UiContext, res: ServerResponse, session: UiSession): Promise<true> {
  const tasks = (await listBoardTasks(context.deps.sql, session.repoIds)).filter(
    (task) => task.state === "ready_for_review",
  );
  tasks.sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime());
  return context.sendPage(res, 200, "reviews", session, { tasks });
}

/** `/ui/queue`: the agent jobs running and queued. */
export async function sendQueue(context: UiContext, res: ServerResponse, session: UiSession): Promise<true> {
  const jobs = await listOpenAgentJobs(context.deps.sql, session.repoIds);
  return context.sendPage(res, 200, "queue", session, {
    running: jobs.filter((job) => job.status === "running"),
    queued: jobs.filter((job) => job.status === "queued"),
  });
}

/** `/ui/kpis`: the daily task figures as a table (the charts load `/ui/kpis/data.json`). */
export async function sendKpis(context: UiContext, res: ServerResponse, session: UiSession): Promise<true> {
  return context.sendPage(res, 200, "kpis", session, {
    days: await listDailyTaskKpis(context.deps.sql, session.repoIds),
  });
}

/** `/ui/kpis/data.json`: the daily task figures as columns, for uPlot. */
export async function sendKpiData(context: UiContext, res: ServerResponse, session: UiSession): Promise<true> {
  const days = await listDailyTaskKpis(context.deps.sql, session.repoIds);
  res.writeHead(200, { "content-type": "application/json", ...SECURITY_HEADERS }).end(
    JSON.stringify({
      days: days.map((day) => day.day),
      started: days.map((day) => day.started),
      merged: days.map((day) => day.merged),
      failed: days.map((day) => day.failed),
      costUsd: days.map((day) => day.costUsd),
    }),
  );
  return true;
}

/** `/ui/compliance`: the chain's size, head and latest checkpoint, and the last verification (auditors and operators). */
export async function sendCompliance(context: UiContext, res: ServerResponse, session: UiSession): Promise<true> {
  if (!session.roles.includes("auditor") && !session.roles.includes("operator")) {
    return context.sendMessage(
      res,
      403,
      session,
      "Not allowed",
      "The compliance status is for auditors (UI_AUDITORS) and operators (UI_OPERATORS).",
    );
  }
  const [records, head, checkpoint] = await Promise.all([
    countComplianceRecords(context.deps.sql),
    findChainHead(context.deps.sql),
    findLatestCheckpoint(context.deps.sql),
  ]);
  return context.sendPage(res, 200, "compliance", session, {
    records,
    head,
    checkpoint,
    lastVerify: context.state.lastVerify,
  });
}

/** `/ui/settings`: the global pause, and what the last pause or resume did. */
export async function sendSettings(
  context: UiContext,
  res: ServerResponse,
  session: UiSession,
  done: string | null,
): Promise<true> {
  const pause = await findPauseSetting(context.deps.sql);
  return context.sendPage(res, 200, "settings", session, {
    paused: pause?.paused ?? false,
    pause,
    pausedByEnv: context.deps.pausedByEnv,
    done: done === "paused" || done === "resumed" || done === "unchanged" ? done : null,
  });
}
