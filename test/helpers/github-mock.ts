import nock from "nock";
import { INSTALLATION_ID } from "./payloads.js";

/** The repository the documented example payloads use. */
export const REPO = { owner: "Codertocat", name: "Hello-World", id: 186853002, defaultBranch: "master" } as const;

/** The base path of the example repository's REST routes. */
export const REPO_PATH = `/repos/${REPO.owner}/${REPO.name}`;

/** A request GitHub received: method, path and JSON body. */
export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
}

/**
 * A strict simulated GitHub: every expected request is declared once (an unmocked request fails,
 * an unused mock fails the test), and every request is recorded in order so tests can assert the
 * exact writes and their bodies.
 */
export function mockGitHub(baseUrl = "https://api.github.com") {
  const requests: RecordedRequest[] = [];
  const record = (req: Request, _interceptor: unknown, body: string) => {
    const url = new URL(req.url);
    requests.push({
      method: req.method,
      path: decodeURIComponent(url.pathname + url.search),
      body: body ? JSON.parse(body) : undefined,
    });
  };
  const scope = nock(baseUrl);
  scope.on("request", record);
  // Redraws (status comment edits, check runs) happen as often as timing allows: they get their own
  // scope, persisted and optional. (In nock, persist() is a scope setting: on the strict scope it
  // would make every mock answer forever and never count as unused.)
  const display = nock(baseUrl).persist();
  display.on("request", record);
  return {
    scope,
    display,
    requests,
    /** Only the writes (anything but GET), in order. */
    writes: () => requests.filter((request) => request.method !== "GET" && !request.path.includes("/access_tokens")),
    reads: () => requests.filter((request) => request.method === "GET"),
    token(times = 1) {
      scope
        .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
        .times(times)
        .reply(201, {
          token: "ghs_installationtokenfortests",
          expires_at: new Date(Date.now() + 3_600_000).toISOString(),
          permissions: {},
          repository_selection: "all",
        });
      return this;
    },
    permission(login: string, role: string) {
      const legacy = role === "maintain" ? "write" : role === "triage" ? "read" : role;
      scope
        .get(`${REPO_PATH}/collaborators/${login}/permission`)
        .reply(200, { permission: legacy, role_name: role, user: { login } });
      return this;
    },
    config(text: string | null) {
      const route = scope
        .get(`${REPO_PATH}/contents/${encodeURIComponent(".github/foreman.yml")}`)
        .query({ ref: REPO.defaultBranch });
      if (text === null) route.reply(404, { message: "Not Found" });
      else
        route.reply(200, {
          type: "file",
          encoding: "base64",
          content: Buffer.from(text).toString("base64"),
          path: ".github/foreman.yml",
          name: "foreman.yml",
          sha: "cfg",
        });
      return this;
    },
    branch(sha = "base-sha", treeSha = "base-tree-sha") {
      scope
        .get(`${REPO_PATH}/branches/${REPO.defaultBranch}`)
        .reply(200, { name: REPO.defaultBranch, commit: { sha, commit: { tree: { sha: treeSha } } } });
      return this;
    },
    planCommit(sha = "plan-sha") {
      scope
        .post(`${REPO_PATH}/git/commits`, (body: { message?: string }) => body.message?.startsWith("Plan: ") === true)
        .reply(201, { sha });
      return this;
    },
    createRef(status = 201) {
      scope
        .post(`${REPO_PATH}/git/refs`)
        .reply(
          status,
          status === 201
            ? { ref: "refs/heads/x", object: { sha: "plan-sha" } }
            : { message: "Reference already exists" },
        );
      return this;
    },
    pull(number: number) {
      scope
        .post(`${REPO_PATH}/pulls`)
        .reply(201, { number, html_url: `https://github.com/${REPO.owner}/${REPO.name}/pull/${number}` });
      return this;
    },
    labels(issueNumber: number) {
      scope.post(`${REPO_PATH}/issues/${issueNumber}/labels`).reply(200, []);
      return this;
    },
    createComment(issueNumber: number, id = 9001) {
      scope.post(`${REPO_PATH}/issues/${issueNumber}/comments`).reply(201, { id });
      return this;
    },
    /** The `foreman` check run on the PR head (created once per head SHA). */
    checkRun(id = 501) {
      scope.post(`${REPO_PATH}/check-runs`).reply(201, { id });
      return this;
    },
    updateComment(id = 9001) {
      scope.patch(`${REPO_PATH}/issues/comments/${id}`).reply(200, { id });
      return this;
    },
  };
}

/** The whole floor from a label to a visible draft PR with its status comment. */
export function mockLabelToDraftPr(
  github: ReturnType<typeof mockGitHub>,
  issue: number,
  pr: number,
  sender = "Codertocat",
) {
  return github
    .permission(sender, "write")
    .config(null)
    .branch()
    .planCommit()
    .createRef()
    .pull(pr)
    .labels(pr)
    .createComment(issue);
}
