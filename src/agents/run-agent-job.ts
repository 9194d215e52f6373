/**
 * Runs ONE agent job on the host side, from a profile name to a typed outcome:
 *
 *   1. resolve the profile and check its secrets   (before anything is downloaded)
 *   2. prepare the workspace from the tarball (or mount the commit's snapshot)
 *   3. for `network: egress`, open the job's network through the egress proxy; build the
 *      container spec and start it
 *   4. wait, with the profile's wall-clock timeout (or until the caller aborts)
 *   5. collect the redacted execution log, remove the container, hand the agent's files back to
 *      the host user (src/agents/hand-back.ts), close the egress network and add its records
 *      (every connection attempt) to the log
 *   6. read result.json (or the CLI's output file)
 *   7. collect the diff and apply the guardrails
 *
 * It pushes nothing, touches no database and never sees a GitHub token: the tarball comes
 * from an injected function, and agent secrets come in as data.
 */
import { join } from "node:path";
import { Readable } from "node:stream";
import type { AgentResult } from "./agent-result.js";
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
import { RunnerError } from "./errors.js";
import { GitTimeoutError } from "./git.js";
import {
  buildExecutionLog,
  buildLogEntry,
  formatLogTail,
  type ExecutionLog,
  type ExecutionLogEntry,
} from "./execution-log.js";
import { checkChanges, DEFAULT_GUARDRAIL_RULES, GUARDRAIL_RULES, type GuardrailRules } from "./guardrails.js";
import { describeUnreadableEntry, findUnreadableEntries } from "./hand-back.js";
import { buildContainerSpec, collectForwardedEnv, SANDBOX_DEFAULTS } from "./job-spec.js";
import {
  AGENT_JOB_FAILURE_CODES as CODES,
  type AgentJobFailed,
  type AgentJobOutcome,
  type JobRunFacts,
} from "./job-outcome.js";
import { listAgentArtifactExcludes, resolveProfile, type ProfileSources, type ResolvedProfile } from "./profiles.js";
import { buildRedactor, type Redactor } from "../logging/redact.js";
import { buildResultFromOutput, readFileSafely, readResult, type ReadResultOutcome } from "./result.js";
import { readCliOutput, type CliVerdict } from "./cli-output.js";
import { describeRefusedEgress } from "../workflow/job-failure.js";
import type { CapturedLogs, EgressSession, JobHandle, LogFollow, Runner, WaitOutcome } from "./runner.js";
import {
  prepareWorkspace,
  removeWorkspace,
  writeJobPrompt,
  type PreparedWorkspace,
  type WorkspaceLayers,
} from "./workspace.js";
import { checkDiskQuota, DEFAULT_WORKSPACE_MAX_BYTES, WorkspaceQuotaError } from "./workspace-usage.js";

/** Everything one job needs, as data. */
export interface AgentJobRequest {
  readonly taskId: string;
  readonly jobId: string;
  readonly replica: string;
  readonly profileName: string;
  readonly profileSources: ProfileSources;
  /** For the `script` profile (or any profile): run `sh -c <script>` instead of the profile's command. */
  readonly script?: string;
  /** The prompt and context.json (ignored when `deps.awaitPrompt` is given: it supplies them). */
  readonly prompt: string;
  readonly context: unknown;
  /** Agent API keys by variable name. Never the app's environment, never a GitHub token. */
  readonly agentSecrets: Readonly<Record<string, string | undefined>>;
  readonly guardrails?: Partial<GuardrailRules>;
  /**
   * The job's changes will be thrown away, never pushed (a planner's or reviewer's scratch files,
   * build output): they are still collected, for the record, but the guardrails do not judge them.
   */
  readonly discardChanges?: boolean;
  readonly workspaceBaseDir: string;
  /** Keep a failed job's directory this long for debugging (default: remove at once). */
  readonly keepFailedWorkspaceMs?: number;
  readonly logMaxBytes?: number;
  readonly stopGraceSeconds?: number;
  /** Time limit of each host-side git command (HOST_COMMAND_TIMEOUT_SECONDS; default 300 s). */
  readonly hostCommandTimeoutMs?: number;
  /** WORKSPACE_MAX_MB: disk the repository copy and out/ may take, before and after the agent ran (default 4096 MB). */
  readonly workspaceMaxBytes?: number;
}

/** The job's collaborators, injected. */
export interface AgentJobDeps {
  readonly runner: Runner;
  /** The repository at the branch head, as GitHub's tarball endpoint returns it. */
  readonly fetchTarball: () => Promise<Readable | Uint8Array>;
  /**
   * Instead of the tarball, when set: the read-only snapshot of the job's commit for the sandbox
   * user, which the workspace mounts (src/agents/workspace-snapshots.ts; root only).
   */
  readonly fetchSnapshot?: (sandboxUser: { uid: number; gid: number }) => Promise<WorkspaceLayers>;
  readonly now: () => Date;
  /** Aborting stops the container (freeze, `/foreman stop`); the outcome is AGENT_STOPPED. */
  readonly signal?: AbortSignal;
  /** Called once the container runs, e.g. to record its id so another replica can stop it. */
  readonly onStarted?: (handle: JobHandle) => void | Promise<void>;
  /** Each line of the container's output while it runs, redacted as the stored log is (live readers). */
  readonly onLogLine?: (entry: ExecutionLogEntry) => void;
  /**
   * The prompt and context.json still being made (rendered from GitHub) while the workspace is
   * prepared: awaited once it is, before the container starts. Null: they could not be made; the
   * job ends before its container (AGENT_STOPPED) and the caller reports why.
   */
  readonly awaitPrompt?: () => Promise<JobPrompt | null>;
}

/** A job's prompt and the content of its context.json. */
export interface JobPrompt {
  readonly prompt: string;
  readonly context: unknown;
}

/** Runs one agent job to completion and describes how it ended. */
export async function runAgentJob(request: AgentJobRequest, deps: AgentJobDeps): Promise<AgentJobOutcome> {
  // 1. Profile and secrets: configuration errors cost nothing to report.
  const resolved = resolveProfile(request.profileName, request.profileSources);
  if (!resolved.ok) return fail(resolved.error.code, resolved.error.message);
  const profile = resolved.value;
  const forwarded = collectForwardedEnv(profile, request.agentSecrets);
  if (!forwarded.ok) return fail(forwarded.error.code, forwarded.error.message);

  // 2. Workspace, while the job's way out (network: egress) opens: neither needs the other.
  if (isAborted(deps.signal)) return fail(CODES.AGENT_STOPPED, "The job was stopped before its container started.");
  const opening = openJobEgress(request, deps.runner, profile);
  let workspace: PreparedWorkspace;
  let tarball: Readable | Uint8Array | undefined;
  try {
    const common = {
      baseDir: request.workspaceBaseDir,
      jobId: request.jobId,
      // A prompt still rendering is written once the repository is ready, below.
      ...(deps.awaitPrompt === undefined ? { prompt: request.prompt, context: request.context } : {}),
      promptFile: profile.promptFile ?? SANDBOX_DEFAULTS.promptFile,
      sandboxUser: parseUser(profile.user ?? SANDBOX_DEFAULTS.user),
      excludes: listAgentArtifactExcludes(profile),
      hostCommandTimeoutMs: request.hostCommandTimeoutMs,
      maxBytes: request.workspaceMaxBytes,
    };
    if (deps.fetchSnapshot !== undefined) {
      const snapshot = await deps.fetchSnapshot(common.sandboxUser);
      workspace = await prepareWorkspace({ ...common, snapshot, now: deps.now() });
    } else {
      tarball = await deps.fetchTarball();
      workspace = await prepareWorkspace({ ...common, tarball, now: deps.now() });
    }
  } catch (error) {
    // A download that was not read to its end still holds its temporary file open.
    if (tarball instanceof Readable) tarball.destroy();
    await removeWorkspace(join(request.workspaceBaseDir, request.jobId)).catch(() => undefined);
    const opened = await opening;
    if (opened.ok && opened.session !== null) await deps.runner.closeEgress?.(opened.session).catch(() => undefined);
    // Before the agent ran, the repository is all there is: a slow git is the operator's to size.
    const advice =
      error instanceof GitTimeoutError
        ? " This is for the operator: the repository is too large to prepare within HOST_COMMAND_TIMEOUT_SECONDS."
        : error instanceof WorkspaceQuotaError
          ? " This is for the operator: raise WORKSPACE_MAX_MB, or this repository is too large for agent jobs."
          : "";
    return fail(
      CODES.INFRA_WORKSPACE,
      `The repository could not be prepared for the agent: ${endSentence(describe(error))}${advice}`,
    );
  }

  // The prompt, rendered meanwhile: the container needs it, nothing before did.
  const written = await writeAwaitedPrompt(deps, workspace).catch((error: unknown) => ({ error }));
  if (written !== true) {
    await removeWorkspace(workspace.jobDir).catch(() => undefined);
    const opened = await opening;
    if (opened.ok && opened.session !== null) await deps.runner.closeEgress?.(opened.session).catch(() => undefined);
    if (written !== false) throw written.error;
    return fail(CODES.AGENT_STOPPED, "The job's prompt could not be made, so its container was not started.");
  }

  const opened = await opening;
  // Host work on the agent's files that an early outcome (stopped, timed out) did not wait for.
  const readers: Promise<unknown>[] = [];
  const outcome = opened.ok
    ? await runInWorkspace(request, deps, profile, workspace, forwarded.value, opened.session, readers)
    : opened.failure;
  // Removing the directory while git still reads it in there would leave it half removed.
  await Promise.all(readers);
  const keepForMs = outcome.kind === "failed" ? (request.keepFailedWorkspaceMs ?? 0) : 0;
  // A failed clean-up must not hide the outcome: sweepWorkspaces removes leftovers later.
  await removeWorkspace(workspace.jobDir, { keepForMs, now: deps.now() }).catch(() => undefined);
  return outcome;
}

// True once the prompt is in place (or was given with the request); false when it could not be made.
async function writeAwaitedPrompt(deps: AgentJobDeps, workspace: PreparedWorkspace): Promise<boolean> {
  if (deps.awaitPrompt === undefined) return true;
  const made = await deps.awaitPrompt();
  if (made === null) return false;
  await writeJobPrompt(workspace, made.prompt, made.context);
  return true;
}

async function runInWorkspace(
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
async function openJobEgress(
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

// A CLI with a machine-readable output (outputFormat) is read from its output file and, for
// the errors some CLIs print there, its stderr. Null: the profile has no such output.
async function readCliVerdict(
  workspace: PreparedWorkspace,
  profile: ResolvedProfile,
  log: ExecutionLog,
): Promise<CliVerdict | null> {
  if (profile.outputFormat === undefined || profile.outputFile === undefined) return null;
  const output = await readFileSafely(join(workspace.outDir, profile.outputFile), 4 * 1024 * 1024);
  const stdout = output.ok ? output.content.toString("utf8") : "";
  const stderr = log.entries
    .filter((entry) => entry.stream === "stderr")
    .map((entry) => entry.line)
    .join("\n");
  return readCliOutput(profile.outputFormat, { stdout, stderr });
}

// What a model API failure means, and whose it is: credentials and quotas are the operator's, an
// outage is temporary (the job is tried again), a refused request is the agent settings'.
function describeModelError(
  profile: ResolvedProfile,
  status: number | null,
  said: string,
): { code: AgentJobFailed["code"]; message: string } {
  const answer = status === null ? "no answer" : `HTTP ${status}`;
  const quoted = said.replace(/\s+/g, " ").trim().slice(0, 500);
  const keys = profile.env.length > 0 ? profile.env.join(", ") : "its API key";
  if (status === 401 || status === 403) {
    return {
      code: CODES.MODEL_API_UNAUTHORIZED,
      message: `The model API refused the agent's credentials (${answer}: ${quoted}). This is for the operator to fix: the key Foreman gives profile "${profile.name}" (${keys} in the agent secrets) is missing, wrong or expired. Nothing was pushed.`,
    };
  }
  if (status === 429) {
    return {
      code: CODES.MODEL_API_RATE_LIMITED,
      message: `The model API is rate-limiting the agent (${answer}: ${quoted}). Foreman tries the step again later; if it keeps happening, the operator should raise the quota of the key behind ${keys}. Nothing was pushed.`,
    };
  }
  if (status === null || status >= 500) {
    return {
      code: CODES.MODEL_API_UNAVAILABLE,
      message: `The model API failed (${answer}: ${quoted}). This is usually temporary and Foreman tries the step again; if it persists, the operator should check the model API or its gateway. Nothing was pushed.`,
    };
  }
  return {
    code: CODES.MODEL_API_REJECTED,
    message: `The model API refused the agent's request (${answer}: ${quoted}). Check the agent settings of profile "${profile.name}" (its model, its gateway URL). Nothing was pushed.`,
  };
}

// A failed run still says what it spent, so the budgets and the evidence count it.
function buildFailedResult(verdict: Extract<CliVerdict, { kind: "model_error" }>): AgentResult {
  return {
    status: "failure",
    summary: verdict.message.slice(0, 65_536) || "failed",
    ...(verdict.usage ? { usage: verdict.usage } : {}),
  };
}

// CLIs that cannot write result.json leave their last words in the profile's output file,
// under /foreman/out or (windsurfinabox) at the workspace root; one with a machine-readable
// output has been read already (`cli`).
async function readAgentResult(
  workspace: PreparedWorkspace,
  profile: ResolvedProfile,
  cli: CliVerdict | null,
): Promise<ReadResultOutcome> {
  const read = await readResult(workspace.outDir);
  if (read.ok) return { ok: true, result: withCliAccounting(read.result, cli) };
  if (read.reason !== "missing" || profile.outputFile === undefined) return read;
  if (cli?.kind === "answered") return { ok: true, result: cli.result };
  if (cli?.kind === "unreadable") {
    return { ...read, message: `The agent exited without writing /foreman/out/result.json, and ${cli.reason}` };
  }
  for (const dir of [workspace.outDir, workspace.workspaceDir]) {
    const output = await readFileSafely(join(dir, profile.outputFile), 1024 * 1024);
    if (output.ok) return { ok: true, result: buildResultFromOutput(output.content.toString("utf8")) };
  }
  return {
    ...read,
    message: `The agent exited without writing /foreman/out/result.json or its output file ${profile.outputFile}.`,
  };
}

// The CLI counted what the model spent, so its usage and model are the record's: an agent's own
// result.json (a reviewer's review, a planner's plan) may not know them. What result.json says wins.
function withCliAccounting(result: AgentResult, cli: CliVerdict | null): AgentResult {
  if (cli?.kind !== "answered") return result;
  const model = result.model ?? cli.result.model;
  const usage = cli.result.usage === undefined ? result.usage : { ...cli.result.usage, ...result.usage };
  return { ...result, ...(model === undefined ? {} : { model }), ...(usage === undefined ? {} : { usage }) };
}

function redactResult(result: AgentResult, redact: Redactor): AgentResult {
  // Everything here may end up in a PR or comment: no secret the agent saw may reach it.
  return {
    ...result,
    summary: redact(result.summary),
    ...(result.title === undefined ? {} : { title: redact(result.title) }),
    ...(result.body === undefined ? {} : { body: redact(result.body) }),
    ...(result.review === undefined
      ? {}
      : {
          review: {
            body: redact(result.review.body),
            ...(result.review.comments === undefined
              ? {}
              : { comments: result.review.comments.map((comment) => ({ ...comment, body: redact(comment.body) })) }),
          },
        }),
  };
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

function isPermissionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "EACCES" || code === "EPERM";
}

// A message that may already end its sentence.
function endSentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

// A list ends its paragraph: what follows it starts a new one.
function appendSentence(message: string, sentence: string): string {
  if (sentence === "") return message;
  return `${message}${message.includes("\n") ? "\n\n" : " "}${sentence}`;
}

// A function, not an inline check: the signal changes under our feet while we await.
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function parseUser(user: string): { uid: number; gid: number } {
  const [uid, gid] = user.split(":").map(Number);
  return { uid: uid ?? 65534, gid: gid ?? uid ?? 65534 };
}

function fail(code: AgentJobFailed["code"], message: string): AgentJobFailed {
  return { kind: "failed", code, message, logTail: "", log: null, run: null };
}

function failFromRunner(error: unknown): AgentJobFailed {
  if (error instanceof RunnerError) return fail(error.code, error.message);
  return fail(CODES.INFRA_CONTAINER_FAILED, `The container engine failed: ${describe(error)}`);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
