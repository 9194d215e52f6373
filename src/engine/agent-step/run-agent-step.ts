import type { Readable } from "node:stream";
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
import { findShadowDiffRefs } from "../../db/queries/find-shadow-diff-refs.js";
import { heartbeatAgentJob } from "../../db/queries/heartbeat-agent-job.js";
import { toTask } from "../../db/queries/task-row.js";
import { downloadRepoTarball } from "../../github/download-repo-tarball.js";
import { openMirrorArchive, readMirrorCommit } from "../../github/repo-mirror.js";
import {
  detectSnapshotSupport,
  ensureSnapshot,
  snapshotsPathOf,
  type WorkspaceSnapshot,
} from "../../agents/workspace-snapshots.js";
import type { GitHubClient } from "../../github/octokit.js";
import { pushChanges, type PushOutcome } from "../../github/push-changes.js";
import { buildContextFile } from "../../prompts/build-context-file.js";
import { recordJobPush } from "../../db/queries/record-job-push.js";
import { saveAgentJobTemplate } from "../../db/queries/save-agent-job-template.js";
import { describePromptTemplate } from "../../prompts/describe-prompt-template.js";
import { loadTemplates } from "../../prompts/load-templates.js";
import type { PromptContext } from "../../prompts/prompt-context.js";
import { renderPromptInWorker } from "../../prompts/render-prompt.js";
import { classifyError } from "../../resilience/errors.js";
import { isCodeRole } from "../../workflow/defaults.js";
import { EventType } from "../../workflow/events.js";
import { decideJobRetry, findBudgetOverrun, JobFailureCode } from "../../workflow/job-failure.js";
import type { Task } from "../../workflow/task.js";
import { deliverTaskEvent } from "../deliver-task-event.js";
import type { AgentStepDeps } from "./agent-step-deps.js";
import { gatherPromptContext } from "./gather-prompt-context.js";
import { createLiveLogWriter } from "./live-log-writer.js";
import { fail, readUsage, requeue, succeed, type JobEvidence, type JobFailure } from "./record-job-outcome.js";

/** One leased job and what every stage needs of it. */
interface Step {
  deps: AgentStepDeps;
  job: ClaimedAgentJob;
  task: Task;
  octokit: GitHubClient;
}

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

/** A rendered prompt and what it was rendered from. */
interface RenderedPrompt {
  text: string;
  sha256: string;
  context: PromptContext;
}

/** 3. The prompt, from what GitHub says at the job's base commit (prompt overrides and guidance files included). */
async function renderJobPrompt(
  { deps, job, task, octokit }: Step,
  guardrails: GuardrailRules,
): Promise<RenderedPrompt | { failure: JobFailure; transient: boolean }> {
  try {
    const gathered = await gatherPromptContext(octokit, {
      task,
      role: job.role,
      attempt: job.attempt,
      baseSha: job.baseSha,
      shadowDiff: task.config?.mode === "shadow" ? await readShadowDiff(deps, task.id) : null,
      constraints: {
        protectedPaths: [...guardrails.protectedPaths],
        allowedPaths: guardrails.allowedPaths ? [...guardrails.allowedPaths] : undefined,
        maxFiles: guardrails.maxFiles,
        maxChangedLines: guardrails.maxChangedLines,
        maxDiffBytes: guardrails.maxDiffBytes,
      },
    });
    const templates = await loadTemplates(gathered.overrides);
    if (!templates.ok) {
      const message = templates.errors.map((error) => `${error.file}: ${error.message}`).join("; ");
      const code = templates.errors[0]?.code ?? JobFailureCode.promptTemplateInvalid;
      return { failure: { code, message }, transient: false };
    }
    const rendered = await renderPromptInWorker(templates.templates, gathered.context, {
      ...(deps.renderPool ? { pool: deps.renderPool } : {}),
    });
    if (!("text" in rendered)) {
      const message = `${rendered.error.file}: ${rendered.error.message}`;
      return { failure: { code: rendered.error.code, message }, transient: false };
    }
    // Which template (and its hash) the job used: the per-template statistics group jobs by it.
    const template = describePromptTemplate(templates.templates, rendered.templateNames, job.role, task.type);
    await saveAgentJobTemplate(deps.engine.database.sql, job.id, template);
    return { text: rendered.text, sha256: rendered.sha256, context: gathered.context };
  } catch (error) {
    const failure = classifyError(error);
    return { failure: { code: JobFailureCode.infraGithub, message: failure.message }, transient: failure.retryable };
  }
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

/**
 * The repository at the job's commit as a tar stream: from this host's mirror (WORKSPACE_SOURCE=mirror,
 * only new objects fetched), or GitHub's tarball, streamed to a temporary file under REPO_TARBALL_MAX_MB.
 */
async function fetchRepository({ deps, job, task, octokit }: Step): Promise<Readable> {
  if (deps.mirror === undefined) {
    return downloadRepoTarball(octokit, {
      owner: task.repo.owner,
      repo: task.repo.name,
      ref: job.baseSha,
      maxBytes: deps.repoTarballMaxBytes,
      timeoutMs: deps.hostCommandTimeoutMs,
    });
  }
  const { archive, report } = await openMirrorArchive({
    mirrorsDir: deps.mirror.dir,
    repoId: task.repo.id,
    remoteUrl: `${deps.mirror.gitBaseUrl}/${task.repo.owner}/${task.repo.name}.git`,
    // The installation token, minted (or cached) by the client; only git's environment sees it.
    token: async () => ((await octokit.auth({ type: "installation" })) as { token: string }).token,
    commit: job.baseSha,
    timeoutMs: deps.hostCommandTimeoutMs,
    now: deps.engine.now(),
  });
  deps.engine.log.info({ jobId: job.id, ...report }, "repository mirror ready");
  return archive;
}

type SandboxUser = { uid: number; gid: number };

/** WORKSPACE_SOURCE=mirror as root with overlayfs: workspaces are mounted from per-commit snapshots (ADR 0105). */
export async function canUseSnapshots(deps: AgentStepDeps): Promise<boolean> {
  return deps.mirror !== undefined && (await detectSnapshotSupport(deps.mirror.dir));
}

/** The job's commit as a mounted snapshot for the sandbox user, built from this host's mirror (a thin layer when it can). */
async function fetchSnapshot({ deps, job, task, octokit }: Step, user: SandboxUser): Promise<WorkspaceSnapshot> {
  const mirror = deps.mirror;
  if (mirror === undefined) throw new Error("snapshots need WORKSPACE_SOURCE=mirror");
  const params = {
    mirrorsDir: mirror.dir,
    repoId: task.repo.id,
    remoteUrl: `${mirror.gitBaseUrl}/${task.repo.owner}/${task.repo.name}.git`,
    token: async () => ((await octokit.auth({ type: "installation" })) as { token: string }).token,
    commit: job.baseSha,
    timeoutMs: deps.hostCommandTimeoutMs,
    now: deps.engine.now(),
  };
  const { snapshot, report } = await readMirrorCommit(params, async (reader) => ({
    report: reader.report,
    snapshot: await ensureSnapshot({
      snapshotsDir: snapshotsPathOf(mirror.dir, task.repo.id),
      source: reader,
      commit: job.baseSha,
      sandboxUser: user,
      timeoutMs: deps.hostCommandTimeoutMs,
      now: deps.engine.now(),
    }),
  }));
  deps.engine.log.info(
    { jobId: job.id, ...report, snapshot: snapshot.built, layers: snapshot.layerDirs.length },
    "repository snapshot ready",
  );
  return snapshot;
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

/** 6. The push: review roles only report (their workspace changes are dropped), and shadow mode never pushes. */
async function pushWork(step: Step, outcome: AgentJobSucceeded, evidence: JobEvidence): Promise<void> {
  const { deps, job, task, octokit } = step;
  const usage = readUsage(outcome);
  if (!isCodeRole(job.role)) return succeed(deps, job, task, outcome, usage, evidence, { kind: "skipped_review_role" });
  if (task.config?.mode === "shadow")
    return succeed(deps, job, task, outcome, usage, evidence, { kind: "skipped_shadow" });
  const spent = { usage, evidence, result: outcome.result };
  let pushed: PushOutcome;
  try {
    pushed = await pushChanges(octokit, {
      owner: task.repo.owner,
      repo: task.repo.name,
      branch: task.branch!,
      expectedHeadSha: job.baseSha,
      message: buildCommitMessage(task, job, outcome.result.title, outcome.result.summary),
      ownTrailer: buildJobTrailer(job),
      changes: outcome.changes,
      // Known as Foreman's own push when GitHub reports it (not by the sender being a bot).
      recordCommit: (commitSha) => recordJobPush(deps.engine.database.sql, job.id, commitSha),
    });
  } catch (error) {
    const failure = classifyError(error);
    return endInFailure(
      step,
      { code: JobFailureCode.pushFailed, message: failure.message, ...spent },
      failure.retryable,
    );
  }
  if (pushed.kind === "conflict") {
    // A human pushed meanwhile: their commit is kept and the step runs again on top of it.
    const failure = { code: JobFailureCode.branchMoved, message: pushed.message, ...spent };
    return endInFailure(step, failure, false, pushed.actualHeadSha);
  }
  if (pushed.kind === "branch_missing") {
    return fail(deps, job, task, { code: JobFailureCode.branchMissing, message: pushed.message, ...spent });
  }
  if (pushed.kind === "pushed") deps.engine.log.info({ jobId: job.id, path: pushed.path }, "agent job pushed");
  const disposition =
    pushed.kind === "no_changes"
      ? { kind: "no_changes" as const }
      : pushed.kind === "pushed"
        ? { kind: pushed.kind, commitSha: pushed.commitSha, path: pushed.path }
        : { kind: pushed.kind, commitSha: pushed.commitSha };
  return succeed(deps, job, task, outcome, usage, evidence, disposition);
}

/** A failure: tried again when the workflow says so (`decideJobRetry`), else the job ends and the task is told. */
async function endInFailure(
  { deps, job, task }: Step,
  failure: JobFailure,
  transient: boolean,
  newHeadSha: string | null = null,
): Promise<void> {
  const decision = decideJobRetry(
    { code: failure.code, transient, newHeadSha },
    { attempt: job.attempt, maxAttempts: deps.maxAttempts, baseSha: job.baseSha },
  );
  if (decision.retry) return requeue(deps, job, decision.baseSha, failure.message);
  return fail(deps, job, task, failure);
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

function buildCommitMessage(task: Task, job: ClaimedAgentJob, title: string | undefined, summary: string): string {
  const subject = (title ?? `${job.role}: ${task.issueTitle}`).split("\n")[0]!.slice(0, 72);
  return `${subject}\n\n${summary.slice(0, 4000)}\n\nForeman-Task: ${task.id}\n${buildJobTrailer(job)}`;
}

// The commit message's last line: by it a second push of the same job knows the first one's commit.
function buildJobTrailer(job: ClaimedAgentJob): string {
  return `Foreman-Job: ${job.id}`;
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
