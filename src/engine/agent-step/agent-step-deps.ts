import type { AgentProfileOverride } from "../../agents/agent-profile.js";
import type { EgressRule } from "../../agents/egress/egress-rule.js";
import type { ProfileLimits } from "../../agents/profiles.js";
import type { RepoOverridePolicy } from "../../agents/repo-override-policy.js";
import type { Runner } from "../../agents/runner.js";
import type { ArtifactStore } from "../../compliance/artifacts.js";
import type { EngineDeps } from "../deps.js";
import type { ClaimedAgentJob } from "../../db/queries/claim-next-agent-job.js";
import type { GitHubClient } from "../../github/octokit.js";
import type { Task } from "../../workflow/task.js";
import type { RenderWorkerPool } from "../../prompts/render-worker-pool.js";

/** What the job runner needs beyond the engine. */
export interface AgentStepDeps {
  engine: EngineDeps;
  /** Where prompts, logs and diffs are kept as evidence, content-addressed. */
  artifacts: ArtifactStore;
  /** Values to redact from evidence before it is hashed and stored. */
  secrets: readonly string[];
  runner: Runner;
  imageAllowlist: string[];
  /** AGENT_EGRESS_ALLOW: destinations every `network: egress` job may reach (default none). */
  egressAllow?: EgressRule[];
  appProfiles: Record<string, AgentProfileOverride>;
  /** REPO_PROFILE_OVERRIDES and REPO_PROFILE_SECRETS: what a repository's `profiles:` may change. */
  repoOverrides: RepoOverridePolicy;
  /** AGENT_MAX_*: the most any job gets. */
  maxLimits: ProfileLimits;
  agentSecrets: Record<string, string>;
  workspaceDir: string;
  keepFailedWorkspaceMs: number;
  /** HOST_COMMAND_TIMEOUT_SECONDS: the time limit of each git command Foreman runs on the host for a job. */
  hostCommandTimeoutMs: number;
  /** WORKSPACE_MAX_MB: the disk a job's repository copy and out/ may take, before and after the agent ran. */
  workspaceMaxBytes: number;
  /** REPO_TARBALL_MAX_MB: the largest repository archive a job downloads from GitHub. */
  repoTarballMaxBytes: number;
  /**
   * WORKSPACE_SOURCE=mirror: each repository is kept as a bare mirror under `dir` and fetched
   * incrementally from `gitBaseUrl` (e.g. https://github.com); absent: the tarball, every step.
   */
  mirror?: { dir: string; gitBaseUrl: string; maxBytes: number; maxAgeMs: number };
  heartbeatMs: number;
  /** How often a running job's new log lines are stored for live readers (default 500 ms; or at once per 100 lines). */
  liveLogFlushMs?: number;
  /** Attempts for infrastructure failures and branch moves before the step fails. */
  maxAttempts: number;
  /** The long-lived prompt render workers (main.ts's, closed on stop); absent: a worker per render. */
  renderPool?: RenderWorkerPool;
}

/** One leased job and what every stage needs of it. */
export interface AgentStep {
  deps: AgentStepDeps;
  job: ClaimedAgentJob;
  task: Task;
  octokit: GitHubClient;
}
