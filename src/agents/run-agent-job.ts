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
 * Steps 1, 2 and the workspace's removal are here; 3 to 7, once the workspace is ready, are
 * run-job-in-workspace.ts's (with agent-job-result.ts reading the answer).
 *
 * It pushes nothing, touches no database and never sees a GitHub token: the tarball comes
 * from an injected function, and agent secrets come in as data.
 */
import { join } from "node:path";
import { Readable } from "node:stream";
import { GitTimeoutError } from "./git.js";
import { collectForwardedEnv, SANDBOX_DEFAULTS } from "./job-spec.js";
import { AGENT_JOB_FAILURE_CODES as CODES, type AgentJobOutcome } from "./job-outcome.js";
import { listAgentArtifactExcludes, resolveProfile } from "./profiles.js";
import { prepareWorkspace, removeWorkspace, writeJobPrompt, type PreparedWorkspace } from "./workspace.js";
import { WorkspaceQuotaError } from "./workspace-usage.js";
import type { AgentJobDeps, AgentJobRequest } from "./agent-job-request.js";
import { describe, endSentence, fail } from "./agent-job-failure.js";
import { isAborted, openJobEgress, runInWorkspace } from "./run-job-in-workspace.js";

export type { AgentJobDeps, AgentJobRequest, JobPrompt } from "./agent-job-request.js";

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

function parseUser(user: string): { uid: number; gid: number } {
  const [uid, gid] = user.split(":").map(Number);
  return { uid: uid ?? 65534, gid: gid ?? uid ?? 65534 };
}
