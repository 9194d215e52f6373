import { listNewestIssueComments } from "../../github/list-newest-issue-comments.js";
import { readRepoFile } from "../../github/read-repo-file.js";
import type { GitHubClient } from "../../github/octokit.js";
import { STATUS_MARKER } from "../../github/upsert-status-comment.js";
import type {
  PromptCiFailure,
  PromptConstraints,
  PromptContext,
  PromptReview,
  PromptRole,
} from "../../prompts/prompt-context.js";
import { isTemplateKey, REPO_PROMPTS_DIRECTORY } from "../../prompts/prompt-templates.js";
import { judgeCommentAssociation } from "../../workflow/permissions.js";
import type { StepFeedback, Task } from "../../workflow/task.js";

/** Files a repo keeps for contributors and agents; each one found is shown to the agent. */
const GUIDANCE_FILES = ["AGENTS.md", "CONTRIBUTING.md", ".github/copilot-instructions.md"];
/** Roles shown the change so far: the two reviewers, and the scribe who documents it. */
const DIFF_ROLES: readonly string[] = ["reviewer", "security", "scribe"];
/** The most of a diff Foreman holds; the prompt shows less (its own cap), this only bounds memory. */
export const MAX_DIFF_BYTES = 200 * 1024;

/** What a step's prompt is rendered from, and the repo's template overrides. */
export interface GatheredContext {
  context: PromptContext;
  overrides: Record<string, string>;
}

/**
 * Read what the agent is told, all at the job's base commit: the issue and its thread, the file
 * tree, guidance files and the repo's prompt templates; and what the task carries for this step:
 * the plan, the change so far (for reviewers), and the review or CI failures to act on.
 * The host reads; the container gets data.
 */
export async function gatherPromptContext(
  octokit: GitHubClient,
  input: {
    task: Task;
    role: string;
    attempt: number;
    baseSha: string;
    constraints: PromptConstraints;
    shadowDiff?: string | null;
  },
): Promise<GatheredContext> {
  const { task } = input;
  const owner = task.repo.owner;
  const repo = task.repo.name;
  const [issue, comments, tree, diff, review] = await Promise.all([
    octokit.rest.issues.get({ owner, repo, issue_number: task.issueNumber }),
    // The newest comments, not the first 100: on a long thread the latest word is what matters.
    listNewestIssueComments(octokit, { owner, repo, issueNumber: task.issueNumber }),
    octokit.rest.git.getTree({ owner, repo, tree_sha: input.baseSha, recursive: "true" }),
    // In shadow mode nothing was pushed: the change so far is what earlier steps would have pushed.
    DIFF_ROLES.includes(input.role)
      ? input.shadowDiff
        ? Promise.resolve(capDiff(input.shadowDiff))
        : readChangeDiff(octokit, task, input.baseSha)
      : Promise.resolve(null),
    readReviewFeedback(octokit, task, task.pipeline.feedback),
  ]);
  const paths = tree.data.tree.filter((entry) => entry.type === "blob" && entry.path).map((entry) => entry.path!);
  // Prompt overrides and guidance files steer the agents: they are read as the task's base commit
  // has them (what the repository's maintainers merged), never as an earlier step left them on the
  // branch, so a coder's commit cannot rewrite the reviewer's instructions. One the branch added
  // is not there at the base, and is left out.
  const controlRef = task.baseSha ?? input.baseSha;
  const read = (path: string) => readRepoFile(octokit, { owner, repo, path, ref: controlRef });
  const guidancePaths = GUIDANCE_FILES.filter((path) => paths.includes(path));
  const overridePaths = paths.filter(
    (path) =>
      path.startsWith(`${REPO_PROMPTS_DIRECTORY}/`) && isTemplateKey(path.slice(REPO_PROMPTS_DIRECTORY.length + 1)),
  );
  const [guidanceRead, overridesRead] = await Promise.all([
    Promise.all(guidancePaths.map(async (path) => ({ path, content: await read(path) }))),
    Promise.all(
      overridePaths.map(async (path) => [path.slice(REPO_PROMPTS_DIRECTORY.length + 1), await read(path)] as const),
    ),
  ]);
  const guidance = guidanceRead.flatMap((file) =>
    file.content === null ? [] : [{ path: file.path, content: file.content }],
  );
  const overrides = overridesRead.flatMap(([key, content]) => (content === null ? [] : [[key, content] as const]));
  // The prompt shows the newest of these (its own cap) and counts the rest, the unread pages too.
  const thread = comments.comments
    .filter((comment) => !comment.body.includes(STATUS_MARKER))
    .map((comment) => ({
      author: comment.author,
      association: comment.association,
      body: comment.body,
      createdAt: comment.createdAt,
    }));
  // Strangers' comments are quoted as untrusted by the prompt, or, if the repository says so, left out here.
  const omitUntrusted = task.config?.prompt?.untrustedComments === "omit";
  const shown = omitUntrusted
    ? thread.filter((comment) => judgeCommentAssociation(comment.association) === "trusted")
    : thread;
  // The issue's text as it was when the task was authorised, not as someone may have edited it since.
  const snapshot = task.issueSnapshot;
  const liveBody = issue.data.body ?? "";
  const editedSinceAuthorised =
    snapshot !== null && (issue.data.title !== snapshot.title || liveBody !== snapshot.body);
  const ciFailures = buildCiFailures(task.pipeline.feedback);
  // The planner writes the plan; every later step follows it.
  const plan = input.role !== "planner" ? task.pipeline.plan : null;
  return {
    context: {
      repo: { owner, name: repo, defaultBranch: task.repo.defaultBranch },
      issue: {
        number: task.issueNumber,
        title: snapshot?.title ?? issue.data.title,
        body: snapshot?.body ?? liveBody,
        author: issue.data.user?.login ?? "ghost",
        labels: issue.data.labels
          .map((label) => (typeof label === "string" ? label : (label.name ?? "")))
          .filter(Boolean),
        ...(editedSinceAuthorised ? { editedSinceAuthorised: true } : {}),
      },
      comments: shown,
      ...(shown.length < thread.length ? { untrustedCommentsOmitted: thread.length - shown.length } : {}),
      ...(comments.skipped > 0 ? { unreadComments: comments.skipped } : {}),
      taskType: task.type,
      role: input.role as PromptRole,
      attempt: input.attempt,
      branch: task.branch ?? "",
      ...(plan ? { plan } : {}),
      ...(diff !== null ? { diff } : {}),
      ...(review ? { review } : {}),
      ...(ciFailures ? { ciFailures } : {}),
      guidance,
      fileTree: paths,
      constraints: input.constraints,
    },
    overrides: Object.fromEntries(overrides),
  };
}

/**
 * The task's change so far, as a unified diff from the branch's base to the job's base commit;
 * null when there is none yet (no base recorded, or nothing on top of it).
 */
async function readChangeDiff(octokit: GitHubClient, task: Task, jobBaseSha: string): Promise<string | null> {
  if (task.baseSha === null || task.baseSha === jobBaseSha) return null;
  const { data } = await octokit.rest.repos.compareCommitsWithBasehead({
    owner: task.repo.owner,
    repo: task.repo.name,
    basehead: `${task.baseSha}...${jobBaseSha}`,
    mediaType: { format: "diff" },
  });
  // With the diff media type GitHub answers with the diff's text, not the JSON the type describes.
  return capDiff(data as unknown as string);
}

/** Cut a diff to MAX_DIFF_BYTES of UTF-8 at a line end, and say so at the end. */
export function capDiff(diff: string): string {
  const bytes = Buffer.from(diff, "utf8");
  if (bytes.length <= MAX_DIFF_BYTES) return diff;
  const head = bytes.subarray(0, MAX_DIFF_BYTES).toString("utf8");
  const kept = head.slice(0, Math.max(head.lastIndexOf("\n"), 0));
  const omitted = bytes.length - Buffer.byteLength(kept, "utf8");
  return `${kept}\n[… diff cut by Foreman at ${MAX_DIFF_BYTES / 1024} KB: ${omitted.toLocaleString("en-US")} more bytes not shown]\n`;
}

/**
 * The review a revision step acts on. A human's review is stored without its inline comments
 * (the webhook does not carry them), so those are read from GitHub here.
 */
async function readReviewFeedback(
  octokit: GitHubClient,
  task: Task,
  feedback: StepFeedback | null,
): Promise<PromptReview | null> {
  if (feedback?.kind !== "review") return null;
  const review: PromptReview = { author: feedback.author, body: feedback.body, comments: [...feedback.comments] };
  if (feedback.reviewId === null || task.prNumber === null) return review;
  const inline = await octokit.paginate(octokit.rest.pulls.listCommentsForReview, {
    owner: task.repo.owner,
    repo: task.repo.name,
    pull_number: task.prNumber,
    review_id: feedback.reviewId,
    per_page: 100,
  });
  for (const comment of inline) {
    // `line` is null when the comment is on a line the branch has since changed (an outdated comment).
    review.comments.push({
      path: comment.path,
      ...(typeof comment.line === "number" ? { line: comment.line } : {}),
      body: comment.body,
    });
  }
  return review;
}

/** The failing checks a `ci_fixer` step is told about, or null when the feedback is not CI. */
function buildCiFailures(feedback: StepFeedback | null): PromptCiFailure[] | null {
  if (feedback?.kind !== "ci") return null;
  return feedback.failures.map((failure) => ({
    name: failure.name,
    summary: failure.summary,
    logTail: failure.logTail,
    isStatus: failure.source === "status",
  }));
}
