import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ForemanMetrics } from "../metrics/foreman-metrics.js";

/**
 * `GET /metrics`: Foreman's metrics in Prometheus' text format. With a token (`METRICS_TOKEN`) the
 * request must send `Authorization: Bearer <token>`; otherwise 401 says how.
 */
export function createMetricsRoute(metrics: ForemanMetrics, token: string | undefined) {
  const expected = token === undefined ? null : digest(token);
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = new URL(req.url ?? "/", "http://foreman.local").pathname;
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) return false;
    if (expected !== null) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
      if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
        res
          .writeHead(401, { "content-type": "application/json", "www-authenticate": 'Bearer realm="foreman-metrics"' })
          .end(
            JSON.stringify({
              error: "unauthorized",
              message:
                "This Foreman protects /metrics with METRICS_TOKEN: send `Authorization: Bearer <METRICS_TOKEN>` (in Prometheus, `authorization: { credentials: … }` on the scrape job).",
            }),
          );
        return true;
      }
    }
    const body = await metrics.scrape();
    res.writeHead(200, { "content-type": metrics.registry.contentType, "cache-control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
