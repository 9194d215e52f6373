import type { TaskType } from "../workflow/task.js";

/** The agent roles Foreman ships a prompt for; each has `prompts/roles/<role>.md.hbs`. */
export const PromptRole = Object.freeze({
  planner: "planner",
  coder: "coder",
  reviewer: "reviewer",
  ciFixer: "ci_fixer",
  testAuthor: "test_author",
  security: "security",
  scribe: "scribe",
} as const);

/** A prompt role's value. */
export type PromptRole = (typeof PromptRole)[keyof typeof PromptRole];

/** One comment on the issue, oldest first in `PromptContext.comments`. */
export interface PromptComment {
  author: string;
  /** GitHub's `author_association` of the comment (OWNER, MEMBER, COLLABORATOR, NONE, …): it decides whether the comment is trusted. */
  association: string;
  body: string;
  /** ISO 8601, as GitHub returns it. */
  createdAt: string;
}

/** One comment of a review, inline (with a path) or general. */
export interface PromptReviewComment {
  path?: string;
  line?: number;
  body: string;
}

/** A review to act on: a human's "changes requested" or a reviewer agent's `needs_changes`. */
export interface PromptReview {
  /** A GitHub login, or the agent profile that wrote it. */
  author: string;
  body: string;
  comments: PromptReviewComment[];
}

/** A failing check the `ci_fixer` is asked to fix. */
export interface PromptCiFailure {
  name: string;
  /** The check run's output summary (Markdown). */
  summary: string;
  /** The end of the job's log. */
  logTail: string;
  /** A commit status (Jenkins, Buildkite, …): it has only a description and a link, no output or log. */
  isStatus?: boolean;
}

/** A file the repo keeps for contributors and agents (AGENTS.md, CONTRIBUTING.md, …). */
export interface PromptGuidanceFile {
  path: string;
  content: string;
}

/** The guardrails the host enforces on the diff; told to the agent up front. */
export interface PromptConstraints {
  protectedPaths: string[];
  allowedPaths?: string[];
  maxFiles: number;
  maxChangedLines: number;
  /** Bytes of file content the change may write (new versions of added and modified files). */
  maxDiffBytes?: number;
}

/**
 * Everything a prompt is rendered from. Plain data, raw as read from GitHub and the workspace:
 * `renderPrompt` sanitises and caps every untrusted field itself.
 */
export interface PromptContext {
  repo: { owner: string; name: string; defaultBranch: string };
  issue: {
    number: number;
    /** The title and body as they were when the task was authorised (its snapshot), when it has one. */
    title: string;
    body: string;
    author: string;
    labels: string[];
    /** The issue's title or body was edited after the task was authorised; the snapshot is shown all the same. */
    editedSinceAuthorised?: boolean;
  };
  /** Oldest first; only the newest ones are shown when there are many. */
  comments: PromptComment[];
  /** Earlier comments not even read (a long thread's first pages); counted among the omitted ones. */
  unreadComments?: number;
  /** Comments by untrusted authors left out (`prompt.untrustedComments: omit`). */
  untrustedCommentsOmitted?: number;
  taskType: TaskType;
  role: PromptRole;
  /** The job's attempt: 1, or more when the same job runs again (infrastructure retry, a moved branch). */
  attempt: number;
  branch: string;
  /** The planner's plan, for the steps after it. */
  plan?: string;
  /** The change under review (unified diff), for reviewer and security. */
  diff?: string;
  /** Review feedback to address, for a revision step. */
  review?: PromptReview;
  ciFailures?: PromptCiFailure[];
  guidance: PromptGuidanceFile[];
  /** Every file path in the workspace. */
  fileTree: string[];
  constraints: PromptConstraints;
}
