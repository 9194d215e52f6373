import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { API_OPERATORS, API_READERS } from "../api-tokens.js";
import { authenticateRequest } from "../authenticate-request.js";
import { OPENAPI_DOCUMENT } from "./openapi.js";
import { BadRequestError, sendJson, sendProblem } from "./problem.js";
import { RateLimiter } from "./rate-limit.js";
import { sendJobLog } from "./job-log.js";
import { getSettings, putSettings } from "./settings-handlers.js";
import { getTask, listTaskPage, runTaskAction, startTask } from "./task-handlers.js";
import { OperatorActionError } from "../../engine/operator-actions.js";
import type { ApiCaller, ApiRouteDeps } from "./api-deps.js";

export type { ApiCaller, ApiRouteDeps } from "./api-deps.js";

/** A matched route: its handler, and whether it needs an operator or admin token. */
interface Route {
  write: boolean;
  handle: (req: IncomingMessage, res: ServerResponse, caller: ApiCaller, url: URL) => Promise<true>;
}

const UUID = "[0-9a-fA-F-]{36}";
const ACTION_PATH = new RegExp(`^/api/tasks/(${UUID})/(stop|retry|freeze|unfreeze)$`);
const TASK_PATH = new RegExp(`^/api/tasks/(${UUID})$`);
const LOG_PATH = new RegExp(`^/api/tasks/(${UUID})/jobs/(${UUID})/log$`);

/**
 * Foreman's REST API under `/api` (not `/api/compliance`, which has its own routes): the OpenAPI
 * document, tasks and their actions, job logs, and the runtime settings. Bearer tokens; each token
 * is rate-limited; every error is an RFC 9457 problem document.
 */
export function createApiRoutes(deps: ApiRouteDeps) {
  const limiter = new RateLimiter(deps.rateLimitPerMinute, deps.clock);
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://foreman.invalid");
    const path = url.pathname;
    if (path !== "/api" && !path.startsWith("/api/")) return false;
    if (path === "/api/compliance" || path.startsWith("/api/compliance/")) return false;
    try {
      if (path === "/api/openapi.json") {
        if (req.method !== "GET") return methodNotAllowed(res, ["GET"]);
        return sendJson(res, 200, OPENAPI_DOCUMENT);
      }
      const routes = matchRoutes(deps, path);
      if (!routes)
        return sendProblem(
          res,
          404,
          "not-found",
          `No API route ${path}. The routes are listed in GET /api/openapi.json.`,
        );
      const auth = await authenticateRequest(deps.sql, req.headers.authorization, API_READERS);
      if (!auth.ok)
        return sendProblem(
          res,
          auth.status,
          auth.status === 401 ? "unauthorized" : "forbidden",
          auth.body.message,
          auth.status === 401 ? { "www-authenticate": 'Bearer realm="foreman"' } : {},
        );
      const taken = limiter.take(auth.token.id);
      if (!taken.allowed)
        return sendProblem(
          res,
          429,
          "rate-limited",
          `The token "${auth.token.name}" sent more than ${deps.rateLimitPerMinute} requests a minute. Wait ${taken.retryAfterSeconds} s (Retry-After) and send fewer.`,
          { "retry-after": String(taken.retryAfterSeconds) },
        );
      const route = routes[req.method ?? "GET"];
      if (!route) return methodNotAllowed(res, Object.keys(routes));
      if (route.write && !API_OPERATORS.includes(auth.token.role))
        return sendProblem(
          res,
          403,
          "forbidden",
          `The token "${auth.token.name}" has the role ${auth.token.role}; this needs one of: ${API_OPERATORS.join(", ")}. Ask an administrator for an operator token.`,
        );
      return await route.handle(req, res, auth.token, url);
    } catch (error) {
      if (error instanceof BadRequestError) return sendProblem(res, error.status, "bad-request", error.message);
      if (error instanceof z.ZodError)
        return sendProblem(
          res,
          400,
          "bad-request",
          `The request is not valid: ${error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; ")}.`,
        );
      if (error instanceof OperatorActionError)
        return sendProblem(
          res,
          error.code === "not_found" ? 404 : error.code === "conflict" ? 409 : 422,
          error.code.replace("_", "-"),
          error.message,
        );
      deps.log.error({ err: error, path }, "API request failed");
      if (res.headersSent) {
        res.destroy();
        return true;
      }
      return sendProblem(res, 500, "internal", "Foreman could not answer; the server log has the details.");
    }
  };
}

function matchRoutes(deps: ApiRouteDeps, path: string): Record<string, Route> | null {
  if (path === "/api/tasks")
    return {
      GET: { write: false, handle: (_req, res, _caller, url) => listTaskPage(deps, res, url) },
      POST: { write: true, handle: (req, res, caller) => startTask(deps, req, res, caller) },
    };
  if (path === "/api/settings")
    return {
      GET: { write: false, handle: (_req, res) => getSettings(deps, res) },
      PUT: { write: true, handle: (req, res, caller) => putSettings(deps, req, res, caller) },
    };
  const task = TASK_PATH.exec(path);
  if (task) return { GET: { write: false, handle: (_req, res) => getTask(deps, res, task[1]!.toLowerCase()) } };
  const action = ACTION_PATH.exec(path);
  if (action)
    return {
      POST: {
        write: true,
        handle: (_req, res, caller) =>
          runTaskAction(
            deps,
            res,
            caller,
            action[1]!.toLowerCase(),
            action[2] as "stop" | "retry" | "freeze" | "unfreeze",
          ),
      },
    };
  const log = LOG_PATH.exec(path);
  if (log)
    return {
      GET: {
        write: false,
        handle: (req, res, _caller, url) =>
          sendJobLog(
            deps,
            req,
            res,
            log[1]!.toLowerCase(),
            log[2]!.toLowerCase(),
            url.searchParams.get("follow") === "1",
          ),
      },
    };
  return null;
}

function methodNotAllowed(res: ServerResponse, allowed: string[]): true {
  return sendProblem(res, 405, "method-not-allowed", `Use ${allowed.join(" or ")} on this path.`, {
    allow: allowed.join(", "),
  });
}
