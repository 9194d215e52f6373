/**
 * The dashboard's router under `/ui/`: the assets, the sign-in, then for a signed-in person the
 * forms (POST) and the pages (GET). The pages and actions are in the modules beside it:
 * `list-pages.ts`, `task-page.ts`, `task-stream.ts`, `post-actions.ts`, `sign-in-routes.ts`,
 * `ui-assets.ts`, over the shared `ui-context.ts`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  sendBoard,
  sendCompliance,
  sendKpiData,
  sendKpis,
  sendQueue,
  sendReviews,
  sendSettings,
} from "./list-pages.js";
import { handlePost } from "./post-actions.js";
import { createPageRenderer } from "./render-page.js";
import { readSession } from "./session.js";
import { finishSignIn, startSignIn } from "./sign-in-routes.js";
import { sendTask } from "./task-page.js";
import { streamTask } from "./task-stream.js";
import { sendAsset } from "./ui-assets.js";
import { createUiContext, type UiContext, type UiRouteDeps } from "./ui-context.js";

export type { UiRouteDeps, UiSettings } from "./ui-context.js";

/** The dashboard's HTTP handler, and `close()` to end its live streams before the server stops. */
export interface UiRoutes {
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  close(): void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The dashboard under `/ui/`: server-rendered pages for people signed in with GitHub, each seeing the
 * repositories they can read; htmx's SSE extension for a task page's live updates; pause and resume
 * for operators. Other paths fall through.
 */
export function createUiRoutes(deps: UiRouteDeps): UiRoutes {
  const context = createUiContext(deps, createPageRenderer());

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? "/", "http://foreman.invalid");
    if (url.pathname === "/ui") {
      res.writeHead(302, { location: "/ui/" }).end();
      return true;
    }
    if (!url.pathname.startsWith("/ui/")) return false;
    try {
      return await route(context, req, res, url);
    } catch (error) {
      deps.log.error({ err: error, path: url.pathname }, "dashboard request failed");
      if (res.headersSent) {
        res.destroy();
        return true;
      }
      return context.sendMessage(
        res,
        500,
        null,
        "Something went wrong",
        "Foreman could not answer; the server log has the details.",
      );
    }
  }

  return {
    handle,
    close() {
      for (const stop of [...context.streams]) stop();
    },
  };
}

// One request under /ui/: assets and the sign-in need no session; everything else does.
async function route(context: UiContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  const { deps, sendMessage } = context;
  const path = url.pathname;
  if (req.method === "GET" && path.startsWith("/ui/assets/")) return sendAsset(res, path.slice("/ui/assets/".length));
  const settings = deps.settings;
  if (!settings) {
    return sendMessage(
      res,
      404,
      null,
      "The dashboard is off",
      "Set GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET and UI_SESSION_SECRET to turn it on (docs/dashboard.md).",
    );
  }
  if (req.method === "GET" && path === "/ui/login") return startSignIn(settings, req, res);
  if (req.method === "GET" && path === "/ui/auth/callback") return finishSignIn(context, settings, req, res, url);
  const session = readSession(settings.sessionSecret, req.headers.cookie, context.now().getTime());
  if (!session) {
    if (req.method !== "GET")
      return sendMessage(res, 401, null, "Signed out", "Sign in again, then repeat what you did.");
    return sendMessage(
      res,
      200,
      null,
      "Sign in",
      "The dashboard shows what Foreman does in the repositories you can read on GitHub.",
      {
        href: "/ui/login",
        label: "Sign in with GitHub",
      },
    );
  }
  if (req.method === "POST") return handlePost(context, session, req, res, path);
  if (req.method !== "GET")
    return sendMessage(res, 405, session, "Not allowed", "The dashboard answers GET and POST only.");
  if (path === "/ui/") return sendBoard(context, res, session);
  if (path === "/ui/reviews") return sendReviews(context, res, session);
  if (path === "/ui/queue") return sendQueue(context, res, session);
  if (path === "/ui/kpis") return sendKpis(context, res, session);
  if (path === "/ui/kpis/data.json") return sendKpiData(context, res, session);
  if (path === "/ui/compliance") return sendCompliance(context, res, session);
  if (path === "/ui/settings") return sendSettings(context, res, session, url.searchParams.get("done"));
  const task = /^\/ui\/tasks\/([^/]+)(\/events)?$/.exec(path);
  if (task && UUID.test(task[1]!)) {
    return task[2]
      ? streamTask(context, req, res, session, task[1]!.toLowerCase(), url)
      : sendTask(context, res, session, task[1]!.toLowerCase());
  }
  return sendMessage(res, 404, session, "Not found", "No such dashboard page.", {
    href: "/ui/",
    label: "Back to the board",
  });
}
