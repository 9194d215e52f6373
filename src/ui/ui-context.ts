/**
 * What every dashboard route shares: its settings and dependencies (built by `src/main.ts`), the
 * page renderer and the clock, the state that outlives one request (the live streams, the last
 * chain verification), and the HTML answers, each with the dashboard's security headers and
 * navigation.
 */
import type { KeyObject } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { ArtifactStore } from "../compliance/artifacts.js";
import type { DatabaseVerification } from "../compliance/verify-database.js";
import type { SqlClient } from "../db/client.js";
import type { OAuthSettings } from "./github-oauth.js";
import type { PageName, PageRenderer } from "./render-page.js";
import type { UiSession } from "./session.js";

/** The dashboard's settings, from the environment (built by `src/main.ts`). */
export interface UiSettings {
  oauth: OAuthSettings;
  sessionSecret: string;
  operators: readonly string[];
  auditors: readonly string[];
  /** PUBLIC_URL without a trailing slash: the callback is `<publicUrl>/ui/auth/callback`. Null: the address the browser used. */
  publicUrl: string | null;
  /** How long a sign-in lasts. */
  sessionHours?: number;
}

/** What the dashboard reads and writes. */
export interface UiRouteDeps {
  sql: SqlClient;
  /** Null: the dashboard is off, and /ui/ says how to turn it on. */
  settings: UiSettings | null;
  artifacts: ArtifactStore | null;
  publicKeys: ReadonlyMap<string, KeyObject> | null;
  /** FOREMAN_PAUSED=true: shown on the settings page, which cannot lift it. */
  pausedByEnv: boolean;
  /** How often a task page's live stream looks for news. */
  pollMs: number;
  log: Pick<Logger, "error" | "info">;
  now?: () => Date;
}

/** The last chain verification someone asked for on the compliance page (this process's, in memory). */
export interface LastVerify {
  at: Date;
  by: string;
  result: DatabaseVerification;
}

/** A link under a message: where to go next. */
export interface MessageLink {
  href: string;
  label: string;
}

/** One dashboard's routes' shared context (one per `createUiRoutes`). */
export interface UiContext {
  readonly deps: UiRouteDeps;
  readonly render: PageRenderer;
  readonly now: () => Date;
  /** The open live streams' stop functions, ended by `close()`. */
  readonly streams: Set<() => void>;
  /** What the compliance page shows of the last verification. */
  readonly state: { lastVerify: LastVerify | null };
  /** Answers with a whole page, with the navigation for a signed-in person. */
  sendPage(
    res: ServerResponse,
    status: number,
    page: PageName,
    session: UiSession | null,
    context: Record<string, unknown>,
  ): true;
  /** Answers with the message page: a title, a sentence, and maybe a link. */
  sendMessage(
    res: ServerResponse,
    status: number,
    session: UiSession | null,
    title: string,
    message: string,
    link?: MessageLink,
  ): true;
}

/** The headers of every page and JSON answer: no framing, no sniffing, no caching, scripts from Foreman only. */
export const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self' ; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
};

const NAV: Array<{ path: string; label: string; page: PageName }> = [
  { path: "/ui/", label: "Board", page: "board" },
  { path: "/ui/reviews", label: "Reviews", page: "reviews" },
  { path: "/ui/queue", label: "Queue", page: "queue" },
  { path: "/ui/kpis", label: "KPIs", page: "kpis" },
  { path: "/ui/compliance", label: "Compliance", page: "compliance" },
  { path: "/ui/settings", label: "Settings", page: "settings" },
];

/** The context of one dashboard: its renderer, clock, streams and state, and its page answers. */
export function createUiContext(deps: UiRouteDeps, render: PageRenderer): UiContext {
  const now = deps.now ?? (() => new Date());
  const sendPage: UiContext["sendPage"] = (res, status, page, session, context) => {
    const html = render.page(page, {
      ...context,
      session,
      isOperator: session?.roles.includes("operator") ?? false,
      isAuditor: session?.roles.includes("auditor") ?? false,
      nav: session ? NAV.map((item) => ({ ...item, current: item.page === page })) : [],
      now: now(),
    });
    res.writeHead(status, { "content-type": "text/html; charset=utf-8", ...SECURITY_HEADERS }).end(html);
    return true;
  };
  return {
    deps,
    render,
    now,
    streams: new Set(),
    state: { lastVerify: null },
    sendPage,
    sendMessage: (res, status, session, title, message, link) =>
      sendPage(res, status, "message", session, { title, message, link }),
  };
}
