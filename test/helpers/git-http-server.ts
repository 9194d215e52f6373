/**
 * Real git over HTTP for tests and benchmarks: node:http running `git http-backend` as a CGI
 * program over the bare repositories under `projectRoot` (GIT_PROJECT_ROOT, GIT_HTTP_EXPORT_ALL).
 * Every request must carry `Authorization: Basic x-access-token:<token>` (401 otherwise); the
 * server records each request's Authorization header and the bytes it sent back. It also serves
 * GitHub's tarball endpoint (`GET /repos/{o}/{r}/tarball/{ref}` from `<projectRoot>/{o}/{r}.git`,
 * `git archive --format=tar.gz`), so the tarball path can be measured beside the mirror.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/** One request the server answered. */
export interface GitHttpRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly status: number;
  readonly bytesSent: number;
}

/** A running server. */
export interface GitHttpServer {
  readonly url: string;
  readonly requests: GitHttpRequest[];
  /** Bytes sent since the last call (or the start), and forgets them. */
  takeBytesSent(): number;
  close(): Promise<void>;
}

/** Fails, saying what to install, unless git's http-backend exists. */
export function findHttpBackend(): string {
  const execPath = spawnSync("git", ["--exec-path"], { encoding: "utf8" }).stdout.trim();
  const backend = join(execPath, "git-http-backend");
  if (!existsSync(backend))
    throw new Error(`git http-backend is missing (${backend}): install git (Debian: apt-get install git)`);
  return backend;
}

/** Starts the server on 127.0.0.1 and a free port. */
export async function startGitHttpServer(options: { projectRoot: string; token: string }): Promise<GitHttpServer> {
  const backend = findHttpBackend();
  const expected = `Basic ${Buffer.from(`x-access-token:${options.token}`).toString("base64")}`;
  const requests: GitHttpRequest[] = [];
  let unsent = 0;
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const record = (status: number, bytesSent: number): void => {
      requests.push({
        method: request.method ?? "GET",
        path: url.pathname,
        authorization: request.headers.authorization,
        status,
        bytesSent,
      });
      unsent += bytesSent;
    };
    const tarball = /^\/repos\/([^/]+)\/([^/]+)\/tarball\/(.+)$/.exec(url.pathname);
    const wanted = tarball ? `token ${options.token}` : expected;
    if (request.headers.authorization !== wanted) {
      response.writeHead(401, { "www-authenticate": 'Basic realm="git"' }).end();
      record(401, 0);
      return;
    }
    if (tarball) serveTarball(options.projectRoot, tarball, response, record);
    else serveGit(backend, options.projectRoot, url, request, response, record);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    takeBytesSent: () => {
      const sent = unsent;
      unsent = 0;
      return sent;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function serveGit(
  backend: string,
  projectRoot: string,
  url: URL,
  request: IncomingMessage,
  response: ServerResponse,
  record: (status: number, bytes: number) => void,
): void {
  const child = spawn(backend, [], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: "1",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      REQUEST_METHOD: request.method ?? "GET",
      PATH_INFO: url.pathname,
      QUERY_STRING: url.search.replace(/^\?/, ""),
      CONTENT_TYPE: request.headers["content-type"] ?? "",
      HTTP_CONTENT_ENCODING: request.headers["content-encoding"] ?? "",
      GIT_PROTOCOL: String(request.headers["git-protocol"] ?? ""),
      REMOTE_ADDR: "127.0.0.1",
    },
    stdio: ["pipe", "pipe", "ignore"],
  });
  request.pipe(child.stdin);
  let head = Buffer.alloc(0);
  let headersDone = false;
  let status = 200;
  let bytes = 0;
  child.stdout.on("data", (chunk: Buffer) => {
    if (headersDone) {
      bytes += chunk.length;
      response.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) return;
    headersDone = true;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "status") status = Number.parseInt(value, 10);
      else headers[name] = value;
    }
    response.writeHead(status, headers);
    const body = head.subarray(end + 4);
    bytes += body.length;
    response.write(body);
  });
  child.on("close", () => {
    if (!headersDone) response.writeHead(502);
    response.end();
    record(status, bytes);
  });
}

function serveTarball(
  projectRoot: string,
  match: RegExpExecArray,
  response: ServerResponse,
  record: (status: number, bytes: number) => void,
): void {
  const [, owner, repo, ref] = match;
  const child = spawn(
    "git",
    [
      "--git-dir",
      join(projectRoot, owner!, `${repo}.git`),
      "archive",
      "--format=tar.gz",
      `--prefix=${owner}-${repo}-${ref}/`,
      ref!,
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  let bytes = 0;
  response.writeHead(200, { "content-type": "application/x-gzip" });
  child.stdout.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
    response.write(chunk);
  });
  child.on("close", () => {
    response.end();
    record(200, bytes);
  });
}
