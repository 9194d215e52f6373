import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One write the fake GitHub received (and performed, whether or not its answer got back). */
export interface FakeWrite {
  method: string;
  path: string;
  /** For a GraphQL push (`createCommitOnBranch`): the ref it moved, `refs/heads/<branch>`. */
  ref?: string;
}

/** What to do with a write once GitHub has performed it: answer it, or never answer (the caller kills the writer meanwhile). */
export type WriteDecision = "answer" | "drop";

/**
 * A fault the fake GitHub can inject: an error answer before the request is done (`500`, `502`,
 * `503`, `429` with `retry-after`, `secondary`: the secondary rate limit, a 403 with `retry-after`),
 * a connection reset before it is done (`reset`), an answer later than the client waits after the
 * request was done (`slow`), or a write done and answered with a 502 (`committed-502`, writes only).
 */
export type GitHubFault = "500" | "502" | "503" | "429" | "secondary" | "reset" | "slow" | "committed-502";

/** Which requests get a fault: a share of them, chosen by a seed, so the same run gets the same faults. */
export interface FaultPlan {
  fault: GitHubFault;
  /** Share of the requests that get the fault (0..1). */
  rate: number;
  seed: number;
  /** How late a `slow` answer comes, in ms (more than the client's `GITHUB_TIMEOUT_MS`). */
  slowMs?: number;
}

/**
 * Whether the `occurrence`-th request with this method and path gets the fault: a hash of the seed,
 * the request and its occurrence, so the choice does not depend on how concurrent requests interleave.
 */
export function isFaulted(plan: FaultPlan, method: string, path: string, occurrence: number): boolean {
  if (plan.fault === "committed-502" && method === "GET") return false;
  const digest = createHash("sha256").update(`${plan.seed} ${method} ${path} ${occurrence}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32 < plan.rate;
}

const ERROR_ANSWERS: Partial<Record<GitHubFault, [number, Record<string, string>, string]>> = {
  "500": [500, {}, "Internal Server Error"],
  "502": [502, {}, "Bad Gateway"],
  "503": [503, {}, "Service Unavailable"],
  "429": [429, { "retry-after": "1" }, "API rate limit exceeded"],
  secondary: [403, { "retry-after": "1" }, "You have exceeded a secondary rate limit. Please wait a few minutes."],
};

/** A repository an agent step can run on: its `.github/foreman.yml` and its files at every commit. */
export interface FakeRepository {
  config: string;
  /** The files' paths, for the tree the prompt lists. */
  paths: string[];
  /** The gzipped tarball of the files, as `GET /tarball/:ref` answers it. */
  tarball: Buffer;
}

/**
 * GitHub over real HTTP for Foreman processes started by a test (`GHE_HOST`, `GHE_PROTOCOL=http`):
 * the calls from label to draft PR, with state (branches, PRs, comments) that outlives the
 * processes, so a retry's look-first finds what an earlier process made. `onWrite` runs after a
 * write took effect and before its answer: a test kills the writer there, at the effect boundary.
 * `latencyMs` delays every answer (before the request is routed). With `repository`, also what an
 * agent step reads and pushes (the config, the issue, the tree and tarball, a commit on the branch).
 */
export async function startFakeGitHubServer(
  owner: string,
  repo: string,
  options: { latencyMs?: number; repository?: FakeRepository } = {},
) {
  const branches = new Map<string, string>();
  const pulls: Array<{ number: number; head: string; html_url: string; draft: boolean }> = [];
  const checkRuns = new Map<number, { status: string; conclusion: string | null }>();
  const comments: Array<{ id: number; issue: number; body: string; user: { login: string; type: string } }> = [];
  const writes: FakeWrite[] = [];
  const unrouted: string[] = [];
  let onWrite: ((write: FakeWrite) => Promise<WriteDecision>) | null = null;
  let onRequest: ((method: string, path: string) => void) | null = null;
  let faults: FaultPlan | null = null;
  const occurrences = new Map<string, number>();
  const injected: Array<{ fault: GitHubFault; method: string; path: string }> = [];
  let sequence = 0;
  const base = `/repos/${owner}/${repo}`;

  async function route(method: string, path: string, query: URLSearchParams, body: any): Promise<[number, unknown]> {
    if (method === "POST" && /^\/app\/installations\/\d+\/access_tokens$/.test(path))
      return [201, { token: "ghs_fake", expires_at: new Date(Date.now() + 3_600_000).toISOString() }];
    if (method === "GET" && path.startsWith(`${base}/collaborators/`))
      return [200, { permission: "write", role_name: "write", user: { login: "x" } }];
    if (method === "GET" && path.startsWith(`${base}/contents/`)) {
      if (!options.repository || path !== `${base}/contents/.github/foreman.yml`)
        return [404, { message: "Not Found" }];
      const content = Buffer.from(options.repository.config).toString("base64");
      return [200, { type: "file", encoding: "base64", content, path: ".github/foreman.yml", sha: "config-sha" }];
    }
    if (
      method === "POST" &&
      path === "/graphql" &&
      /\b(markPullRequestReadyForReview|updateIssueComment|updateCheckRun)\(/.test(String(body?.query))
    )
      return readyBatch(body);
    if (options.repository && method === "POST" && path === "/graphql") return commitOnBranch(body);
    const step = options.repository ? routeAgentStep(options.repository, method, path) : null;
    if (step) return step;
    if (method === "GET" && path.startsWith(`${base}/branches/`))
      return [200, { name: "master", commit: { sha: "base-sha", commit: { tree: { sha: "tree-sha" } } } }];
    if (method === "POST" && path === `${base}/git/commits`) return [201, { sha: `plan-${++sequence}` }];
    if (method === "PATCH" && path.startsWith(`${base}/git/refs/heads/`)) {
      const branch = path.slice(`${base}/git/refs/heads/`.length);
      if (!branches.has(branch)) return [422, { message: "Reference does not exist" }];
      branches.set(branch, body.sha);
      return [200, { ref: `refs/heads/${branch}`, object: { sha: body.sha } }];
    }
    if (method === "GET" && path.startsWith(`${base}/git/ref/heads/`)) {
      const branch = path.slice(`${base}/git/ref/heads/`.length);
      const sha = branches.get(branch);
      return sha ? [200, { ref: `refs/heads/${branch}`, object: { sha } }] : [404, { message: "Not Found" }];
    }
    if (method === "POST" && path === `${base}/git/refs`) {
      const branch = String(body.ref).replace(/^refs\/heads\//, "");
      if (branches.has(branch)) return [422, { message: "Reference already exists" }];
      branches.set(branch, body.sha);
      return [201, { ref: body.ref, object: { sha: body.sha } }];
    }
    if (method === "GET" && path === `${base}/pulls`) {
      const head = query.get("head")?.replace(`${owner}:`, "");
      return [200, pulls.filter((pr) => head === undefined || pr.head === head)];
    }
    const pull = new RegExp(`^${base}/pulls/(\\d+)$`).exec(path);
    if (method === "GET" && pull) {
      const pr = pulls.find((candidate) => candidate.number === Number(pull[1]));
      if (!pr) return [404, { message: "Not Found" }];
      return [200, { ...pr, node_id: `PR_fake${pr.number}`, base: { ref: "master", repo: { node_id: "R_fake" } } }];
    }
    if (method === "POST" && path === `${base}/pulls`) {
      if (pulls.some((pr) => pr.head === body.head)) return [422, { message: "A pull request already exists" }];
      const number = 100 + pulls.length;
      const pr = {
        number,
        head: body.head,
        html_url: `https://github.com/${owner}/${repo}/pull/${number}`,
        draft: body.draft === true,
      };
      pulls.push(pr);
      return [201, pr];
    }
    if (method === "POST" && /\/issues\/\d+\/labels$/.test(path)) return [200, []];
    if (method === "DELETE" && /\/issues\/\d+\/labels\//.test(path)) return [200, []];
    const issueComments = /\/issues\/(\d+)\/comments$/.exec(path);
    if (method === "GET" && issueComments)
      return [200, comments.filter((comment) => comment.issue === Number(issueComments[1]))];
    if (method === "POST" && issueComments) {
      // Every write comes from the app: its comments are the bot's.
      const comment = {
        id: 5000 + comments.length,
        issue: Number(issueComments[1]),
        body: String(body.body),
        user: { login: "foreman[bot]", type: "Bot" },
      };
      comments.push(comment);
      return [201, comment];
    }
    const edit = /\/issues\/comments\/(\d+)$/.exec(path);
    if (method === "GET" && edit) {
      const comment = comments.find((candidate) => candidate.id === Number(edit[1]));
      return comment ? [200, { ...comment, node_id: `IC_fake${comment.id}` }] : [404, { message: "Not Found" }];
    }
    if (method === "PATCH" && edit) {
      const comment = comments.find((candidate) => candidate.id === Number(edit[1]));
      if (!comment) return [404, { message: "Not Found" }];
      comment.body = String(body.body);
      return [200, comment];
    }
    if (method === "POST" && path === `${base}/check-runs`) {
      const id = 9000 + ++sequence;
      checkRuns.set(id, {
        status: body.conclusion ? "completed" : String(body.status ?? "queued"),
        conclusion: body.conclusion ?? null,
      });
      return [201, { id, ...checkRuns.get(id) }];
    }
    const run = /\/check-runs\/(\d+)$/.exec(path);
    if (method === "GET" && run) {
      const known = checkRuns.get(Number(run[1]));
      return known
        ? [200, { id: Number(run[1]), node_id: `CR_fake${run[1]}`, ...known }]
        : [404, { message: "Not Found" }];
    }
    if (method === "PATCH" && run) {
      const known = checkRuns.get(Number(run[1]));
      if (known && known.status !== "completed") {
        known.status = body.conclusion ? "completed" : String(body.status ?? known.status);
        known.conclusion = body.conclusion ?? null;
      }
      return [200, { id: Number(run[1]), ...known }];
    }
    unrouted.push(`${method} ${path}`);
    return [404, { message: `fake GitHub has no route for ${method} ${path}` }];
  }

  /**
   * The ready effect's one request (ADR 0017): `markPullRequestReadyForReview`, `updateIssueComment`
   * and `updateCheckRun` aliased in one document, run in order; a part whose node is unknown is
   * null in `data` with a NOT_FOUND error, as GitHub answers, the others still done.
   */
  function readyBatch(body: any): [number, unknown] {
    const data: Record<string, unknown> = {};
    const errors: Array<{ type: string; path: string[]; message: string }> = [];
    const fields = String(body?.query ?? "").matchAll(/(\w+): (\w+)\(input: \$(\w+)\)/g);
    for (const [, alias, name, variable] of fields) {
      const input = body.variables?.[variable!] ?? {};
      const id = Number(/(\d+)$/.exec(String(input.pullRequestId ?? input.id ?? input.checkRunId))?.[1]);
      const pr = name === "markPullRequestReadyForReview" ? pulls.find((candidate) => candidate.number === id) : null;
      const comment = name === "updateIssueComment" ? comments.find((candidate) => candidate.id === id) : null;
      const known = name === "updateCheckRun" ? checkRuns.get(id) : null;
      if (pr) {
        pr.draft = false;
        data[alias!] = { pullRequest: { isDraft: false } };
      } else if (comment) {
        comment.body = String(input.body);
        data[alias!] = { issueComment: { id: input.id } };
      } else if (known) {
        if (known.status !== "completed") {
          known.status = input.conclusion ? "completed" : String(input.status).toLowerCase();
          known.conclusion = input.conclusion ? String(input.conclusion).toLowerCase() : null;
        }
        data[alias!] = {
          checkRun: { status: known.status.toUpperCase(), conclusion: known.conclusion?.toUpperCase() ?? null },
        };
      } else {
        data[alias!] = null;
        errors.push({ type: "NOT_FOUND", path: [alias!], message: `Could not resolve to a node (${name})` });
      }
    }
    return [200, errors.length > 0 ? { data, errors } : { data }];
  }

  /** The agent's one-write push: `createCommitOnBranch`, compare-and-swap on `expectedHeadOid`, as GitHub does. */
  function commitOnBranch(body: any): [number, unknown] {
    const query = String(body?.query ?? "");
    if (!query.includes("createCommitOnBranch")) {
      unrouted.push(`POST /graphql ${query.slice(0, 60)}`);
      return [200, { data: null, errors: [{ message: "fake GitHub knows only createCommitOnBranch" }] }];
    }
    const input = body.variables?.input;
    const branch = String(input?.branch?.branchName ?? "");
    const head = branches.get(branch);
    if (head === undefined)
      return [200, { data: null, errors: [{ type: "NOT_FOUND", message: "Could not resolve to a ref" }] }];
    if (input?.expectedHeadOid !== head)
      return [
        200,
        {
          data: { createCommitOnBranch: null },
          errors: [
            { type: "STALE_DATA", message: `Expected branch to point to "${input?.expectedHeadOid}" but it did not.` },
          ],
        },
      ];
    const sha = `pushed-${++sequence}`;
    branches.set(branch, sha);
    return [200, { data: { createCommitOnBranch: { commit: { oid: sha, tree: { oid: `${sha}-tree` } } } } }];
  }

  /** The reads of an agent step that need no state: the issue, a tree, a commit, the tarball; a new tree. */
  function routeAgentStep(repository: FakeRepository, method: string, path: string): [number, unknown] | null {
    if (method === "GET" && /^\/issues\/\d+$/.test(path.slice(base.length))) {
      const number = Number(path.slice(`${base}/issues/`.length));
      return [
        200,
        {
          number,
          title: "Spelling error in the README file",
          body: "It says teh.",
          labels: [],
          user: { login: "Codertocat" },
        },
      ];
    }
    const tree = new RegExp(`^${base}/git/trees/([^/]+)$`).exec(path);
    if (method === "GET" && tree) {
      const entries = repository.paths.map((file) => ({
        path: file,
        type: "blob",
        mode: "100644",
        sha: `${file}-blob`,
      }));
      return [200, { sha: `${tree[1]}-tree`, truncated: false, tree: entries }];
    }
    if (method === "GET" && path.startsWith(`${base}/tarball/`)) return [200, repository.tarball];
    const commit = new RegExp(`^${base}/git/commits/([^/]+)$`).exec(path);
    if (method === "GET" && commit)
      return [200, { sha: commit[1], tree: { sha: `${commit[1]}-tree` }, parents: [{ sha: "base-sha" }] }];
    if (method === "POST" && path === `${base}/git/trees`) return [201, { sha: `tree-${++sequence}` }];
    return null;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = new URL(request.url ?? "/", "http://fake");
    const method = (request.method ?? "GET").toUpperCase();
    // GitHub Enterprise's REST API is under /api/v3, its GraphQL endpoint at /api/graphql.
    const path = decodeURIComponent(url.pathname)
      .replace(/^\/api\/v3/, "")
      .replace(/^\/api\/graphql$/, "/graphql");
    const text = Buffer.concat(chunks).toString("utf8");
    onRequest?.(method, path);
    // GitHub's own latency, so that work is in flight long enough for a test to kill a process mid-way.
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    const key = `${method} ${path}`;
    const occurrence = (occurrences.get(key) ?? 0) + 1;
    occurrences.set(key, occurrence);
    const fault = faults && isFaulted(faults, method, path, occurrence) ? faults.fault : null;
    if (fault) injected.push({ fault, method, path });
    if (fault === "reset") {
      response.socket?.resetAndDestroy();
      return;
    }
    const refusal = fault ? ERROR_ANSWERS[fault] : undefined;
    if (refusal) {
      response.writeHead(refusal[0], { "content-type": "application/json", ...refusal[1] });
      response.end(JSON.stringify({ message: refusal[2] }));
      return;
    }
    const [status, payload] = await route(method, path, url.searchParams, text ? JSON.parse(text) : undefined);
    const graphqlData = path === "/graphql" ? (payload as { data?: Record<string, unknown> | null })?.data : null;
    const pushed = graphqlData?.createCommitOnBranch;
    // A ready request that did any of its parts was performed (a write), whatever its errors.
    const readied = graphqlData && !pushed && Object.values(graphqlData).some((part) => part !== null);
    if (method !== "GET" && !path.startsWith("/app/") && status < 300 && (path !== "/graphql" || pushed || readied)) {
      const parsed =
        path === "/graphql" && pushed
          ? (JSON.parse(text) as { variables?: { input?: { branch?: { branchName?: string } } } })
          : null;
      const write: FakeWrite = parsed
        ? { method, path, ref: `refs/heads/${parsed.variables?.input?.branch?.branchName}` }
        : { method, path };
      writes.push(write);
      if (onWrite && (await onWrite(write)) === "drop") {
        response.destroy();
        return;
      }
    }
    if (fault === "committed-502") {
      response.writeHead(502, { "content-type": "application/json" });
      response.end(JSON.stringify({ message: "Bad Gateway" }));
      return;
    }
    if (fault === "slow") await new Promise((resolve) => setTimeout(resolve, faults?.slowMs ?? 1_000));
    if (response.destroyed) return;
    if (Buffer.isBuffer(payload)) {
      response.writeHead(status, { "content-type": "application/x-gzip" });
      response.end(payload);
      return;
    }
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify(payload));
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    /** `host:port`, for `GHE_HOST`. */
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    branches,
    pulls,
    comments,
    writes,
    unrouted,
    /** The faults injected so far. */
    injected,
    /** Inject faults from now on (null: none). */
    setFaults(plan: FaultPlan | null) {
      faults = plan;
    },
    /** Decide on each performed write before it is answered (null: answer all). */
    setOnWrite(handler: ((write: FakeWrite) => Promise<WriteDecision>) | null) {
      onWrite = handler;
    },
    /** Be told of every request as it arrives (the benchmark's clock). */
    setOnRequest(handler: ((method: string, path: string) => void) | null) {
      onRequest = handler;
    },
    /** Forget everything (between tests). */
    reset() {
      branches.clear();
      pulls.length = 0;
      comments.length = 0;
      checkRuns.clear();
      writes.length = 0;
      unrouted.length = 0;
      onWrite = null;
      onRequest = null;
      faults = null;
      occurrences.clear();
      injected.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The fake GitHub server's handle. */
export type FakeGitHubServer = Awaited<ReturnType<typeof startFakeGitHubServer>>;
