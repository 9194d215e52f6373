/**
 * The container part of one agent job, once its workspace is ready: the job's way out
 * (`network: egress`), the container started, waited for and removed, its redacted log, the
 * agent's files handed back, the disk it used, then its result, diff and guardrails as an outcome.
 * Called by run-agent-job.ts, which prepares and removes the workspace around it.
 */
import type { CollectedChanges } from "./changes.js";
import { collectChanges } from "./collect-changes.js";
import {
  buildEgressLogLines,
  buildJobEgressFacts,
  listRefusedDestinations,
  mergeLogLinesByTime,
  type JobEgressFacts,
} from "./egress/egress-log.js";
import { toEgressRules } from "./egress/egress-rule.js";
import { GitTimeoutError } from "./git.js";
import { buildExecutionLog, buildLogEntry, formatLogTail, type ExecutionLog } from "./execution-log.js";
import { checkChanges, DEFAULT_GUARDRAIL_RULES, GUARDRAIL_RULES, type GuardrailRules } from "./guardrails.js";
import { describeUnreadableEntry, findUnreadableEntries } from "./hand-back.js";
import { buildContainerSpec, SANDBOX_DEFAULTS } from "./job-spec.js";
import {
  AGENT_JOB_FAILURE_CODES as CODES,
  type AgentJobFailed,
  type AgentJobOutcome,
  type JobRunFacts,
} from "./job-outcome.js";
import { type ResolvedProfile } from "./profiles.js";
import { buildRedactor } from "../logging/redact.js";
import { type ReadResultOutcome } from "./result.js";
import { type CliVerdict } from "./cli-output.js";
import { describeRefusedEgress } from "../workflow/job-failure.js";
import type { CapturedLogs, EgressSession, JobHandle, LogFollow, Runner, WaitOutcome } from "./runner.js";
import { type PreparedWorkspace } from "./workspace.js";
import { checkDiskQuota, DEFAULT_WORKSPACE_MAX_BYTES, WorkspaceQuotaError } from "./workspace-usage.js";
import type { AgentJobDeps, AgentJobRequest } from "./agent-job-request.js";
import { appendSentence, describe, fail, failFromRunner, isPermissionError } from "./agent-job-failure.js";
import {
  buildFailedResult,
  describeModelError,
  readAgentResult,
  readCliVerdict,
  redactResult,
} from "./agent-job-result.js";

export async function runInWorkspace(
  request: AgentJobRequest,
  deps: AgentJobDeps,
  profile: ResolvedProfile,
  workspace: PreparedWorkspace,
  secrets: Readonly<Record<string, string>>,
  egress: EgressSession | null,
  readers: Promise<unknown>[],
): Promise<AgentJobOutcome> {
  // The profile's `env` are its secrets; its `optionalEnv` are settings (a gateway URL, a model).
  const secretValues = Object.fromEntries(profile.env.map((name) => [name, secrets[name] ?? ""]));
  const redact = buildRedactor(Object.values(secretValues));
  const rules: GuardrailRules = { ...DEFAULT_GUARDRAIL_RULES, ...request.guardrails, forwardedSecrets: secretValues };
  // The byte limit is measured before the diff's content is read: a huge diff is never loaded.
  const collect = (): Promise<Settled<CollectedChanges>> =>
    settle(collectChanges(workspace, { maxDiffBytes: rules.maxDiffBytes, timeoutMs: request.hostCommandTimeoutMs }));
  // 3. The container, on the job's way out.
  let egressFacts: JobEgressFacts | undefined;
  // Runs once, after the container is gone: the records, then the network and policy removed.
  const closeEgress = async (): Promise<void> => {
    if (egress === null || egressFacts !== undefined || deps.runner.closeEgress === undefined) return;
    const report = await deps.runner.closeEgress(egress).catch((error: unknown) => ({
      records: [],
      notes: [`The egress records could not be collected and the job network may be left behind: ${describe(error)}`],
    }));
    // The agent chose the host names: a secret spelled into one is redacted like any output.
    const records = report.records.map((record) => ({ ...record, host: redact(record.host) }));
    egressFacts = buildJobEgressFacts(egress, { ...report, records }, profile.egressRefused ?? []);
  };

  const spec = buildContainerSpec(profile, {
    taskId: request.taskId,
    jobId: request.jobId,
    replica: request.replica,
    paths: workspace,
    hostEnv: request.agentSecrets,
    ...(request.script === undefined ? {} : { script: request.script }),
    ...(egress === null ? {} : { egress }),
  });
  if (!spec.ok) {
    await closeEgress();
    return fail(spec.error.code, spec.error.message);
  }
  if (isAborted(deps.signal)) {
    await closeEgress();
    return fail(CODES.AGENT_STOPPED, "The job was stopped before its container started.");
  }

  const startedAt = deps.now().getTime();
  let handle: JobHandle;
  try {
    handle = await deps.runner.start(spec.value, { files: workspace, timeoutMs: profile.timeoutSeconds * 1000 });
  } catch (error) {
    await closeEgress();
    return failFromRunner(error);
  }
  let waited: WaitOutcome;
  let captured: CapturedLogs;
  // The files are handed back, the disk measured and the diff read while the egress closes: the
  // container is gone, so the workspace is final.
  let measuring: Promise<Settled<void>> | undefined;
  let collecting: Promise<Settled<CollectedChanges>> | undefined;
  let handedBack: Settled<void> | undefined;
  let ran = false;
  let following: LogFollow | undefined;
  const stopOnAbort = (): void => {
    deps.runner.stop(handle, { graceSeconds: request.stopGraceSeconds ?? 5 }).catch(() => undefined);
  };
  try {
    deps.signal?.addEventListener("abort", stopOnAbort, { once: true });
    // Aborted while the container was starting: the event has fired already.
    if (isAborted(deps.signal)) stopOnAbort();
    await deps.onStarted?.(handle);
    // The live lines, redacted line by line as the stored log is; the stored log is still read below.
    const onLogLine = deps.onLogLine;
    if (onLogLine !== undefined)
      following = deps.runner.followLogs?.(handle, (line) =>
        onLogLine(buildLogEntry(line, { redact, now: deps.now().toISOString() })),
      );
    // 4. Wait.
    waited = await deps.runner.wait(handle, { timeoutMs: profile.timeoutSeconds * 1000 });
    // A runner without a shared host directory brings the agent's files back now (Kubernetes).
    if (!isAborted(deps.signal)) await deps.runner.retrieveFiles?.(handle);
    // 5. Logs.
    captured = await deps.runner.logs(
      handle,
      request.logMaxBytes === undefined ? {} : { maxBytes: request.logMaxBytes },
    );
    ran = true;
  } catch (error) {
    return failFromRunner(error);
  } finally {
    deps.signal?.removeEventListener("abort", stopOnAbort);
    // The container has exited (or failed): its followed stream has ended or ends now.
    following?.stop();
    await following?.done;
    await deps.runner.remove(handle).catch(() => undefined);
    // Before anything on the host reads the agent's files or removes them: the hand-back, then the
    // disk the agent used, then the diff (a workspace over its quota is not read at all).
    const handingBack = settle(handBackFiles(deps.runner, request, profile, workspace));
    if (ran) {
      const measured = handingBack.then(() =>
        settle(
          checkDiskQuota(
            "the workspace",
            [workspace.workspaceDir, workspace.outDir],
            request.workspaceMaxBytes ?? DEFAULT_WORKSPACE_MAX_BYTES,
          ),
        ),
      );
      measuring = measured;
      collecting = measured.then((quota) => (quota.ok ? collect() : quota));
      readers.push(collecting);
    }
    await closeEgress();
    handedBack = await handingBack;
  }
  const facts = egressFacts as JobEgressFacts | undefined;
  const lines =
    facts === undefined || egress === null
      ? captured.lines
      : mergeLogLinesByTime(captured.lines, buildEgressLogLines(facts, egress.openedAt, deps.now().toISOString()));
  const log: ExecutionLog = buildExecutionLog(lines, { redact, now: deps.now() });
  const run: JobRunFacts = {
    image: profile.image,
    imageId: handle.imageId ?? null,
    profile: profile.name,
    exitCode: waited.exitCode,
    durationMs: deps.now().getTime() - startedAt,
    ...(facts === undefined ? {} : { egress: facts }),
  };
  // Messages can quote what the agent wrote (a JSON parse error shows a snippet): redact them too.
  const failed = (
    code: AgentJobFailed["code"],
    message: string,
    extra: Partial<AgentJobFailed> = {},
  ): AgentJobFailed => ({
    kind: "failed",
    code,
    // What the proxy refused is often why the agent failed: the issue names it.
    message: redact(appendSentence(message, describeRefusedEgress(listRefusedDestinations(facts)))),
    logTail: formatLogTail(log),
    log,
    run,
    ...extra,
  });

  if (isAborted(deps.signal)) return failed(CODES.AGENT_STOPPED, "The job was stopped while the agent was running.");
  if (waited.killedOutside === true)
    return failed(
      CODES.INFRA_CONTAINER_LOST,
      "The agent's container was stopped from outside Foreman while it ran (the Docker daemon shut down or " +
        "restarted, or someone stopped the container); the agent itself did not fail. This is for the operator; " +
        "Foreman runs the step again while attempts remain.",
    );
  if (waited.timedOut)
    return failed(
      CODES.AGENT_TIMEOUT,
      `The agent did not finish within ${profile.timeoutSeconds} seconds and was stopped. Raise \`timeoutSeconds\` of profile "${profile.name}" or narrow the issue.`,
    );
  if (waited.oomKilled && waited.exitCode !== 0)
    return failed(
      CODES.AGENT_OOM,
      `The agent ran out of memory (${profile.memoryMb} MB) and was killed. Raise \`memoryMb\` of profile "${profile.name}".`,
    );
  // A file the host still cannot read after the hand-back is the agent's doing, never Foreman's.
  const rejectUnreadable = async (extra: Partial<AgentJobFailed> = {}): Promise<AgentJobFailed | null> => {
    const entries = await findUnreadableEntries(workspace).catch(() => []);
    if (entries.length === 0) return null;
    const list = entries.map((entry) => `- ${describeUnreadableEntry(entry)}`).join("\n");
    const handBack =
      handedBack?.ok === false
        ? ` (Foreman's hand-back of the agent's files failed: ${describe(handedBack.error)})`
        : "";
    return failed(
      CODES.GUARDRAIL_REJECTED,
      `The agent left files Foreman cannot read${handBack}, so nothing was pushed:\n${list}\n\nThe agent must leave what it writes readable (files 0644, directories 0755).`,
      {
        violations: entries.map((entry) => ({
          rule: GUARDRAIL_RULES.unreadableEntry,
          path: entry.path,
          message: `${describeUnreadableEntry(entry)} cannot be read by Foreman.`,
        })),
        ...extra,
      },
    );
  };

  // What the agent left on the host's disk: over the quota, it is the agent's doing, whatever it says.
  const quota = await measuring;
  if (quota?.ok === false && quota.error instanceof WorkspaceQuotaError)
    return failed(
      CODES.GUARDRAIL_REJECTED,
      `The agent's changes were not pushed: after the agent ran, ${quota.error.message}. The agent wrote more than a job may leave behind; if the task really needs more room, the operator can raise WORKSPACE_MAX_MB.`,
    );
  // 6. Result: result.json, or a CLI's own output (whose error names the model API's answer).
  let cli: CliVerdict | null;
  let answer: ReadResultOutcome | null = null;
  try {
    cli = await readCliVerdict(workspace, profile, log);
    if (cli?.kind !== "model_error" && waited.exitCode === 0) answer = await readAgentResult(workspace, profile, cli);
  } catch (error) {
    if (!isPermissionError(error)) throw error;
    const rejected = await rejectUnreadable();
    if (rejected === null) throw error;
    return rejected;
  }
  if (cli?.kind === "model_error") {
    const failure = describeModelError(profile, cli.status, cli.message);
    return failed(failure.code, failure.message, { result: buildFailedResult(cli) });
  }
  if (answer === null)
    return failed(
      CODES.AGENT_EXIT_NONZERO,
      `The agent exited with code ${waited.exitCode ?? "unknown"}. The end of its log is below.`,
    );
  if (!answer.ok) return failed(answer.code, answer.message);
  const result = redactResult(answer.result, redact);

  // 7. Diff and guardrails.
  const read = await (collecting ?? collect());
  // A git that cannot finish on what the agent left (a huge or sparse file, a named pipe as
  // .gitignore) is the agent's doing: trying again would only hold the host as long again.
  if (!read.ok && read.error instanceof GitTimeoutError) {
    return failed(
      CODES.GUARDRAIL_REJECTED,
      `The agent's changes were not pushed: reading them from the workspace took too long (${read.error.message} on the host). The agent left something git cannot read in time, such as a huge or sparse file or a named pipe. If the repository really needs longer, the operator can raise HOST_COMMAND_TIMEOUT_SECONDS.`,
      { result },
    );
  }
  if (!read.ok) {
    const rejected = await rejectUnreadable({ result });
    if (rejected !== null) return rejected;
    return failed(
      CODES.INFRA_COLLECT_FAILED,
      `The agent's changes could not be read from the workspace: ${describe(read.error)}`,
      { result },
    );
  }
  const collected = read.value;
  const verdict = request.discardChanges ? ({ ok: true } as const) : checkChanges(collected.changes, rules, collected);
  if (!verdict.ok) {
    const list = verdict.violations.map((violation) => `- ${violation.message}`).join("\n");
    return failed(
      CODES.GUARDRAIL_REJECTED,
      `The agent's changes were not pushed because they break ${verdict.violations.length === 1 ? "a guardrail" : "guardrails"}:\n${list}`,
      { violations: verdict.violations, result },
    );
  }
  return { kind: "succeeded", result, changes: collected.changes, baseCommit: workspace.baseCommit, log, run };
}

// `network: egress` needs a runner with the firewall; other networks need nothing opened.
export async function openJobEgress(
  request: AgentJobRequest,
  runner: Runner,
  profile: ResolvedProfile,
): Promise<{ ok: true; session: EgressSession | null } | { ok: false; failure: AgentJobFailed }> {
  if (profile.network !== "egress") return { ok: true, session: null };
  if (runner.openEgress === undefined || runner.closeEgress === undefined) {
    return {
      ok: false,
      failure: fail(
        CODES.INFRA_CONTAINER_FAILED,
        `Agent profile "${profile.name}" uses \`network: egress\`, but this runner has no egress firewall.`,
      ),
    };
  }
  try {
    const session = await runner.openEgress({
      taskId: request.taskId,
      jobId: request.jobId,
      replica: request.replica,
      rules: toEgressRules(profile.egress ?? []),
    });
    return { ok: true, session };
  } catch (error) {
    return { ok: false, failure: failFromRunner(error) };
  }
}

/** A promise's outcome as a value: started early, awaited (or not) later, never an unhandled rejection. */
type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

// The hand-back runs whenever the container ran, so that the host can also remove what the agent left.
async function handBackFiles(
  runner: Runner,
  request: AgentJobRequest,
  profile: ResolvedProfile,
  workspace: PreparedWorkspace,
): Promise<void> {
  await runner.handBack?.({
    taskId: request.taskId,
    jobId: request.jobId,
    replica: request.replica,
    image: profile.image,
    user: profile.user ?? SANDBOX_DEFAULTS.user,
    workspaceDir: workspace.workspaceDir,
    outDir: workspace.outDir,
  });
}

// A function, not an inline check: the signal changes under our feet while we await.
export function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
