/**
 * One agent job's step, as a numbered pipeline (runAgentStep below): the start announced, the
 * profile and budget checked, the container run under a heartbeat and the outcome judged here;
 * the prompt is render-job-prompt.ts's, the repository fetch-job-repository.ts's, and the push
 * or failed end end-agent-step.ts's.
 */
import type { AgentProfileOverride } from "../../agents/agent-profile.js";
import { traceWork } from "../../telemetry/tracing.js";
import { DEFAULT_GUARDRAIL_RULES, type GuardrailRules } from "../../agents/guardrails.js";
import { collectForwardedEnv } from "../../agents/job-spec.js";
import type { AgentJobOutcome, AgentJobSucceeded } from "../../agents/job-outcome.js";
import { BUILT_IN_PROFILES, resolveProfile, type ProfileSources } from "../../agents/profiles.js";
import { EXECUTION_LOG_MAX_BYTES } from "../../agents/execution-log.js";
import { runAgentJob, type JobPrompt } from "../../agents/run-agent-job.js";
import { buildRedactor } from "../../logging/redact.js";
import type { ClaimedAgentJob } from "../../db/queries/claim-next-agent-job.js";
import { heartbeatAgentJob } from "../../db/queries/heartbeat-agent-job.js";
import { toTask } from "../../db/queries/task-row.js";
import { buildContextFile } from "../../prompts/build-context-file.js";
import { isCodeRole } from "../../workflow/defaults.js";
import { EventType } from "../../workflow/events.js";
import { findBudgetOverrun, JobFailureCode } from "../../workflow/job-failure.js";
import type { Task } from "../../workflow/task.js";
import { deliverTaskEvent } from "../deliver-task-event.js";
import type { AgentStep as Step, AgentStepDeps } from "./agent-step-deps.js";
import { createLiveLogWriter } from "./live-log-writer.js";
import { endInFailure, pushWork } from "./end-agent-step.js";
import { canUseSnapshots, fetchRepository, fetchSnapshot, type SandboxUser } from "./fetch-job-repository.js";
import { renderJobPrompt, type RenderedPrompt } from "./render-job-prompt.js";
import { fail, readUsage, type JobEvidence, type JobFailure } from "./record-job-outcome.js";

/**
 * Run one leased job end to end, as a numbered pipeline: 1. tell the task it started; 2. check the
 * profile, its secrets and the budget; 3. render the prompt from GitHub at the job's base commit;
 * 4. run the container under a heartbeat that stops it when the task is frozen or ended; 5. judge
 * the outcome; 6. push a code role's diff as one verified commit (never a review role's, never in
 * shadow mode). Every end goes to the task with the job's report and evidence in one transaction;
 * whether a failure is tried again is the workflow's decision (`decideJobRetry`).
 */
export async function runAgentStep(deps: AgentStepDeps, claimed: ClaimedAgentJob, signal: AbortSignal): Promise<void> {
  const task = toTask(claimed.task);
  const step: Step = { deps, job: claimed, task, octokit: await deps.engine.github(task.repo.installationId) };
  // 1–4 overlap: the start is recorded, the prompt rendered and the workspace prepared at once (each
  // waited on the one before: 1–3 s with 10 jobs starting on 2 busy cores). The container starts once
  // its prompt is written; the start's transition (awaiting_agent → running) gates nothing there, but
  // every end is recorded after it.
  const announced = settle(announceStart(step));
  const prepared = checkProfileAndBudget(step);
  if ("failure" in prepared) {
    await unwrap(announced);
    return fail(deps, claimed, task, prepared.failure);
  }
  const rendering = settle(renderJobPrompt(step, prepared.guardrails));
  const outcome = await runContainer(
    step,
    prepared.profileSources,
    prepared.guardrails,
    () => unwrap(rendering),
    signal,
  );
  await unwrap(announced);
  const prompt = await unwrap(rendering);
  // A prompt that could not be rendered is the step's failure (its container never started).
  if ("failure" in prompt) return endInFailure(step, prompt.failure, prompt.transient);
  const evidence: JobEvidence = {
    prompt: prompt.text,
    promptSha256: prompt.sha256,
    log: outcome.log?.jsonl ?? null,
    image: outcome.run?.image ?? null,
    imageId: outcome.run?.imageId ?? null,
    exitCode: outcome.run?.exitCode ?? null,
    egress: outcome.run?.egress ?? null,
  };
  const judged = await judgeOutcome(step, outcome, evidence);
  if ("failure" in judged) return endInFailure(step, judged.failure, judged.transient);
  return pushWork(step, judged.succeeded, evidence);
}

/** A promise's outcome as a value: awaited later without an unhandled rejection meanwhile. */
type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

async function unwrap<T>(settled: Promise<Settled<T>>): Promise<T> {
  const outcome = await settled;
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** 1. The task learns its job started (and the record says which job, role and base). */
async function announceStart({ deps, job, task }: Step): Promise<void> {
  const { engine } = deps;
  await engine.database.sql.begin((tx) =>
    deliverTaskEvent(
      tx,
      engine,
      task,
      { type: EventType.jobStarted, taskId: task.id, jobId: job.id, profile: job.profile },
      `job:${job.id}:started:${job.attempt}`,
      [
        {
          taskId: task.id,
          kind: "agent_job.started",
          actor: `agent:${job.profile}`,
          payload: { jobId: job.id, role: job.role, profile: job.profile, attempt: job.attempt, baseSha: job.baseSha },
          createdAt: engine.now(),
        },
      ],
    ),
  );
}

/** 2. The profile and its secrets, and the budget: a configuration problem is reported before anything is read or run. */
function checkProfileAndBudget({
  deps,
  job,
  task,
}: Step): { profileSources: ProfileSources; guardrails: GuardrailRules } | { failure: JobFailure } {
  const profileSources: ProfileSources = {
    builtIn: BUILT_IN_PROFILES,
    appProfiles: deps.appProfiles,
    repoProfiles: (task.config?.profiles ?? {}) as Record<string, AgentProfileOverride>,
    imageAllowlist: deps.imageAllowlist,
    egressAllow: deps.egressAllow ?? [],
    repoOverrides: deps.repoOverrides,
    maxLimits: deps.maxLimits,
  };
  const profile = resolveProfile(job.profile, profileSources);
  if (!profile.ok) return { failure: { code: profile.error.code, message: profile.error.message } };
  const forwarded = collectForwardedEnv(profile.value, deps.agentSecrets);
  if (!forwarded.ok) return { failure: { code: forwarded.error.code, message: forwarded.error.message } };
  // A task that has spent a budget in full does not start another container.
  const overrun = findBudgetOverrun(task.usage, task.config?.budgets, "before_step");
  if (overrun !== null) return { failure: { code: JobFailureCode.budgetExceeded, message: overrun } };
  return { profileSources, guardrails: buildGuardrails(task, deps.agentSecrets) };
}

/** 4. The container, under a heartbeat: a freeze or a cancel anywhere stops it within seconds. */
async function runContainer(
  { deps, job, task, octokit }: Step,
  profileSources: ProfileSources,
  guardrails: GuardrailRules,
  awaitPrompt: () => Promise<RenderedPrompt | { failure: JobFailure }>,
  signal: AbortSignal,
): Promise<AgentJobOutcome> {
  const { engine } = deps;
  const snapshots = await canUseSnapshots(deps);
  const controller = new AbortController();
  signal.addEventListener("abort", () => controller.abort(), { once: true });
  const beat = setInterval(() => {
    heartbeatAgentJob(engine.database.sql, job.id, engine.leaseMs)
      .then(({ cancelRequested }) => cancelRequested && controller.abort())
      .catch((error: unknown) => engine.log.warn({ err: error, jobId: job.id }, "agent job heartbeat failed"));
  }, deps.heartbeatMs);
  // The live log: what followers of the job's log see before the stored log replaces it.
  const live = createLiveLogWriter({
    sql: engine.database.sql,
    jobId: job.id,
    attempt: job.attempt,
    redact: buildRedactor(deps.secrets),
    maxBytes: EXECUTION_LOG_MAX_BYTES,
    flushMs: deps.liveLogFlushMs ?? 500,
    maxLines: 100,
    onError: (error) => engine.log.warn({ err: error, jobId: job.id }, "agent job live log not stored"),
  });
  // The container contract's context.json: ids, and what the prompt was rendered from (the
  // issue thread, the plan, the diff under review, review feedback, CI failures).
  // Sanitised and capped as the prompt is (`buildContextFile`): the same text, never the raw one.
  const readPrompt = async (): Promise<JobPrompt | null> => {
    const prompt = await awaitPrompt();
    if ("failure" in prompt) return null;
    const ids = { taskId: task.id, jobId: job.id, role: job.role, attempt: job.attempt, branch: task.branch };
    return { prompt: prompt.text, context: { ...ids, baseSha: job.baseSha, ...buildContextFile(prompt.context) } };
  };
  try {
    return await traceWork("container", { attributes: { "foreman.profile": job.profile } }, () =>
      runAgentJob(
        {
          taskId: task.id,
          // One container per attempt (names must be unique); findLiveAgentJobIds uses the same form.
          jobId: `${job.id}-${job.attempt}`,
          replica: engine.replicaId,
          profileName: job.profile,
          profileSources,
          // Written by `readPrompt` once rendered (deps.awaitPrompt).
          prompt: "",
          context: null,
          agentSecrets: deps.agentSecrets,
          guardrails,
          // A review role's changes are never pushed, so the guardrails have nothing to guard.
          discardChanges: !isCodeRole(job.role),
          workspaceBaseDir: deps.workspaceDir,
          keepFailedWorkspaceMs: deps.keepFailedWorkspaceMs,
          hostCommandTimeoutMs: deps.hostCommandTimeoutMs,
          workspaceMaxBytes: deps.workspaceMaxBytes,
          // Heartbeat (≤1 s) + this grace keeps "a freeze stops the container within 5 s" even for an agent ignoring SIGTERM.
          stopGraceSeconds: 3,
        },
        {
          runner: deps.runner,
          fetchTarball: () => fetchRepository({ deps, job, task, octokit }),
          ...(snapshots
            ? { fetchSnapshot: (user: SandboxUser) => fetchSnapshot({ deps, job, task, octokit }, user) }
            : {}),
          awaitPrompt: readPrompt,
          now: engine.now,
          signal: controller.signal,
          onLogLine: (entry) => live.add(entry),
        },
      ),
    );
  } finally {
    clearInterval(beat);
    await live.close();
  }
}

/** 5. What the agent's run came to: its own failure, the runner's, a freeze that came meanwhile, or work to push. */
async function judgeOutcome(
  { deps, job }: Step,
  outcome: AgentJobOutcome,
  evidence: JobEvidence,
): Promise<{ succeeded: AgentJobSucceeded } | { failure: JobFailure; transient: boolean }> {
  const usage = readUsage(outcome);
  if (outcome.kind === "failed") {
    // The runner's message already lists every broken guardrail; its infrastructure trouble is transient.
    const failure = { code: outcome.code, message: outcome.message, logTail: outcome.logTail, usage, evidence };
    return { failure: { ...failure, result: outcome.result ?? null }, transient: true };
  }
  if (outcome.result.status === "failure") {
    const message = `The agent reported that it could not do the work: ${outcome.result.summary}`;
    return {
      failure: { code: JobFailureCode.agentReportedFailure, message, usage, evidence, result: outcome.result },
      transient: false,
    };
  }
  // Last look before writing to GitHub: a freeze or an end that came in meanwhile wins.
  if ((await heartbeatAgentJob(deps.engine.database.sql, job.id, deps.engine.leaseMs)).cancelRequested) {
    const message = "The task was frozen or ended while the agent ran; nothing was pushed.";
    return {
      failure: { code: JobFailureCode.agentStopped, message, usage, evidence, result: outcome.result },
      transient: false,
    };
  }
  return { succeeded: outcome };
}

function buildGuardrails(task: Task, secrets: Record<string, string>): GuardrailRules {
  const repo = (task.config?.guardrails ?? {}) as Partial<
    Pick<
      GuardrailRules,
      "maxFiles" | "maxChangedLines" | "maxDiffBytes" | "maxDeletedFiles" | "protectedPaths" | "allowedPaths"
    >
  >;
  // A repo may only tighten: lower limits win, protected paths add up.
  return {
    ...DEFAULT_GUARDRAIL_RULES,
    maxFiles: Math.min(DEFAULT_GUARDRAIL_RULES.maxFiles, repo.maxFiles ?? Infinity),
    maxChangedLines: Math.min(DEFAULT_GUARDRAIL_RULES.maxChangedLines, repo.maxChangedLines ?? Infinity),
    maxDiffBytes: Math.min(DEFAULT_GUARDRAIL_RULES.maxDiffBytes, repo.maxDiffBytes ?? Infinity),
    maxDeletedFiles: Math.min(DEFAULT_GUARDRAIL_RULES.maxDeletedFiles, repo.maxDeletedFiles ?? Infinity),
    protectedPaths: [...DEFAULT_GUARDRAIL_RULES.protectedPaths, ...(repo.protectedPaths ?? [])],
    ...(repo.allowedPaths ? { allowedPaths: repo.allowedPaths } : {}),
    forwardedSecrets: secrets,
  };
}
