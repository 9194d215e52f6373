/** One request the fake GitHub answered. */
export interface FakeRequest {
  method: string;
  path: string;
  at: number;
  issue: number | null;
}

/**
 * GitHub answered in-process at zero latency: a `fetch` for Octokit that routes the calls Foreman
 * makes from label to draft PR. It records each request with a high-resolution timestamp so the
 * benchmark can measure orchestration overhead and count reads and writes per task.
 */
export function createFakeGitHub(owner: string, repo: string) {
  const requests: FakeRequest[] = [];
  let nextPr = 1000;
  let nextComment = 5000;
  const prByBranch = new Map<string, number>();
  const listeners: Array<(request: FakeRequest) => void> = [];

  function json(status: number, body: unknown): Response {
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  }

  async function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const path = decodeURIComponent(url.pathname);
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    const issueMatch = /\/issues\/(\d+)\//.exec(path) ?? /agent\/(\d+)-/.exec(JSON.stringify(body ?? "") + path);
    const request: FakeRequest = {
      method,
      path,
      at: performance.now(),
      issue: issueMatch ? Number(issueMatch[1]) : null,
    };
    requests.push(request);
    for (const listener of listeners) listener(request);
    const base = `/repos/${owner}/${repo}`;
    if (method === "POST" && /^\/app\/installations\/\d+\/access_tokens$/.test(path)) {
      return json(201, { token: "ghs_benchmark", expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    }
    if (method === "GET" && path.startsWith(`${base}/collaborators/`))
      return json(200, { permission: "write", role_name: "write" });
    if (method === "GET" && path === `${base}/contents/.github/foreman.yml`) return json(404, { message: "Not Found" });
    if (method === "GET" && path.startsWith(`${base}/branches/`))
      return json(200, { commit: { sha: "base", commit: { tree: { sha: "tree" } } } });
    if (method === "POST" && path === `${base}/git/commits`) return json(201, { sha: `plan-${requests.length}` });
    if (method === "POST" && path === `${base}/git/refs`)
      return json(201, { ref: body.ref, object: { sha: body.sha } });
    if (method === "POST" && path === `${base}/pulls`) {
      const number = nextPr++;
      prByBranch.set(body.head, number);
      request.issue = Number(/agent\/(\d+)-/.exec(body.head)?.[1] ?? NaN);
      return json(201, { number, html_url: `https://github.com/${owner}/${repo}/pull/${number}` });
    }
    if (method === "POST" && /\/issues\/\d+\/labels$/.test(path)) return json(200, []);
    if (method === "POST" && /\/issues\/\d+\/comments$/.test(path)) return json(201, { id: nextComment++ });
    if (method === "PATCH" && /\/issues\/comments\/\d+$/.test(path)) return json(200, {});
    if (method === "POST" && path === `${base}/check-runs`) return json(201, { id: nextComment++ });
    if (method === "PATCH" && /\/check-runs\/\d+$/.test(path)) return json(200, {});
    return json(404, { message: `fake GitHub has no route for ${method} ${path}` });
  }

  return {
    fetch,
    requests,
    onRequest(listener: (request: FakeRequest) => void) {
      listeners.push(listener);
    },
    prNumberOfIssue(issue: number) {
      return [...prByBranch.entries()].find(([branch]) => branch.includes(`/${issue}-`))?.[1] ?? null;
    },
  };
}
