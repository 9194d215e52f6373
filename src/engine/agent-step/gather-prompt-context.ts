import { readRepoFile } from "../../github/read-repo-file.js";
import type { GitHubClient } from "../../github/octokit.js";
import { STATUS_MARKER } from "../../github/upsert-status-comment.js";
import type { PromptConstraints, PromptContext, PromptRole } from "../../prompts/prompt-context.js";
import { isTemplateKey, REPO_PROMPTS_DIRECTORY } from "../../prompts/prompt-templates.js";
import type { Task } from "../../workflow/task.js";

/** Files a repo keeps for contributors and agents; each one found is shown to the agent. */
const GUIDANCE_FILES = ["AGENTS.md", "CONTRIBUTING.md", ".github/copilot-instructions.md"];
const MAX_COMMENTS = 50;

/** What a step's prompt is rendered from, and the repo's template overrides. */
export interface GatheredContext {
  context: PromptContext;
  overrides: Record<string, string>;
}

/**
 * Read what the agent is told, all at the job's base commit: the issue and its thread, the file
 * tree, guidance files and the repo's prompt templates. The host reads; the container gets data.
 */
export async function gatherPromptContext(
  octokit: GitHubClient,
  input: { task: Task; role: string; attempt: number; baseSha: string; constraints: PromptConstraints },
): Promise<GatheredContext> {
  const { task } = input;
  const owner = task.repo.owner;
  const repo = task.repo.name;
  const [issue, comments, tree] = await Promise.all([
    octokit.rest.issues.get({ owner, repo, issue_number: task.issueNumber }),
    octokit.rest.issues.listComments({ owner, repo, issue_number: task.issueNumber, per_page: 100 }),
    octokit.rest.git.getTree({ owner, repo, tree_sha: input.baseSha, recursive: "true" }),
  ]);
  const paths = tree.data.tree.filter((entry) => entry.type === "blob" && entry.path).map((entry) => entry.path!);
  const read = (path: string) => readRepoFile(octokit, { owner, repo, path, ref: input.baseSha });
  const guidancePaths = GUIDANCE_FILES.filter((path) => paths.includes(path));
  const overridePaths = paths.filter((path) => path.startsWith(`${REPO_PROMPTS_DIRECTORY}/`) && isTemplateKey(path.slice(REPO_PROMPTS_DIRECTORY.length + 1)));
  const [guidance, overrides] = await Promise.all([
    Promise.all(guidancePaths.map(async (path) => ({ path, content: (await read(path)) ?? "" }))),
    Promise.all(overridePaths.map(async (path) => [path.slice(REPO_PROMPTS_DIRECTORY.length + 1), (await read(path)) ?? ""] as const)),
  ]);
  const thread = comments.data
    .filter((comment) => !comment.body?.includes(STATUS_MARKER))
    .slice(-MAX_COMMENTS)
    .map((comment) => ({ author: comment.user?.login ?? "ghost", body: comment.body ?? "", createdAt: comment.created_at }));
  return {
    context: {
      repo: { owner, name: repo, defaultBranch: task.repo.defaultBranch },
      issue: {
        number: task.issueNumber,
        title: issue.data.title,
        body: issue.data.body ?? "",
        author: issue.data.user?.login ?? "ghost",
        labels: issue.data.labels.map((label) => (typeof label === "string" ? label : (label.name ?? ""))).filter(Boolean),
      },
      comments: thread,
      taskType: task.type,
      role: input.role as PromptRole,
      attempt: input.attempt,
      branch: task.branch ?? "",
      guidance,
      fileTree: paths,
      constraints: input.constraints,
    },
    overrides: Object.fromEntries(overrides),
  };
}
