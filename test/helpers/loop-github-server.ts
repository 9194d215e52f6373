import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createLoopGitHub, type LoopGitHubOptions } from "../../bench/happy-path/loop-github.js";

/**
 * The benchmark's whole-loop GitHub (`bench/happy-path/loop-github.ts`: tarball, git data push,
 * check runs, reviews, check suites, GraphQL ready for review) served over real HTTP, for Foreman
 * processes started by a test (`GHE_HOST`, `GHE_PROTOCOL=http`). Its state lives in the test
 * process, so it outlives the Foreman processes that a test kills.
 */
export async function startLoopGitHubServer(options: LoopGitHubOptions) {
  const github = createLoopGitHub(options);
  const server = createServer((request, response) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString("utf8");
      const url = new URL(request.url ?? "/", "http://github.test");
      // GitHub Enterprise's prefixes: REST under /api/v3, GraphQL at /api/graphql.
      const path = url.pathname.replace(/^\/api\/v3(?=\/)/, "").replace(/^\/api\/graphql$/, "/graphql");
      const answer = await github.fetch(`http://github.test${path}${url.search}`, {
        method: request.method ?? "GET",
        ...(text ? { body: text } : {}),
      });
      const bytes = Buffer.from(await answer.arrayBuffer());
      response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
      response.end(bytes);
    })().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    ...github,
    /** `host:port`, for `GHE_HOST`. */
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The served whole-loop GitHub's handle. */
export type LoopGitHubServer = Awaited<ReturnType<typeof startLoopGitHubServer>>;
