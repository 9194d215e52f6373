import { buildPromptView, DEFAULT_PROMPT_LIMITS, type PromptLimits } from "./build-prompt-view.js";
import type { PromptContext } from "./prompt-context.js";

/**
 * What `/foreman/context.json` says of a step's context: the same fields the prompt shows, taken
 * from the same view (`buildPromptView`), so both are sanitised and capped alike. Hidden HTML
 * comments, invisible characters and over-long text never reach the agent by the side door.
 */
export function buildContextFile(context: PromptContext, limits: PromptLimits = DEFAULT_PROMPT_LIMITS) {
  const view = buildPromptView(context, limits);
  return {
    issue: view.issue,
    comments: view.comments,
    omittedComments: view.omittedComments,
    untrustedCommentsOmitted: view.untrustedCommentsOmitted,
    repo: { owner: view.repo.owner, name: view.repo.name, defaultBranch: view.repo.defaultBranch },
    taskType: view.taskType,
    plan: view.plan,
    diff: view.diff,
    review:
      view.review === null
        ? null
        : {
            author: view.review.author,
            body: view.review.body,
            comments: view.review.comments.map((comment) => ({
              ...(comment.path === null ? {} : { path: comment.path }),
              ...(comment.line === null ? {} : { line: comment.line }),
              body: comment.body,
            })),
          },
    ciFailures: view.ciFailures.map((failure) => ({
      name: failure.name,
      summary: failure.summary,
      logTail: failure.logTail,
    })),
  };
}
