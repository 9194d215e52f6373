/**
 * What one agent job is given: the request (as data), its injected collaborators, and the
 * prompt a caller may still be rendering. Shared by run-agent-job.ts and run-job-in-workspace.ts.
 */
import type { Readable } from "node:stream";
import type { ExecutionLogEntry } from "./execution-log.js";
import type { GuardrailRules } from "./guardrails.js";
import type { ProfileSources } from "./profiles.js";
import type { JobHandle, Runner } from "./runner.js";
import type { WorkspaceLayers } from "./workspace.js";

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
