import { createHash } from "node:crypto";

/** One request the simulated GitHub answered. */
export interface LoopRequest {
  method: string;
  /** The endpoint with ids replaced, e.g. `PATCH /check-runs/:id` (what the write breakdown groups by). */
  endpoint: string;
  /** The path as requested (decoded, repository prefix removed). */
  path: string;
  /** Wall-clock time (Date.now()), comparable with the timestamps Foreman stores. */
  at: number;
  /** The issue (task) the request belongs to; null for repository-level reads shared by all tasks. */
  issue: number | null;
  status: number;
  /** For redraws: the check run's status/conclusion, or the status comment's headline (for BENCH_TRACE). */
  note: string;
  /** The JSON body sent, if any (a test counts writes by the marker in it). */
  body: Record<string, any> | undefined;
}

/** What the simulated repository looks like. */
export interface LoopGitHubOptions {
  owner: string;
  repo: string;
  defaultBranch: string;
  /** `.github/foreman.yml` on the default branch. */
  config: string;
  /** The gzipped tarball every `GET /tarball/:sha` answers with. */
  tarball: Buffer;
  /** A diff the compare endpoint answers with. */
  diff: string;
  /** PR numbers start here (above every issue number, so a number says which it is). */
  firstPullNumber: number;
  /** Added before each answer (0: GitHub in-process at zero latency). */
  latencyMs: number;
}

interface Commit {
  sha: string;
  tree: string;
  parents: string[];
  issue: number | null;
  message: string;
}

interface CheckRun {
  id: number;
  issue: number | null;
  headSha: string;
  status: string;
  conclusion: string | null;
}

/** A 40-hex SHA derived from a name, so answers look like GitHub's. */
function buildSha(name: string): string {
  return createHash("sha1").update(name).digest("hex");
}

/** The repository's GraphQL node id (a PR's `base.repo.node_id`). */
const REPOSITORY_NODE_ID = "R_benchRepository";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8" } });
}

/** What a redraw says: a check run's status and conclusion, a comment's first line of text. */
function describeBody(body: Record<string, any> | undefined): string {
  if (body === undefined) return "";
  if (typeof body.status === "string")
    return [body.status, body.conclusion, body.output?.title].filter(Boolean).join(" · ");
  if (typeof body.body === "string")
    return (
      body.body
        .split("\n")
        .find((text: string) => text.trim() !== "" && !text.startsWith("<!--"))
        ?.slice(0, 80) ?? ""
    );
  return "";
}

/** The mutations the ready request may carry (ADR 0017). */
const READY_MUTATIONS = new Set(["markPullRequestReadyForReview", "updateIssueComment", "updateCheckRun"]);

/**
 * The mutation fields of a GraphQL document in order: `alias: name(input: $variable)`, or the
 * unaliased `name(input: { … })` of the lone mark-ready mutation (variable null).
 */
function readMutations(query: string): Array<{ alias: string; name: string; variable: string | null }> {
  return [...query.matchAll(/(?:(\w+):\s*)?(\w+)\(input:\s*(?:\$(\w+)|\{)/g)].map((match) => ({
    alias: match[1] ?? match[2]!,
    name: match[2]!,
    variable: match[3] ?? null,
  }));
}

const BRANCH_ISSUE = /(?:^|\/)agent\/(\d+)-/;

/**
 * A simulated GitHub for the whole loop, answering in-process: a `fetch` for Octokit that keeps
 * the state a real repository would (commits, trees, branch heads, draft PRs, comments, check
 * runs, reviews, check suites) so each answer is what GitHub would say, and that attributes every
 * request to the task (issue) it serves — by issue or PR number, branch, commit SHA, comment or
 * check-run id — so the benchmark can count reads and writes per task. Unknown routes answer 404
 * and are listed by `unknownRoutes()`.
 */
export function createLoopGitHub(options: LoopGitHubOptions) {
  const repoPath = `/repos/${options.owner}/${options.repo}`;
  const requests: LoopRequest[] = [];
  const listeners: Array<(request: LoopRequest) => void> = [];
  const unknown = new Map<string, number>();

  const baseTree = buildSha("tree:base");
  const baseCommit: Commit = {
    sha: buildSha("commit:base"),
    tree: baseTree,
    parents: [],
    issue: null,
    message: "Initial commit",
  };
  const commits = new Map<string, Commit>([[baseCommit.sha, baseCommit]]);
  /** Trees created by a push, waiting for the commit that names them (which says whose they are). */
  const pendingTrees = new Map<string, LoopRequest[]>();
  const branches = new Map<string, { issue: number; head: string }>();
  const pulls = new Map<
    number,
    { issue: number; branch: string; draft: boolean; nodeId: string; reviewers: string[] }
  >();
  const pullOfNode = new Map<string, number>();
  const comments = new Map<number, { issue: number; onPull: number | null; body: string }>();
  const reviews = new Map<number, Array<{ id: number; body: string; commitId: string }>>();
  const checkRuns = new Map<number, CheckRun>();
  const suites = new Map<string, { id: number; conclusion: string }>();
  let nextPull = options.firstPullNumber;
  let nextComment = 900_000;
  let nextCheckRun = 700_000;
  let nextReview = 800_000;
  let nextObject = 0;

  const issueOfSha = (sha: string | undefined): number | null =>
    sha === undefined ? null : (commits.get(sha)?.issue ?? null);
  const issueOfPull = (number: number): number | null => pulls.get(number)?.issue ?? null;
  const issueOfBranch = (branch: string): number | null => {
    const match = BRANCH_ISSUE.exec(branch);
    return match ? Number(match[1]) : null;
  };
  /** An issue or PR number in a path: PRs are numbered from firstPullNumber up. */
  const issueOfNumber = (number: number): number | null =>
    number >= options.firstPullNumber ? issueOfPull(number) : number;

  /**
   * The ready effect's one request (ADR 0017): `markPullRequestReadyForReview`, `updateIssueComment`
   * and `updateCheckRun` in one document, run in order as GitHub does; a part whose node is unknown
   * is null in `data` with an error, the others still done. Also the old lone mutation (the fallback).
   */
  function answerReadyBatch(
    request: LoopRequest,
    mutations: Array<{ alias: string; name: string; variable: string | null }>,
    body: Record<string, any> | undefined,
  ): Response {
    request.endpoint = `POST /graphql (${mutations.map((mutation) => mutation.name).join(" + ")})`;
    const data: Record<string, unknown> = {};
    const errors: Array<{ type: string; path: string[]; message: string }> = [];
    const notes: string[] = [];
    const missing = (alias: string) => {
      data[alias] = null;
      errors.push({ type: "NOT_FOUND", path: [alias], message: "Could not resolve to a node" });
    };
    for (const { alias, name, variable } of mutations) {
      const input = variable === null ? { pullRequestId: body?.variables?.pullRequestId } : body?.variables?.[variable];
      if (name === "markPullRequestReadyForReview") {
        const number = pullOfNode.get(String(input?.pullRequestId));
        const pull = number === undefined ? undefined : pulls.get(number);
        if (!pull) {
          missing(alias);
          continue;
        }
        request.issue = pull.issue;
        pull.draft = false;
        data[alias] = { pullRequest: { isDraft: false } };
      } else if (name === "updateIssueComment") {
        const id = Number(/^IC_bench(\d+)$/.exec(String(input?.id))?.[1] ?? NaN);
        const comment = comments.get(id);
        if (!comment) {
          missing(alias);
          continue;
        }
        request.issue = comment.issue;
        comment.body = String(input?.body ?? comment.body);
        notes.push(describeBody({ body: comment.body }));
        data[alias] = { issueComment: { id: input?.id } };
      } else {
        const run = checkRuns.get(Number(/^CR_bench(\d+)$/.exec(String(input?.checkRunId))?.[1] ?? NaN));
        if (!run) {
          missing(alias);
          continue;
        }
        request.issue = run.issue;
        // GitHub never reopens a completed run nor changes its conclusion.
        if (run.status !== "completed") {
          run.status = String(input?.status ?? run.status).toLowerCase();
          run.conclusion = input?.conclusion ? String(input.conclusion).toLowerCase() : run.conclusion;
          if (run.conclusion !== null) run.status = "completed";
        }
        notes.push(describeBody({ status: run.status, conclusion: run.conclusion, output: input?.output }));
        data[alias] = {
          checkRun: { status: run.status.toUpperCase(), conclusion: run.conclusion?.toUpperCase() ?? null },
        };
      }
    }
    request.note = notes.join(" | ");
    return json(200, errors.length > 0 ? { data, errors } : { data });
  }

  function answer(request: LoopRequest, body: Record<string, any> | undefined, query: URLSearchParams): Response {
    const { method, path } = request;
    let match: RegExpExecArray | null;
    const route = (m: string, pattern: RegExp, endpoint: string): boolean => {
      if (method !== m) return false;
      match = pattern.exec(path);
      if (match) request.endpoint = `${m} ${endpoint}`;
      return match !== null;
    };
    const group = (index: number): string => match![index]!;

    if (route("POST", /^\/app\/installations\/\d+\/access_tokens$/, "/app/installations/:id/access_tokens")) {
      return json(201, {
        token: "ghs_benchmark",
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        permissions: {},
        repository_selection: "all",
      });
    }
    if (route("POST", /^\/graphql$/, "/graphql")) {
      const query = String(body?.query ?? "");
      const mutations = readMutations(query);
      if (mutations.some((mutation) => READY_MUTATIONS.has(mutation.name)))
        return answerReadyBatch(request, mutations, body);
      if (query.includes("createCommitOnBranch")) {
        request.endpoint = "POST /graphql (createCommitOnBranch)";
        const input = body?.variables?.input;
        const branchName = String(input?.branch?.branchName ?? "");
        const branch = branches.get(branchName);
        request.issue = issueOfBranch(branchName);
        if (!branch)
          return json(200, { data: null, errors: [{ type: "NOT_FOUND", message: "Could not resolve to a ref" }] });
        // Compare-and-swap on expectedHeadOid, as GitHub does.
        if (input?.expectedHeadOid !== branch.head) {
          request.note = "STALE_DATA";
          return json(200, {
            data: { createCommitOnBranch: null },
            errors: [
              {
                type: "STALE_DATA",
                message: `Expected branch to point to "${input?.expectedHeadOid}" but it did not.`,
              },
            ],
          });
        }
        const commit: Commit = {
          sha: buildSha(`commit:${++nextObject}`),
          tree: buildSha(`tree:${++nextObject}`),
          parents: [branch.head],
          issue: branch.issue,
          // GitHub joins the headline and the body with a blank line.
          message: [input?.message?.headline, input?.message?.body].filter(Boolean).join("\n\n"),
        };
        commits.set(commit.sha, commit);
        branch.head = commit.sha;
        return json(200, {
          data: { createCommitOnBranch: { commit: { oid: commit.sha, tree: { oid: commit.tree } } } },
        });
      }
      return json(200, {
        data: null,
        errors: [
          {
            message:
              "the benchmark's GitHub knows only markPullRequestReadyForReview, updateIssueComment, updateCheckRun and createCommitOnBranch",
          },
        ],
      });
    }
    if (!path.startsWith(`${repoPath}/`)) return notFound(request);
    const sub = path.slice(repoPath.length);
    const routeIn = (m: string, pattern: RegExp, endpoint: string): boolean => {
      if (method !== m) return false;
      match = pattern.exec(sub);
      if (match) request.endpoint = `${m} ${endpoint}`;
      return match !== null;
    };

    // Authorisation and the repository (shared reads, except the sender's permission).
    if (routeIn("GET", /^\/collaborators\/([^/]+)\/permission$/, "/collaborators/:login/permission")) {
      const login = group(1);
      request.issue = Number(/^bench-user-(\d+)$/.exec(login)?.[1] ?? NaN) || null;
      return json(200, { permission: "write", role_name: "write", user: { login } });
    }
    if (routeIn("GET", /^\/contents\/\.github\/foreman\.yml$/, "/contents/.github/foreman.yml")) {
      return json(200, {
        type: "file",
        encoding: "base64",
        content: Buffer.from(options.config).toString("base64"),
        path: ".github/foreman.yml",
        name: "foreman.yml",
        sha: buildSha(options.config),
      });
    }
    if (routeIn("GET", /^\/branches\/([^/]+)$/, "/branches/:branch")) {
      if (group(1) !== options.defaultBranch) return notFound(request);
      return json(200, {
        name: options.defaultBranch,
        commit: { sha: baseCommit.sha, commit: { tree: { sha: baseTree } } },
      });
    }

    // Git data: the plan commit, the branch, the agent's push.
    if (routeIn("POST", /^\/git\/commits$/, "/git/commits")) {
      const parents: string[] = body?.parents ?? [];
      const issue = issueOfSha(parents[0]) ?? Number(/#(\d+)/.exec(String(body?.message ?? ""))?.[1] ?? NaN);
      const commit: Commit = {
        sha: buildSha(`commit:${++nextObject}`),
        tree: String(body?.tree),
        parents,
        issue: Number.isNaN(issue) ? null : issue,
        message: String(body?.message ?? ""),
      };
      commits.set(commit.sha, commit);
      request.issue = commit.issue;
      // Trees with the same content are one tree: the commit takes the first request still waiting for it.
      const tree = pendingTrees.get(commit.tree)?.shift();
      if (tree) tree.issue = commit.issue;
      return json(201, {
        sha: commit.sha,
        tree: { sha: commit.tree },
        parents: parents.map((sha) => ({ sha })),
        verification: { verified: true, reason: "valid" },
      });
    }
    if (routeIn("GET", /^\/git\/commits\/([0-9a-f]+)$/, "/git/commits/:sha")) {
      const commit = commits.get(group(1));
      if (!commit) return notFound(request);
      request.issue = commit.issue;
      return json(200, {
        sha: commit.sha,
        tree: { sha: commit.tree },
        parents: commit.parents.map((sha) => ({ sha })),
        message: commit.message,
      });
    }
    if (routeIn("POST", /^\/git\/trees$/, "/git/trees")) {
      // Content-addressed, as git's: the same base and entries make the same tree, by which a
      // retried push finds that its change is already the branch head (pushChanges' "already_pushed").
      const sha = buildSha(`tree:${JSON.stringify([body?.base_tree ?? null, body?.tree ?? []])}`);
      // Whose tree this is shows when the commit naming it comes (the request has no issue in it).
      pendingTrees.set(sha, [...(pendingTrees.get(sha) ?? []), request]);
      return json(201, { sha, truncated: false, tree: [] });
    }
    if (routeIn("GET", /^\/git\/trees\/([0-9a-f]+)$/, "/git/trees/:sha")) {
      const commit = commits.get(group(1));
      request.issue = commit?.issue ?? null;
      return json(200, {
        sha: commit?.tree ?? group(1),
        truncated: false,
        tree: [{ path: "README.md", mode: "100644", type: "blob", sha: buildSha("blob:readme"), size: 12 }],
      });
    }
    if (routeIn("POST", /^\/git\/refs$/, "/git/refs")) {
      const branch = String(body?.ref ?? "").replace(/^refs\/heads\//, "");
      const issue = issueOfBranch(branch);
      request.issue = issue;
      if (branches.has(branch)) return json(422, { message: "Reference already exists" });
      if (issue === null) return json(422, { message: "the benchmark's GitHub expects agent/<issue>-… branches" });
      branches.set(branch, { issue, head: String(body?.sha) });
      return json(201, { ref: `refs/heads/${branch}`, object: { type: "commit", sha: String(body?.sha) } });
    }
    if (routeIn("GET", /^\/git\/ref\/heads\/(.+)$/, "/git/ref/heads/:branch")) {
      const branch = branches.get(group(1));
      request.issue = issueOfBranch(group(1));
      if (!branch) return notFound(request);
      return json(200, { ref: `refs/heads/${group(1)}`, object: { type: "commit", sha: branch.head } });
    }
    if (routeIn("PATCH", /^\/git\/refs\/heads\/(.+)$/, "/git/refs/heads/:branch")) {
      const branch = branches.get(group(1));
      request.issue = issueOfBranch(group(1));
      if (!branch) return json(422, { message: "Reference does not exist" });
      const target = commits.get(String(body?.sha));
      // A compare-and-swap: without force, only a fast-forward from the current head is taken.
      if (!body?.force && !target?.parents.includes(branch.head))
        return json(422, { message: "Update is not a fast forward" });
      branch.head = String(body?.sha);
      return json(200, { ref: `refs/heads/${group(1)}`, object: { type: "commit", sha: branch.head } });
    }
    if (routeIn("GET", /^\/tarball\/([0-9a-f]+)$/, "/tarball/:sha")) {
      request.issue = issueOfSha(group(1));
      return new Response(new Uint8Array(options.tarball), {
        status: 200,
        headers: { "content-type": "application/x-gzip" },
      });
    }
    if (routeIn("GET", /^\/compare\/([0-9a-f]+)\.\.\.([0-9a-f]+)$/, "/compare/:base...:head")) {
      request.issue = issueOfSha(group(2));
      return new Response(options.diff, { status: 200, headers: { "content-type": "text/plain; charset=utf-8" } });
    }

    // The draft PR.
    if (routeIn("POST", /^\/pulls$/, "/pulls")) {
      const branch = String(body?.head ?? "");
      const issue = issueOfBranch(branch);
      request.issue = issue;
      if (issue === null) return json(422, { message: "Validation Failed" });
      // As GitHub: one open PR per head branch.
      if ([...pulls.values()].some((pull) => pull.branch === branch))
        return json(422, { message: "Validation Failed", errors: [{ message: "A pull request already exists" }] });
      const number = nextPull++;
      const nodeId = `PR_bench${number}`;
      pulls.set(number, { issue, branch, draft: body?.draft === true, nodeId, reviewers: [] });
      pullOfNode.set(nodeId, number);
      return json(201, {
        number,
        node_id: nodeId,
        draft: body?.draft === true,
        html_url: `https://github.com/${options.owner}/${options.repo}/pull/${number}`,
        head: { ref: branch, sha: branches.get(branch)?.head },
      });
    }
    if (routeIn("GET", /^\/pulls$/, "/pulls")) {
      // `head=owner:branch&state=open`: the look-before-create of a retried open_draft_pr.
      const head = query.get("head")?.replace(`${options.owner}:`, "");
      request.issue = head === undefined ? null : issueOfBranch(head);
      const found = [...pulls.entries()].filter(([, pull]) => head === undefined || pull.branch === head);
      return json(
        200,
        found.map(([number, pull]) => ({
          number,
          node_id: pull.nodeId,
          draft: pull.draft,
          state: "open",
          html_url: `https://github.com/${options.owner}/${options.repo}/pull/${number}`,
          head: { ref: pull.branch, sha: branches.get(pull.branch)?.head },
        })),
      );
    }
    if (routeIn("GET", /^\/pulls\/(\d+)$/, "/pulls/:number")) {
      const number = Number(group(1));
      const pull = pulls.get(number);
      request.issue = pull?.issue ?? null;
      if (!pull) return notFound(request);
      const head = branches.get(pull.branch)?.head;
      return json(200, {
        number,
        node_id: pull.nodeId,
        draft: pull.draft,
        state: "open",
        merged: false,
        head: { ref: pull.branch, sha: head },
        base: { ref: options.defaultBranch, repo: { node_id: REPOSITORY_NODE_ID } },
      });
    }
    if (routeIn("POST", /^\/pulls\/(\d+)\/reviews$/, "/pulls/:number/reviews")) {
      const number = Number(group(1));
      request.issue = issueOfPull(number);
      const review = { id: nextReview++, body: String(body?.body ?? ""), commitId: String(body?.commit_id ?? "") };
      reviews.set(number, [...(reviews.get(number) ?? []), review]);
      return json(200, {
        id: review.id,
        state: "COMMENTED",
        commit_id: review.commitId,
        user: { login: "foreman[bot]", type: "Bot" },
      });
    }
    if (routeIn("GET", /^\/pulls\/(\d+)\/reviews$/, "/pulls/:number/reviews")) {
      const number = Number(group(1));
      request.issue = issueOfPull(number);
      return json(
        200,
        (reviews.get(number) ?? []).map((review) => ({
          id: review.id,
          body: review.body,
          state: "COMMENTED",
          commit_id: review.commitId,
          user: { login: "foreman[bot]", type: "Bot" },
        })),
      );
    }
    if (routeIn("POST", /^\/pulls\/(\d+)\/requested_reviewers$/, "/pulls/:number/requested_reviewers")) {
      const number = Number(group(1));
      request.issue = issueOfPull(number);
      pulls.get(number)?.reviewers.push(...((body?.reviewers as string[] | undefined) ?? []));
      return json(201, { number });
    }

    // Issues and comments: an issue number is the task's status comment, a PR number its plan.
    if (routeIn("GET", /^\/issues\/(\d+)$/, "/issues/:number")) {
      const number = Number(group(1));
      request.issue = issueOfNumber(number);
      return json(200, {
        number,
        title: `Benchmark issue ${number}`,
        body: "The README says teh instead of the.",
        user: { login: `bench-user-${number}` },
        labels: [{ name: "agent:ready" }],
        state: "open",
      });
    }
    if (routeIn("GET", /^\/issues\/(\d+)\/comments$/, "/issues/:number/comments")) {
      const number = Number(group(1));
      request.issue = issueOfNumber(number);
      const thread = [...comments.entries()].filter(([, comment]) => (comment.onPull ?? comment.issue) === number);
      return json(
        200,
        thread.map(([id, comment]) => ({
          id,
          body: comment.body,
          user: { login: "foreman[bot]", type: "Bot" },
          created_at: new Date().toISOString(),
        })),
      );
    }
    if (routeIn("POST", /^\/issues\/(\d+)\/comments$/, "/issues/:number/comments")) {
      const number = Number(group(1));
      const onPull = number >= options.firstPullNumber ? number : null;
      request.endpoint = onPull === null ? "POST /issues/:issue/comments" : "POST /issues/:pr/comments";
      const issue = issueOfNumber(number);
      request.issue = issue;
      if (issue === null) return notFound(request);
      const id = nextComment++;
      comments.set(id, { issue, onPull, body: String(body?.body ?? "") });
      return json(201, { id, body: String(body?.body ?? ""), user: { login: "foreman[bot]", type: "Bot" } });
    }
    if (routeIn("GET", /^\/issues\/comments\/(\d+)$/, "/issues/comments/:id")) {
      const comment = comments.get(Number(group(1)));
      request.issue = comment?.issue ?? null;
      if (!comment) return notFound(request);
      return json(200, {
        id: Number(group(1)),
        node_id: `IC_bench${group(1)}`,
        body: comment.body,
        user: { login: "foreman[bot]", type: "Bot" },
      });
    }
    if (routeIn("PATCH", /^\/issues\/comments\/(\d+)$/, "/issues/comments/:id")) {
      const comment = comments.get(Number(group(1)));
      request.issue = comment?.issue ?? null;
      if (!comment) return notFound(request);
      comment.body = String(body?.body ?? comment.body);
      return json(200, { id: Number(group(1)), body: comment.body });
    }
    if (routeIn("POST", /^\/issues\/(\d+)\/labels$/, "/issues/:number/labels")) {
      const number = Number(group(1));
      request.endpoint = number >= options.firstPullNumber ? "POST /issues/:pr/labels" : "POST /issues/:issue/labels";
      request.issue = issueOfNumber(number);
      return json(
        200,
        ((body?.labels as string[] | undefined) ?? []).map((name, id) => ({ id, name })),
      );
    }

    // Checks: Foreman's own check run, and CI's suites.
    if (routeIn("POST", /^\/check-runs$/, "/check-runs")) {
      const run: CheckRun = {
        id: nextCheckRun++,
        issue: issueOfSha(body?.head_sha),
        headSha: String(body?.head_sha),
        status: String(body?.status ?? "queued"),
        conclusion: body?.conclusion ?? null,
      };
      if (run.conclusion !== null) run.status = "completed";
      checkRuns.set(run.id, run);
      request.issue = run.issue;
      return json(201, {
        id: run.id,
        head_sha: run.headSha,
        status: run.status,
        conclusion: run.conclusion,
        name: body?.name,
      });
    }
    if (routeIn("GET", /^\/check-runs\/(\d+)$/, "/check-runs/:id")) {
      const run = checkRuns.get(Number(group(1)));
      if (!run) return notFound(request);
      request.issue = run.issue;
      return json(200, {
        id: run.id,
        node_id: `CR_bench${run.id}`,
        name: "foreman",
        head_sha: run.headSha,
        status: run.status,
        conclusion: run.conclusion,
      });
    }
    if (routeIn("PATCH", /^\/check-runs\/(\d+)$/, "/check-runs/:id")) {
      const run = checkRuns.get(Number(group(1)));
      if (!run) return notFound(request);
      request.issue = run.issue;
      // GitHub never reopens a completed run nor changes its conclusion.
      if (run.status !== "completed") {
        run.status = String(body?.status ?? run.status);
        run.conclusion = body?.conclusion ?? run.conclusion;
        if (run.conclusion !== null) run.status = "completed";
      }
      return json(200, { id: run.id, head_sha: run.headSha, status: run.status, conclusion: run.conclusion });
    }
    if (routeIn("GET", /^\/commits\/([0-9a-f]+)\/check-runs$/, "/commits/:sha/check-runs")) {
      const runs = [...checkRuns.values()].filter((run) => run.headSha === group(1));
      request.issue = issueOfSha(group(1));
      return json(200, {
        total_count: runs.length,
        check_runs: runs.map((run) => ({
          id: run.id,
          name: "foreman",
          status: run.status,
          conclusion: run.conclusion,
          head_sha: run.headSha,
        })),
      });
    }
    // CI as collect_ci_result reads it by default: no commit statuses, no required checks.
    if (routeIn("GET", /^\/commits\/([0-9a-f]+)\/status$/, "/commits/:sha/status")) {
      request.issue = issueOfSha(group(1));
      return json(200, { state: "pending", statuses: [] });
    }
    if (routeIn("GET", /^\/rules\/branches\/([^/]+)$/, "/rules/branches/:branch")) return json(200, []);
    if (routeIn("GET", /^\/commits\/([0-9a-f]+)\/check-suites$/, "/commits/:sha/check-suites")) {
      const sha = group(1);
      request.issue = issueOfSha(sha);
      const suite = suites.get(sha);
      const listed = suite
        ? [
            {
              id: suite.id,
              status: "completed",
              conclusion: suite.conclusion,
              head_sha: sha,
              app: { slug: "github-actions", id: 15368 },
            },
          ]
        : [
            {
              id: 0,
              status: "in_progress",
              conclusion: null,
              head_sha: sha,
              app: { slug: "github-actions", id: 15368 },
            },
          ];
      return json(200, { total_count: listed.length, check_suites: listed });
    }
    return notFound(request);
  }

  // A 404 on a known route is GitHub's answer (no such branch); on an unknown one, a gap in the simulation.
  function notFound(request: LoopRequest): Response {
    if (request.endpoint === "") {
      request.endpoint = `${request.method} ${request.path.replace(repoPath, "")}`;
      unknown.set(request.endpoint, (unknown.get(request.endpoint) ?? 0) + 1);
    }
    return json(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
  }

  async function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const text = typeof init?.body === "string" ? init.body : undefined;
    const body = text ? (JSON.parse(text) as Record<string, any>) : undefined;
    const request: LoopRequest = {
      method,
      endpoint: "",
      path: decodeURIComponent(url.pathname),
      at: Date.now(),
      issue: null,
      status: 0,
      note: describeBody(body),
      body,
    };
    if (options.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    const response = answer(request, body, url.searchParams);
    // A fetched Response knows its URL (Octokit's pagination reads it); a constructed one does not.
    Object.defineProperty(response, "url", { value: url.href });
    request.status = response.status;
    requests.push(request);
    for (const listener of listeners) listener(request);
    return response;
  }

  return {
    fetch,
    requests,
    /** Called after each answered request (the benchmark reacts to the review and to the PR leaving draft). */
    onRequest(listener: (request: LoopRequest) => void): void {
      listeners.push(listener);
    },
    /** CI finished on `sha`: the check-suites endpoint now lists the completed suite. */
    completeSuite(sha: string, id: number, conclusion: "success" | "failure"): void {
      suites.set(sha, { id, conclusion });
    },
    /** The branch and head of an issue's task, once its branch exists. */
    findBranch(issue: number): { branch: string; head: string } | null {
      for (const [branch, state] of branches) if (state.issue === issue) return { branch, head: state.head };
      return null;
    },
    /** Which issue a PR belongs to. */
    issueOfPull,
    /** Routes answered 404 because the simulation does not know them, with their counts. */
    unknownRoutes(): Map<string, number> {
      return unknown;
    },
  };
}
