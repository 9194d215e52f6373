/**
 * The job-scoped archive endpoints of Kubernetes agent jobs (src/agents/kubernetes/job-archives.ts):
 *
 *   GET  /agent-jobs/:id/workspace   the job's repository copy, prompt and context (a tar), once
 *   POST /agent-jobs/:id/result      the pod's workspace and out directory back (a tar), once
 *
 * Each takes its own single-use, expiring token (`Authorization: Bearer …`), which only the pod's
 * helper containers read from the job's Secret. Any refusal is the same 404, so job ids and
 * tokens cannot be probed. Not under /api/: the pod is the only client.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { JobArchives } from "../agents/kubernetes/job-archives.js";

const ROUTE = /^\/agent-jobs\/([^/]+)\/(workspace|result)$/;

/** The upload path, which takes bodies up to WORKSPACE_MAX_MB instead of the webhook limit (body-limit.ts). */
export const ARCHIVE_UPLOAD_PATH = /^\/agent-jobs\/[^/]+\/result$/;

/** The request handler of the archive endpoints; answers false for any other path. */
export function createJobArchiveRoute(archives: JobArchives) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://foreman.local");
    const match = ROUTE.exec(url.pathname);
    if (match === null) return false;
    const jobId = decodeURIComponent(match[1]!);
    const token = readBearer(req.headers.authorization);
    if (match[2] === "workspace") {
      if (req.method !== "GET") return sendProblem(res, 405, "method-not-allowed", "Use GET.", { allow: "GET" });
      const archive = token === null ? null : await archives.takeDownload(jobId, token);
      if (archive === null) return refuse(res);
      res.writeHead(200, { "content-type": "application/x-tar", "cache-control": "no-store" });
      await pipeline(archive, res).catch(() => res.destroy());
      return true;
    }
    if (req.method !== "POST" && req.method !== "PUT") {
      return sendProblem(res, 405, "method-not-allowed", "Use POST.", { allow: "POST, PUT" });
    }
    if (token === null) {
      req.resume();
      return refuse(res);
    }
    const answer = await archives.receiveUpload(jobId, token, req);
    // A refused upload is still read to its end, so the client gets the answer rather than a reset.
    if (!req.readableEnded) req.resume();
    if (answer.ok) {
      res.writeHead(204).end();
      return true;
    }
    if (answer.status === 404) return refuse(res);
    return answer.status === 413
      ? sendProblem(res, 413, "archive-too-large", "The job's files are larger than WORKSPACE_MAX_MB allows.")
      : sendProblem(res, 400, "archive-unreadable", "The upload is not a tar archive Foreman can unpack.");
  };
}

// An RFC 9457 problem document (src/http/api/problem.ts is the REST API's own; this route is not part of it).
function sendProblem(
  res: ServerResponse,
  status: number,
  slug: string,
  detail: string,
  headers: Record<string, string> = {},
): true {
  const titles: Record<number, string> = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
  };
  const body = { type: `https://foreman.dev/problems/${slug}`, title: titles[status] ?? "Error", status, detail };
  res.writeHead(status, { "content-type": "application/problem+json", ...headers }).end(JSON.stringify(body));
  return true;
}

function refuse(res: ServerResponse): true {
  return sendProblem(res, 404, "not-found", "No such job archive, or its token is wrong, spent or expired.");
}

function readBearer(header: string | undefined): string | null {
  const match = /^Bearer ([A-Za-z0-9_-]{8,200})$/.exec(header ?? "");
  return match === null ? null : match[1]!;
}
