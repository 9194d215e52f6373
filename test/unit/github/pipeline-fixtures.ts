import { type ProbotOctokit } from "probot";
import { buildOctokitClass, type GitHubClient } from "../../../src/github/octokit.js";
import { DEFAULT_TASK_CONFIG } from "../../../src/workflow/defaults.js";
import type { TaskState } from "../../../src/workflow/states.js";
import { emptyPipeline, type PipelineProgress, type Task } from "../../../src/workflow/task.js";

/** GitHub's REST base in tests. */
export const API = "https://api.github.com";
/** The fixture repository's REST path. */
export const REPO_PATH = "/repos/acme/api";
/** The PR head the fixtures are on. */
export const HEAD = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Foreman's own Octokit class, without HTTP retries or throttling, so a mock answers once. */
export function buildTestOctokit(): GitHubClient {
  const Octokit = buildOctokitClass({ retries: 0, retryAfterBaseValue: 1, throttle: false });
  return new Octokit({ auth: { token: "ghs_test" }, log: silent }) as InstanceType<typeof ProbotOctokit>;
}

/** A pipeline with a planner, a coder and a CI fix behind it. */
export function pipelineWithSteps(): PipelineProgress {
  return {
    ...emptyPipeline(),
    roles: ["planner", "coder", "reviewer"],
    index: 2,
    ciAttempts: 1,
    steps: [
      {
        role: "planner",
        purpose: "pipeline",
        status: "succeeded",
        jobId: "job-1",
        commitSha: null,
        summary: "Planned the fix:\nchange the redirect.",
      },
      {
        role: "coder",
        purpose: "pipeline",
        status: "succeeded",
        jobId: "job-2",
        commitSha: "1234567890abcdef1234567890abcdef12345678",
        summary: "Fixed the redirect.",
      },
      { role: "ci_fixer", purpose: "ci_fix", status: "running", jobId: "job-3", commitSha: null, summary: null },
    ],
  };
}

/** A task in a state, on PR #9 with head HEAD, with three steps recorded. */
export function makePipelineTask(state: TaskState, overrides: Partial<Task> = {}): Task {
  return {
    id: "0b7c2a8e-5f7d-4c1e-9a3b-2d6f8e1c4a50",
    repo: { installationId: 1, id: 10, owner: "acme", name: "api", defaultBranch: "main" },
    issueNumber: 5,
    issueTitle: "Fix the login redirect",
    issueSnapshot: null,
    type: "bugfix",
    triggerLabel: "agent:bugfix",
    triggeredBy: "alice",
    triggerVerdict: "authorized",
    state,
    resumeState: null,
    frozenBy: null,
    frozenOn: null,
    config: { ...DEFAULT_TASK_CONFIG },
    branch: "agent/5-fix-the-login-redirect",
    baseSha: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    headSha: HEAD,
    prNumber: 9,
    prUrl: "https://github.com/acme/api/pull/9",
    step: "ci_fixer",
    jobId: "job-3",
    usage: { agentMs: 0, tokens: 0, costUsd: 0 },
    priority: 0,
    pipeline: pipelineWithSteps(),
    reason: null,
    createdAt: "2026-11-20T11:00:00.000Z",
    updatedAt: "2026-11-20T11:00:00.000Z",
    ...overrides,
  };
}
