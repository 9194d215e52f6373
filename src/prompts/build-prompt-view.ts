import { judgeCommentAssociation } from "../workflow/permissions.js";
import type { PromptContext, PromptReviewComment } from "./prompt-context.js";
import { sanitizeUntrustedLine, sanitizeUntrustedText } from "./sanitize-untrusted-text.js";

/** How much of each untrusted input reaches the prompt, in characters or items. */
export interface PromptLimits {
  issueBodyChars: number;
  commentChars: number;
  /** The newest this many comments are shown; a line says how many older ones were left out. */
  maxComments: number;
  planChars: number;
  diffChars: number;
  reviewBodyChars: number;
  reviewCommentChars: number;
  maxReviewComments: number;
  ciSummaryChars: number;
  ciLogTailChars: number;
  maxCiFailures: number;
  guidanceFileChars: number;
  maxFileTreePaths: number;
}

/** The caps Foreman renders with unless told otherwise. */
export const DEFAULT_PROMPT_LIMITS: PromptLimits = Object.freeze({
  issueBodyChars: 20_000,
  commentChars: 5_000,
  maxComments: 50,
  planChars: 20_000,
  diffChars: 60_000,
  reviewBodyChars: 10_000,
  reviewCommentChars: 5_000,
  maxReviewComments: 50,
  ciSummaryChars: 4_000,
  ciLogTailChars: 8_000,
  maxCiFailures: 10,
  guidanceFileChars: 12_000,
  maxFileTreePaths: 400,
});

/** Fixed paths of the container contract, named once so templates cannot drift from the runner. */
export const CONTAINER_PATHS = Object.freeze({
  workspace: "/workspace",
  contextFile: "/foreman/context.json",
  resultFile: "/foreman/out/result.json",
});

/** What templates see: the context with every untrusted field sanitised and capped. Documented in prompts/README.md. */
export type PromptView = ReturnType<typeof buildPromptView>;

/** Turn a raw context into the data templates render from (pure, deterministic). */
export function buildPromptView(context: PromptContext, limits: PromptLimits = DEFAULT_PROMPT_LIMITS) {
  const comments = context.comments.slice(-limits.maxComments);
  const ciFailures = (context.ciFailures ?? []).slice(0, limits.maxCiFailures);
  const fileTree = summarizeFileTree(context.fileTree, limits.maxFileTreePaths);
  return {
    foreman: CONTAINER_PATHS,
    repo: {
      owner: sanitizeUntrustedLine(context.repo.owner),
      name: sanitizeUntrustedLine(context.repo.name),
      fullName: sanitizeUntrustedLine(`${context.repo.owner}/${context.repo.name}`),
      defaultBranch: sanitizeUntrustedLine(context.repo.defaultBranch),
    },
    issue: {
      number: context.issue.number,
      title: sanitizeUntrustedLine(context.issue.title, 500),
      body: sanitizeUntrustedText(context.issue.body ?? "", { maxChars: limits.issueBodyChars }).trim(),
      author: sanitizeUntrustedLine(context.issue.author, 100),
      labels: context.issue.labels.map((label) => sanitizeUntrustedLine(label, 100)),
      editedSinceAuthorised: context.issue.editedSinceAuthorised === true,
    },
    comments: comments.map((comment) => ({
      author: sanitizeUntrustedLine(comment.author, 100),
      association: sanitizeUntrustedLine(comment.association, 40),
      // A stranger's comment is shown labelled as such, so the agent reads it as a report, never as orders.
      trusted: judgeCommentAssociation(comment.association) === "trusted",
      createdAt: sanitizeUntrustedLine(comment.createdAt, 40),
      body: sanitizeUntrustedText(comment.body, { maxChars: limits.commentChars }).trim(),
    })),
    untrustedCommentsOmitted: context.untrustedCommentsOmitted ?? 0,
    omittedComments: (context.unreadComments ?? 0) + context.comments.length - comments.length,
    taskType: context.taskType,
    role: context.role,
    attempt: context.attempt,
    isRetry: context.attempt > 1,
    branch: sanitizeUntrustedLine(context.branch),
    plan: optionalText(context.plan, { maxChars: limits.planChars }),
    // Code is shown as it is: `<!--` is literal there, and hidden characters are revealed, not
    // dropped, so a reviewer can see a Trojan Source attack instead of having it silently "fixed".
    diff: optionalText(context.diff, { maxChars: limits.diffChars, htmlComments: "keep", invisible: "reveal" }),
    review: context.review === undefined ? null : buildReviewView(context.review, limits),
    ciFailures: ciFailures.map((failure) => ({
      name: sanitizeUntrustedLine(failure.name, 200),
      summary: sanitizeUntrustedText(failure.summary, { maxChars: limits.ciSummaryChars }).trim(),
      logTail: sanitizeUntrustedText(failure.logTail, {
        maxChars: limits.ciLogTailChars,
        htmlComments: "keep",
        invisible: "reveal",
        keep: "tail",
      }).trim(),
      isStatus: failure.isStatus === true,
    })),
    omittedCiFailures: (context.ciFailures ?? []).length - ciFailures.length,
    // The repo's own files: trusted to instruct, but still capped and stripped of hidden characters.
    guidance: context.guidance.map((file) => ({
      path: sanitizeUntrustedLine(file.path),
      content: sanitizeUntrustedText(file.content, { maxChars: limits.guidanceFileChars, htmlComments: "keep" }).trim(),
    })),
    fileTree,
    constraints: {
      protectedPaths: context.constraints.protectedPaths.map((path) => sanitizeUntrustedLine(path)),
      allowedPaths: (context.constraints.allowedPaths ?? []).map((path) => sanitizeUntrustedLine(path)),
      maxFiles: context.constraints.maxFiles,
      maxChangedLines: context.constraints.maxChangedLines,
      maxDiffMiB:
        context.constraints.maxDiffBytes === undefined
          ? null
          : Number((context.constraints.maxDiffBytes / (1024 * 1024)).toFixed(2)),
    },
  };
}

/**
 * Pick the paths to list when a tree is too big: shallow paths first (they show the shape of the
 * repo), then alphabetical; the chosen ones are listed alphabetically.
 */
export function summarizeFileTree(paths: readonly string[], maxPaths: number) {
  const clean = [...new Set(paths.map((path) => sanitizeUntrustedLine(path, 500)))].sort(compareStrings);
  const shown =
    clean.length <= maxPaths
      ? clean
      : [...clean]
          .sort((a, b) => countSegments(a) - countSegments(b) || compareStrings(a, b))
          .slice(0, maxPaths)
          .sort(compareStrings);
  return { paths: shown, listing: shown.join("\n"), total: clean.length, omitted: clean.length - shown.length };
}

function buildReviewView(review: NonNullable<PromptContext["review"]>, limits: PromptLimits) {
  const comments = review.comments.slice(0, limits.maxReviewComments);
  return {
    author: sanitizeUntrustedLine(review.author, 100),
    body: sanitizeUntrustedText(review.body, { maxChars: limits.reviewBodyChars }).trim(),
    comments: comments.map((comment: PromptReviewComment) => ({
      path: comment.path === undefined ? null : sanitizeUntrustedLine(comment.path, 500),
      line: comment.line ?? null,
      body: sanitizeUntrustedText(comment.body, { maxChars: limits.reviewCommentChars }).trim(),
    })),
    omittedComments: review.comments.length - comments.length,
  };
}

function optionalText(text: string | undefined, options: Parameters<typeof sanitizeUntrustedText>[1]): string | null {
  if (text === undefined) return null;
  const clean = sanitizeUntrustedText(text, options).trim();
  return clean === "" ? null : clean;
}

function countSegments(path: string): number {
  return path.split("/").length;
}

// Code-unit order: the same on every machine, unlike localeCompare.
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
