import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import type { SqlClient } from "../db/client.js";
import { findTasksByIdPrefix } from "../db/queries/find-tasks-by-id-prefix.js";
import { listJobLogTokens } from "../db/queries/list-job-log-tokens.js";
import { listTaskAgentJobs } from "../db/queries/list-task-agent-jobs.js";
import { listTasks } from "../db/queries/list-tasks.js";
import { buildEvidenceUrl, buildJobLogUrl, buildRepoWebUrl } from "../engine/links.js";
import { buildActorName, runOperatorAction, type OperatorActor } from "../engine/operator-actions.js";
import { isTerminalState, TaskState } from "../workflow/states.js";
import type { Task } from "../workflow/task.js";
import { CommandError } from "./command-error.js";

/** The usage of `foreman tasks`. */
export const TASKS_USAGE = `Usage:
  foreman tasks list [--repo owner/name] [--state <state>[,<state>…] | --active | --ended] [--limit N]
  foreman tasks show <task id>            state, reason, steps, agent jobs and links
  foreman tasks stop <task id> [--as <name>]   what /foreman stop does: the task is cancelled, its agent stopped
  foreman tasks retry <task id> [--as <name>]  what /foreman retry does: escalated → another CI fix round; awaiting CI → read CI again
A task id may be shortened to any unique prefix (the 8 characters list shows).`;

/** What the tasks command uses. */
export interface TasksCommandDeps {
  sql: SqlClient;
  out: (text: string) => void;
  /** The OS user, named as the operator unless `--as` is given. */
  osUser: string;
  /** GitHub's web URL (https://github.com or the GHES host), for issue and PR links. */
  webBaseUrl: string;
  /** Foreman's PUBLIC_URL, for job log and evidence links. */
  publicUrl?: string;
  now?: () => Date;
}

const STATES: readonly string[] = Object.values(TaskState);
const ID_PREFIX = /^[0-9a-f-]{1,36}$/i;

/** `foreman tasks list|show|stop|retry`: read tasks, or steer one as an operator (the same events as the comment commands). */
export async function runTasksCommand(args: readonly string[], deps: TasksCommandDeps): Promise<number> {
  const [action, ...rest] = args;
  try {
    switch (action) {
      case "list":
        return await printTaskList(rest, deps);
      case "show":
        return await printTask(rest, deps);
      case "stop":
      case "retry":
        return await steerTask(action, rest, deps);
      case undefined:
      case "help":
      case "--help":
        deps.out(TASKS_USAGE);
        return action === undefined ? 2 : 0;
      default:
        throw new CommandError(`unknown tasks action "${action}"`);
    }
  } catch (error) {
    if (String((error as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS"))
      throw new CommandError(`${(error as Error).message}\n\n${TASKS_USAGE}`);
    if (error instanceof CommandError && !error.message.includes("Usage:"))
      throw new CommandError(`${error.message}\n\n${TASKS_USAGE}`);
    throw error;
  }
}

async function printTaskList(args: readonly string[], deps: TasksCommandDeps): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      repo: { type: "string" },
      state: { type: "string" },
      active: { type: "boolean" },
      ended: { type: "boolean" },
      limit: { type: "string" },
    },
  });
  const repo = values.repo === undefined ? undefined : parseRepo(values.repo);
  const chosen = [values.state !== undefined, values.active === true, values.ended === true].filter(Boolean);
  if (chosen.length > 1) throw new CommandError("--state, --active and --ended exclude each other: give one");
  let states: string[] | undefined;
  if (values.state !== undefined) {
    states = values.state.split(",").map((state) => state.trim());
    const unknown = states.find((state) => !STATES.includes(state));
    if (unknown !== undefined) throw new CommandError(`unknown state "${unknown}": use one of ${STATES.join(", ")}`);
  }
  if (values.active) states = STATES.filter((state) => !isTerminalState(state as TaskState));
  if (values.ended) states = STATES.filter((state) => isTerminalState(state as TaskState));
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new CommandError("--limit must be a whole number of tasks, 1 or more");
  const { tasks, more } = await listTasks(deps.sql, {
    ...(repo ? { repository: repo } : {}),
    ...(states ? { states } : {}),
    order: "updated",
    limit,
  });
  if (tasks.length === 0) {
    deps.out("No tasks match.");
    return 0;
  }
  const rows = tasks.map((task) => [
    task.id.slice(0, 8),
    `${task.repo.owner}/${task.repo.name}#${task.issueNumber}`,
    task.state,
    task.step ?? "-",
    task.prNumber === null ? "-" : `#${task.prNumber}`,
    task.updatedAt.slice(0, 19).replace("T", " "),
    truncate(task.issueTitle, 50),
  ]);
  deps.out(formatTable(["ID", "ISSUE", "STATE", "STEP", "PR", "UPDATED (UTC)", "TITLE"], rows));
  if (more) deps.out(`(the ${limit} most recently changed; --limit shows more)`);
  return 0;
}

async function printTask(args: readonly string[], deps: TasksCommandDeps): Promise<number> {
  const { positionals } = parseArgs({ args: [...args], options: {}, allowPositionals: true });
  const task = await findOneTask(deps.sql, positionals);
  const repoUrl = buildRepoWebUrl(deps.webBaseUrl, task.repo);
  const lines = [
    `Task ${task.id}`,
    `  issue     ${task.repo.owner}/${task.repo.name}#${task.issueNumber}: ${task.issueTitle}`,
    `  state     ${task.state}${task.resumeState ? ` (resumes to ${task.resumeState})` : ""}${task.frozenBy ? `, frozen by ${task.frozenBy}` : ""}`,
    `  trigger   ${task.triggerLabel} by ${task.triggeredBy} (${task.triggerVerdict})`,
    `  step      ${task.step ?? "-"}${task.pipeline.roles.length > 0 ? ` of ${task.pipeline.roles.join(" → ")}` : ""}`,
    `  branch    ${task.branch ?? "-"}${task.headSha ? ` at ${task.headSha.slice(0, 7)}` : ""}`,
    `  CI        ${task.pipeline.ci ? `${task.pipeline.ci.conclusion} on ${task.pipeline.ci.sha.slice(0, 7)}` : "-"}, ${task.pipeline.ciAttempts} fix attempt(s)`,
    `  usage     ${Math.round(task.usage.agentMs / 1000)} s of agent time, ${task.usage.tokens} tokens, $${task.usage.costUsd.toFixed(2)}`,
    `  created   ${task.createdAt}`,
    `  updated   ${task.updatedAt}`,
  ];
  if (task.reason) lines.push(`  reason    ${task.reason.code}: ${task.reason.message}`);
  lines.push("", "Steps:");
  if (task.pipeline.steps.length === 0) lines.push("  (none yet)");
  for (const [index, step] of task.pipeline.steps.entries()) {
    lines.push(
      `  ${index + 1}. ${step.role} (${step.purpose}) ${step.status}${step.commitSha ? ` → ${step.commitSha.slice(0, 7)}` : ""}${step.summary ? `: ${truncate(step.summary, 100)}` : ""}`,
    );
  }
  const jobs = await listTaskAgentJobs(deps.sql, task.id);
  lines.push("", "Agent jobs:");
  if (jobs.length === 0) lines.push("  (none)");
  const rows = jobs.map((job) => [
    String(job.id).slice(0, 8),
    String(job.role),
    String(job.profile),
    String(job.status),
    String(job.attempt),
    job.failure_code ? String(job.failure_code) : "-",
    job.started_at ? String(job.started_at).slice(0, 19).replace("T", " ") : "-",
    job.finished_at ? String(job.finished_at).slice(0, 19).replace("T", " ") : "-",
  ]);
  if (rows.length > 0)
    lines.push(
      indent(formatTable(["JOB", "ROLE", "PROFILE", "STATUS", "ATTEMPT", "FAILURE", "STARTED", "FINISHED"], rows)),
    );
  lines.push("", "Links:", `  issue     ${repoUrl}/issues/${task.issueNumber}`);
  if (task.prUrl) lines.push(`  PR        ${task.prUrl}`);
  if (deps.publicUrl) {
    const publicUrl = deps.publicUrl.replace(/\/+$/, "");
    lines.push(`  evidence  ${buildEvidenceUrl(publicUrl, task.id)}`);
    for (const job of await listJobLogTokens(deps.sql, task.id))
      lines.push(`  log       ${job.role} ${job.id.slice(0, 8)}: ${buildJobLogUrl(publicUrl, job.id, job.logToken)}`);
  } else {
    lines.push("  (set PUBLIC_URL for the evidence and job log links)");
  }
  deps.out(lines.join("\n"));
  return 0;
}

/**
 * `stop` / `retry` as an operator, through the same module as the API's actions
 * (`runOperatorAction`, `queue` mode): the `actor_checked` event a `/foreman stop|retry` comment
 * leads to once its sender's write access is confirmed, stored in the issue's lane (so it is ordered
 * with the issue's other events) for the running Foreman to apply, with an `operator.action` record
 * naming the operator in the same transaction. An operator is trusted by having the database
 * (`OPERATOR_ACTOR_ROLE`): no GitHub permission is read.
 */
async function steerTask(command: "stop" | "retry", args: readonly string[], deps: TasksCommandDeps): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { as: { type: "string" } },
    allowPositionals: true,
  });
  if (values.as !== undefined && !/^[\w.@-]{1,64}$/.test(values.as))
    throw new CommandError(
      "--as must be a name of letters, digits, '.', '_', '-' or '@' (at most 64), e.g. --as alice",
    );
  const actor: OperatorActor = { kind: "operator", user: values.as ?? deps.osUser };
  const task = await findOneTask(deps.sql, positionals);
  const issue = `${task.repo.owner}/${task.repo.name}#${task.issueNumber}`;
  if (isTerminalState(task.state)) {
    deps.out(
      command === "stop"
        ? `Task ${task.id} (${issue}) has already ended (${task.state}); there is nothing to stop.`
        : `Task ${task.id} (${issue}) has ended (${task.state}). To start a new one, add the agent label again or comment \`/foreman retry\` on the issue: ${buildRepoWebUrl(deps.webBaseUrl, task.repo)}/issues/${task.issueNumber}`,
    );
    return 1;
  }
  await runOperatorAction(
    deps.sql,
    { mode: "queue", clock: { now: deps.now ?? (() => new Date()), newId: randomUUID, random: Math.random } },
    { taskId: task.id, action: command, actor },
  );
  deps.out(
    `Asked Foreman to ${command} task ${task.id} (${issue}, ${task.state}) as ${buildActorName(actor)}; a running \`foreman serve\` applies it within seconds and answers on the issue. \`foreman tasks show ${task.id.slice(0, 8)}\` shows the result.`,
  );
  return 0;
}

async function findOneTask(sql: SqlClient, positionals: string[]): Promise<Task> {
  if (positionals.length !== 1) throw new CommandError("give exactly one task id, e.g. foreman tasks show 1a2b3c4d");
  const id = positionals[0]!;
  if (!ID_PREFIX.test(id))
    throw new CommandError(`"${id}" is not a task id: use the id (or its first characters) from foreman tasks list`);
  const found = await findTasksByIdPrefix(sql, id);
  if (found.length === 0) throw new CommandError(`no task has an id starting with ${id}: see foreman tasks list`);
  if (found.length > 1)
    throw new CommandError(`more than one task has an id starting with ${id}: give more characters`);
  return found[0]!;
}

function parseRepo(text: string): { owner: string; name: string } {
  const match = /^([\w.-]+)\/([\w.-]+)$/.exec(text);
  if (!match) throw new CommandError(`--repo must be owner/name, e.g. --repo acme/widgets (got "${text}")`);
  return { owner: match[1]!, name: match[2]! };
}

function truncate(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** A plain-text table: a header, then the rows, columns padded to their widest cell. */
function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const render = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd();
  return [render(header), ...rows.map(render)].join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}
