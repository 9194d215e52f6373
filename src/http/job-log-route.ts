import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Database } from "../db/client.js";
import { findAgentJobLog } from "../db/queries/find-agent-job-log.js";

/**
 * `GET /jobs/:id/log?token=…`: an agent job's redacted execution log (JSONL: time, stream, line).
 * The link in the status comment carries the job's unguessable token; without it, 404 — the
 * same answer as for a job that does not exist, so ids cannot be probed.
 */
export function createJobLogRoute(database: Database) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://foreman.local");
    const match = /^\/jobs\/([^/]+)\/log$/.exec(url.pathname);
    if (req.method !== "GET" || !match) return false;
    const found = await findAgentJobLog(database.sql, match[1]!);
    const token = url.searchParams.get("token") ?? "";
    if (!found || !sameSecret(token, found.token)) {
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ error: "No such log. Use the link from the issue's status comment." }));
      return true;
    }
    if (found.log === null && found.finished) {
      // RETENTION_DAYS cleared it; the copy in the job's compliance evidence is never pruned.
      res.writeHead(410, { "content-type": "application/json" }).end(
        JSON.stringify({
          error:
            "This job's log was removed after RETENTION_DAYS. Its evidence copy stays: ask an auditor for the task's evidence bundle.",
        }),
      );
      return true;
    }
    if (found.log === null) {
      res
        .writeHead(202, { "content-type": "application/json" })
        .end(JSON.stringify({ status: "The job has not finished; its log is stored when it ends." }));
      return true;
    }
    res
      .writeHead(200, { "content-type": "application/x-ndjson; charset=utf-8", "cache-control": "private, no-store" })
      .end(found.log);
    return true;
  };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
