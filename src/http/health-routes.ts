import type { IncomingMessage, ServerResponse } from "node:http";
import type { Database } from "../db/client.js";

/** `GET /healthz` (the process is up) and `GET /readyz` (the database answers). Other paths fall through. */
export function createHealthRoutes(database: Database) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = req.url?.split("?")[0];
    if (req.method !== "GET" || (path !== "/healthz" && path !== "/readyz")) return false;
    if (path === "/healthz") return reply(res, 200, { status: "ok" });
    try {
      await database.sql`select 1`;
      return reply(res, 200, { status: "ready" });
    } catch {
      return reply(res, 503, { status: "database unavailable" });
    }
  };
}

function reply(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  return true;
}
