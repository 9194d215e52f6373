import { BUILT_IN_PROFILES, resolveProfile, type ProfileSources } from "../../agents/profiles.js";
import { collectForwardedEnv } from "../../agents/job-spec.js";
import type { AgentProfileOverride } from "../../agents/agent-profile.js";
import { DEFAULT_GUARDRAIL_RULES, type GuardrailRules } from "../../agents/guardrails.js";
import type { AgentJobOutcome } from "../../agents/job-outcome.js";
import { runAgentJob } from "../../agents/run-agent-job.js";
import type { ClaimedAgentJob } from "../../db/queries/claim-next-agent-job.js";
import { heartbeatAgentJob } from "../../db/queries/heartbeat-agent-job.js";
import { toTask } from "../../db/queries/task-row.js";
import { pushChanges, type PushOutcome } from "../../github/push-changes.js";
import { loadTemplates } from "../../prompts/load-templates.js";
import { renderPrompt } from "../../prompts/render-prompt.js";
import { isCodeRole } from "../../workflow/defaults.js";
import { EventType } from "../../workflow/events.js";
import type { Task } from "../../workflow/task.js";
import { deliverTaskEvent } from "../deliver-task-event.js";
import { fail, readUsage, requeue, succeed } from "./record-job-outcome.js";
import { classifyError } from "../../resilience/errors.js";
import type { AgentStepDeps } from "./agent-step-deps.js";
import { gatherPromptContext } from "./gather-prompt-context.js";
import type { PromptContext } from "../../prompts/prompt-context.js";
import { findShadowDiffRefs } from "../../db/queries/find-shadow-diff-refs.js";

const INFRA = new Set([
  "INFRA_WORKSPACE",
  "INFRA_DOCKER_UNAVAILABLE",
  "INFRA_IMAGE_PULL_FAILED",
  "INFRA_CONTAINER_FAILED",
  "INFRA_COLLECT_FAILED",
]);

/**
 * Run one leased job end to end: tell the task it started, render the prompt, run the container
 * under a heartbeat that stops it when the task is frozen or ended, push a code role's diff as one
 * verified commit (never a review role's, never in shadow mode), and hand the outcome to the task —
 * with the job's report and evidence — in one transaction.
 */
export async function runAgentStep(deps: AgentStepDeps, claimed: ClaimedAgentJob, signal: AbortSignal): Promise<void> {
  const { engine } = deps;
  const task = toTask(claimed.task);
  const octokit = await engine.github(task.repo.installationId);
  const actor = `agent:${claimed.profile}`;
  await engine.database.sql.begin((tx) =>
    deliverTaskEvent(
      tx,
      engine,
      task,
      { type: EventType.jobStarted, taskId: task.id, jobId: claimed.id, profile: claimed.profile },
      `job:${claimed.id}:started:${claimed.attempt}`,
      [
        {
          taskId: task.id,
          kind: "agent_job.started",
          actor,
          payload: {
            jobId: claimed.id,
            role: claimed.role,
            profile: claimed.profile,
            attempt: claimed.attempt,
            baseSha: claimed.baseSha,
          },
          createdAt: engine.now(),
        },
      ],
    ),
  );

  // 1. The profile and its secrets: a configuration problem is reported before anything is read or run.
  const profileSources: ProfileSources = {
    builtIn: BUILT_IN_PROFILES,
    appProfiles: deps.appProfiles,
    repoProfiles: (task.config?.profiles ?? {}) as Record<string, AgentProfileOverride>,
    imageAllowlist: deps.imageAllowlist,
    egressAllow: deps.egressAllow ?? [],
  };
  const profile = resolveProfile(claimed.profile, profileSources);
  if (!profile.ok) return fail(deps, claimed, task, profile.error.code, profile.error.message, "", null, null);
  const forwarded = collectForwardedEnv(profile.value, deps.agentSecrets);
  if (!forwarded.ok) return fail(deps, claimed, task, forwarded.error.code, forwarded.error.message, "", null, null);
  // Budgets: a task already over its agent time does not start another container.
  const budgetMinutes = task.config?.budgets.agentMinutes;
  if (budgetMinutes !== undefined && task.usage.agentMs >= budgetMinutes * 60_000) {
    return fail(
      deps,
      claimed,
      task,
      "BUDGET_EXCEEDED",
      `Agents have already worked ${Math.round(task.usage.agentMs / 60_000)} minutes on this task, its budget of ${budgetMinutes} minutes.`,
      "",
      null,
      null,
    );
  }

  // 2. The prompt, from what GitHub says at the job's base commit.
  const guardrails = buildGuardrails(task, deps.agentSecrets);
  let prompt: { text: string; sha256: string };
  let promptContext: PromptContext;
  try {
    const gathered = await gatherPromptContext(octokit, {
      task,
      role: claimed.role,
      attempt: claimed.attempt,
      baseSha: claimed.baseSha,
      shadowDiff: task.config?.mode === "shadow" ? await readShadowDiff(deps, task.id) : null,
      constraints: {
        protectedPaths: [...guardrails.protectedPaths],
        allowedPaths: guardrails.allowedPaths ? [...guardrails.allowedPaths] : undefined,
        maxFiles: guardrails.maxFiles,
        maxChangedLines: guardrails.maxChangedLines,
      },
    });
    const templates = await loadTemplates(gathered.overrides);
    if (!templates.ok)
      return await fail(
        deps,
        claimed,
        task,
        "PROFILE_INVALID",
        templates.errors.map((error) => `${error.file}: ${error.message}`).join("; "),
        "",
        null,
        null,
      );
    const rendered = renderPrompt(templates.templates, gathered.context);
    if (!("text" in rendered))
      return await fail(
        deps,
        claimed,
        task,
        "PROFILE_INVALID",
        `${rendered.error.file}: ${rendered.error.message}`,
        "",
        null,
        null,
      );
    prompt = { text: rendered.text, sha256: rendered.sha256 };
    promptContext = gathered.context;
  } catch (error) {
    const failure = classifyError(error);
    if (failure.retryable && claimed.attempt < deps.maxAttempts)
      return await requeue(deps, claimed, claimed.baseSha, failure.message);
    return await fail(deps, claimed, task, "INFRA_GITHUB", failure.message, "", null, null);
  }

  // 3. The container, under a heartbeat: a freeze or a cancel anywhere stops it within seconds.
  const controller = new AbortController();
  signal.addEventListener("abort", () => controller.abort(), { once: true });
  const beat = setInterval(() => {
    heartbeatAgentJob(engine.database.sql, claimed.id, engine.leaseMs)
      .then(({ cancelRequested }) => cancelRequested && controller.abort())
      .catch((error: unknown) => engine.log.warn({ err: error, jobId: claimed.id }, "agent job heartbeat failed"));
  }, deps.heartbeatMs);
  let outcome: AgentJobOutcome;
  try {
    outcome = await runAgentJob(
      {
        taskId: task.id,
        // One container per attempt (names must be unique); findLiveAgentJobIds uses the same form.
        jobId: `${claimed.id}-${claimed.attempt}`,
        replica: engine.replicaId,
        profileName: claimed.profile,
        profileSources,
        prompt: prompt.text,
        // The container contract's context.json: ids, and what the prompt was rendered from (the
        // issue thread, the plan, the diff under review, review feedback, CI failures).
        context: {
          taskId: task.id,
          jobId: claimed.id,
          role: claimed.role,
          attempt: claimed.attempt,
          issue: promptContext.issue,
          comments: promptContext.comments,
          repo: promptContext.repo,
          taskType: promptContext.taskType,
          branch: task.branch,
          baseSha: claimed.baseSha,
          plan: promptContext.plan ?? null,
          diff: promptContext.diff ?? null,
          review: promptContext.review ?? null,
          ciFailures: promptContext.ciFailures ?? [],
        },
        agentSecrets: deps.agentSecrets,
        guardrails,
        // A review role's changes are never pushed, so the guardrails have nothing to guard.
        discardChanges: !isCodeRole(claimed.role),
        workspaceBaseDir: deps.workspaceDir,
        keepFailedWorkspaceMs: deps.keepFailedWorkspaceMs,
        // Heartbeat (≤1 s) + this grace keeps "a freeze stops the container within 5 s" even for an agent ignoring SIGTERM.
        stopGraceSeconds: 3,
      },
      {
        runner: deps.runner,
        fetchTarball: async () => {
          const { data } = await octokit.rest.repos.downloadTarballArchive({
            owner: task.repo.owner,
            repo: task.repo.name,
            ref: claimed.baseSha,
          });
          return new Uint8Array(data as ArrayBuffer);
        },
        now: engine.now,
        signal: controller.signal,
      },
    );
  } finally {
    clearInterval(beat);
  }
  const usage = readUsage(outcome);
  const evidence = {
    prompt: prompt.text,
    promptSha256: prompt.sha256,
    log: outcome.log?.jsonl ?? null,
    image: outcome.run?.image ?? null,
    imageId: outcome.run?.imageId ?? null,
    exitCode: outcome.run?.exitCode ?? null,
  };

  // 4. The outcome: retry what infrastructure broke; report what the agent could not do.
  if (outcome.kind === "failed") {
    if (INFRA.has(outcome.code) && claimed.attempt < deps.maxAttempts)
      return requeue(deps, claimed, claimed.baseSha, outcome.message);
    // The runner's message already lists every broken guardrail.
    return fail(
      deps,
      claimed,
      task,
      outcome.code,
      outcome.message,
      outcome.logTail,
      usage,
      evidence,
      outcome.result ?? null,
    );
  }
  if (outcome.result.status === "failure") {
    return fail(
      deps,
      claimed,
      task,
      "AGENT_REPORTED_FAILURE",
      `The agent reported that it could not do the work: ${outcome.result.summary}`,
      "",
      usage,
      evidence,
      outcome.result,
    );
  }
  // Last look before writing to GitHub: a freeze or an end that came in meanwhile wins.
  if ((await heartbeatAgentJob(engine.database.sql, claimed.id, engine.leaseMs)).cancelRequested) {
    return fail(
      deps,
      claimed,
      task,
      "AGENT_STOPPED",
      "The task was frozen or ended while the agent ran; nothing was pushed.",
      "",
      usage,
      evidence,
      outcome.result,
    );
  }
  // 5. The push: review roles only report (their workspace changes are dropped), and shadow mode never pushes.
  if (!isCodeRole(claimed.role))
    return succeed(deps, claimed, task, outcome, usage, evidence, { kind: "skipped_review_role" });
  if (task.config?.mode === "shadow")
    return succeed(deps, claimed, task, outcome, usage, evidence, { kind: "skipped_shadow" });
  let pushed: PushOutcome;
  try {
    pushed = await pushChanges(octokit, {
      owner: task.repo.owner,
      repo: task.repo.name,
      branch: task.branch!,
      expectedHeadSha: claimed.baseSha,
      message: buildCommitMessage(task, claimed, outcome.result.title, outcome.result.summary),
      changes: outcome.changes,
    });
  } catch (error) {
    const failure = classifyError(error);
    if (failure.retryable && claimed.attempt < deps.maxAttempts)
      return requeue(deps, claimed, claimed.baseSha, failure.message);
    return fail(deps, claimed, task, "PUSH_FAILED", failure.message, "", usage, evidence, outcome.result);
  }
  if (pushed.kind === "conflict") {
    // A human pushed meanwhile: their commit is kept and the step runs again on top of it.
    if (pushed.actualHeadSha && claimed.attempt < deps.maxAttempts)
      return requeue(deps, claimed, pushed.actualHeadSha, pushed.message);
    return fail(deps, claimed, task, "BRANCH_MOVED", pushed.message, "", usage, evidence, outcome.result);
  }
  if (pushed.kind === "branch_missing")
    return fail(deps, claimed, task, "BRANCH_MISSING", pushed.message, "", usage, evidence, outcome.result);
  return succeed(
    deps,
    claimed,
    task,
    outcome,
    usage,
    evidence,
    pushed.kind === "no_changes" ? { kind: "no_changes" } : { kind: pushed.kind, commitSha: pushed.commitSha },
  );
}

function buildGuardrails(task: Task, secrets: Record<string, string>): GuardrailRules {
  const repo = (task.config?.guardrails ?? {}) as Partial<
    Pick<GuardrailRules, "maxFiles" | "maxChangedLines" | "maxDeletedFiles" | "protectedPaths" | "allowedPaths">
  >;
  // A repo may only tighten: lower limits win, protected paths add up.
  return {
    ...DEFAULT_GUARDRAIL_RULES,
    maxFiles: Math.min(DEFAULT_GUARDRAIL_RULES.maxFiles, repo.maxFiles ?? Infinity),
    maxChangedLines: Math.min(DEFAULT_GUARDRAIL_RULES.maxChangedLines, repo.maxChangedLines ?? Infinity),
    maxDeletedFiles: Math.min(DEFAULT_GUARDRAIL_RULES.maxDeletedFiles, repo.maxDeletedFiles ?? Infinity),
    protectedPaths: [...DEFAULT_GUARDRAIL_RULES.protectedPaths, ...(repo.protectedPaths ?? [])],
    ...(repo.allowedPaths ? { allowedPaths: repo.allowedPaths } : {}),
    forwardedSecrets: secrets,
  };
}

function buildCommitMessage(task: Task, job: ClaimedAgentJob, title: string | undefined, summary: string): string {
  const subject = (title ?? `${job.role}: ${task.issueTitle}`).split("\n")[0]!.slice(0, 72);
  return `${subject}\n\n${summary.slice(0, 4000)}\n\nForeman-Task: ${task.id}\nForeman-Job: ${job.id}`;
}

/** A shadow task's change so far: the diff evidence of its code steps, from the artifact store. */
async function readShadowDiff(deps: AgentStepDeps, taskId: string): Promise<string | null> {
  const refs = await findShadowDiffRefs(deps.engine.database.sql, taskId);
  const parts: string[] = [];
  for (const ref of refs) {
    const stored = await deps.artifacts.get(ref.sha256);
    if (stored) parts.push(`# The ${ref.role} step's change (shadow mode: not pushed)\n${stored.toString("utf8")}`);
  }
  return parts.length > 0 ? parts.join("\n\n") : null;
}
