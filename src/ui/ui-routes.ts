import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { KeyObject } from "node:crypto";
import type { Logger } from "pino";
import type { ArtifactStore } from "../compliance/artifacts.js";
import { verifyDatabase, type DatabaseVerification } from "../compliance/verify-database.js";
import { verifyTask } from "../compliance/verify-task.js";
import type { SqlClient } from "../db/client.js";
import { countComplianceRecords } from "../db/queries/count-compliance-records.js";
import { findChainHead } from "../db/queries/find-chain-head.js";
import { findLatestCheckpoint } from "../db/queries/find-latest-checkpoint.js";
import { findPauseSetting } from "../db/queries/find-pause-setting.js";
import { findTaskDocument } from "../db/queries/find-task-document.js";
import { listBoardTasks } from "../db/queries/list-board-tasks.js";
import { listDailyTaskKpis } from "../db/queries/list-daily-task-kpis.js";
import { listOpenAgentJobs } from "../db/queries/list-open-agent-jobs.js";
import { listTaskCiResults } from "../db/queries/list-task-ci-results.js";
import { listTaskJobLogs, type TaskJobLog } from "../db/queries/list-task-job-logs.js";
import { listTaskTimeline } from "../db/queries/list-task-timeline.js";
import { ACTIVE_STATES, TERMINAL_STATES } from "../workflow/states.js";
import { changePause } from "./change-pause.js";
import {
  buildAuthorizeUrl,
  exchangeCode,
  OAuthError,
  readSignedInUser,
  resolveRoles,
  type OAuthSettings,
} from "./github-oauth.js";
import { createPageRenderer, UI_DIR, type PageName } from "./render-page.js";
import {
  buildCookie,
  checkCsrfToken,
  generateToken,
  openSealed,
  parseCookies,
  readSession,
  sealValue,
  SESSION_COOKIE,
  STATE_COOKIE,
  type UiSession,
} from "./session.js";

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

/** The dashboard's HTTP handler, and `close()` to end its live streams before the server stops. */
export interface UiRoutes {
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  close(): void;
}

const require = createRequire(import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  "htmx.min.js": { file: require.resolve("htmx.org/dist/htmx.min.js"), type: "text/javascript" },
  "sse.js": { file: require.resolve("htmx-ext-sse/dist/sse.min.js"), type: "text/javascript" },
  "uPlot.iife.min.js": { file: require.resolve("uplot/dist/uPlot.iife.min.js"), type: "text/javascript" },
  "uPlot.min.css": { file: require.resolve("uplot/dist/uPlot.min.css"), type: "text/css" },
  "ui.css": { file: `${UI_DIR}assets/ui.css`, type: "text/css" },
  "kpis.js": { file: `${UI_DIR}assets/kpis.js`, type: "text/javascript" },
};

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self' ; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAV: Array<{ path: string; label: string; page: PageName }> = [
  { path: "/ui/", label: "Board", page: "board" },
  { path: "/ui/reviews", label: "Reviews", page: "reviews" },
  { path: "/ui/queue", label: "Queue", page: "queue" },
  { path: "/ui/kpis", label: "KPIs", page: "kpis" },
  { path: "/ui/compliance", label: "Compliance", page: "compliance" },
  { path: "/ui/settings", label: "Settings", page: "settings" },
];

/**
 * The dashboard under `/ui/`: server-rendered pages for people signed in with GitHub, each seeing the
 * repositories they can read; htmx's SSE extension for a task page's live updates; pause and resume
 * for operators. Other paths fall through.
 */
export function createUiRoutes(deps: UiRouteDeps): UiRoutes {
  const render = createPageRenderer();
  const now = deps.now ?? (() => new Date());
  const streams = new Set<() => void>();
  let lastVerify: { at: Date; by: string; result: DatabaseVerification } | null = null;

  const sendPage = (
    res: ServerResponse,
    status: number,
    page: PageName,
    session: UiSession | null,
    context: Record<string, unknown>,
  ): true => {
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
  const sendMessage = (
    res: ServerResponse,
    status: number,
    session: UiSession | null,
    title: string,
    message: string,
    link?: { href: string; label: string },
  ) => sendPage(res, status, "message", session, { title, message, link });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? "/", "http://foreman.invalid");
    if (url.pathname === "/ui") {
      res.writeHead(302, { location: "/ui/" }).end();
      return true;
    }
    if (!url.pathname.startsWith("/ui/")) return false;
    try {
      return await route(req, res, url);
    } catch (error) {
      deps.log.error({ err: error, path: url.pathname }, "dashboard request failed");
      if (res.headersSent) {
        res.destroy();
        return true;
      }
      return sendMessage(
        res,
        500,
        null,
        "Something went wrong",
        "Foreman could not answer; the server log has the details.",
      );
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
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
    if (req.method === "GET" && path === "/ui/auth/callback") return finishSignIn(settings, req, res, url);
    const session = readSession(settings.sessionSecret, req.headers.cookie, now().getTime());
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
    if (req.method === "POST") return handlePost(session, req, res, path);
    if (req.method !== "GET")
      return sendMessage(res, 405, session, "Not allowed", "The dashboard answers GET and POST only.");
    if (path === "/ui/") return sendBoard(res, session);
    if (path === "/ui/reviews") return sendReviews(res, session);
    if (path === "/ui/queue") return sendQueue(res, session);
    if (path === "/ui/kpis")
      return sendPage(res, 200, "kpis", session, { days: await listDailyTaskKpis(deps.sql, session.repoIds) });
    if (path === "/ui/kpis/data.json") return sendKpiData(res, session);
    if (path === "/ui/compliance") return sendCompliance(res, session);
    if (path === "/ui/settings") return sendSettings(res, session, url.searchParams.get("done"));
    const task = /^\/ui\/tasks\/([^/]+)(\/events)?$/.exec(path);
    if (task && UUID.test(task[1]!)) {
      return task[2]
        ? streamTask(req, res, session, task[1]!.toLowerCase(), url)
        : sendTask(res, session, task[1]!.toLowerCase());
    }
    return sendMessage(res, 404, session, "Not found", "No such dashboard page.", {
      href: "/ui/",
      label: "Back to the board",
    });
  }

  function startSignIn(settings: UiSettings, req: IncomingMessage, res: ServerResponse): true {
    const state = generateToken();
    const redirectUri = buildCallbackUrl(settings, req);
    res
      .writeHead(302, {
        location: buildAuthorizeUrl(settings.oauth, redirectUri, state),
        // Lax: GitHub's redirect back is a cross-site navigation, which a Strict cookie would miss.
        "set-cookie": buildCookie(STATE_COOKIE, sealValue(settings.sessionSecret, { state, redirectUri }), {
          path: "/ui/auth",
          maxAgeSeconds: 600,
          sameSite: "Lax",
        }),
        "cache-control": "no-store",
      })
      .end();
    return true;
  }

  async function finishSignIn(settings: UiSettings, req: IncomingMessage, res: ServerResponse, url: URL) {
    const sealed = parseCookies(req.headers.cookie).get(STATE_COOKIE);
    const saved = sealed
      ? (openSealed(settings.sessionSecret, sealed) as { state?: string; redirectUri?: string } | null)
      : null;
    const state = url.searchParams.get("state");
    const code = url.searchParams.get("code");
    const retry = { href: "/ui/login", label: "Sign in with GitHub" };
    if (!saved?.state || !saved.redirectUri || state !== saved.state) {
      return sendMessage(
        res,
        400,
        null,
        "Sign-in not recognised",
        "This sign-in did not start here or took longer than 10 minutes; sign in again.",
        retry,
      );
    }
    if (!code) {
      const reason = url.searchParams.get("error_description") ?? "GitHub sent no code";
      return sendMessage(res, 400, null, "Sign-in refused", `${reason}; sign in again.`, retry);
    }
    let session: UiSession;
    try {
      const token = await exchangeCode(settings.oauth, code, saved.redirectUri);
      const user = await readSignedInUser(settings.oauth, token);
      const roles = await resolveRoles(settings.oauth, token, user.login, settings);
      session = {
        login: user.login,
        roles,
        repoIds: user.repoIds,
        csrf: generateToken(),
        expiresAt: now().getTime() + (settings.sessionHours ?? 12) * 3_600_000,
      };
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      return sendMessage(res, 502, null, "Sign-in failed", error.message, retry);
    }
    deps.log.info({ login: session.login, roles: session.roles, repos: session.repoIds.length }, "dashboard sign-in");
    const cookie = buildCookie(SESSION_COOKIE, sealValue(settings.sessionSecret, session), {
      path: "/ui/",
      maxAgeSeconds: Math.floor((session.expiresAt - now().getTime()) / 1000),
      sameSite: "Strict",
    });
    const clearState = buildCookie(STATE_COOKIE, "", { path: "/ui/auth", maxAgeSeconds: 0, sameSite: "Lax" });
    // A page of Foreman's own moves on to the board: a redirect would still count as GitHub's
    // cross-site navigation, and the browser would hold back the SameSite=Strict cookie.
    const html = render.page("message", {
      title: "Signed in",
      message: `Signed in as ${session.login}.`,
      link: { href: "/ui/", label: "Continue to the board" },
      refresh: "/ui/",
      session: null,
      nav: [],
      now: now(),
    });
    res
      .writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "set-cookie": [cookie, clearState],
        ...SECURITY_HEADERS,
      })
      .end(html);
    return true;
  }

  async function handlePost(
    session: UiSession,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
  ): Promise<true> {
    const form = new URLSearchParams(await readBody(req, 16 * 1024));
    const token = (req.headers["x-csrf-token"] as string | undefined) ?? form.get("_csrf") ?? undefined;
    if (!checkCsrfToken(session, token)) {
      return sendMessage(
        res,
        403,
        session,
        "Refused",
        "The form's security token is missing or stale; reload the page and try again.",
      );
    }
    if (path === "/ui/logout") {
      res
        .writeHead(303, {
          location: "/ui/",
          "set-cookie": buildCookie(SESSION_COOKIE, "", { path: "/ui/", maxAgeSeconds: 0, sameSite: "Strict" }),
        })
        .end();
      return true;
    }
    if (path === "/ui/settings/pause" || path === "/ui/settings/resume") {
      if (!session.roles.includes("operator")) {
        return sendMessage(
          res,
          403,
          session,
          "Not allowed",
          "Only operators (UI_OPERATORS) may pause or resume Foreman.",
        );
      }
      const paused = path.endsWith("/pause");
      const reason = form.get("reason")?.trim() || null;
      const changed = await changePause(deps.sql, { paused, login: session.login, reason, now: now() });
      const done = changed ? (paused ? "paused" : "resumed") : "unchanged";
      res.writeHead(303, { location: `/ui/settings?done=${done}` }).end();
      return true;
    }
    if (path === "/ui/compliance/verify") {
      if (!session.roles.includes("auditor") && !session.roles.includes("operator")) {
        return sendMessage(
          res,
          403,
          session,
          "Not allowed",
          "Only auditors (UI_AUDITORS) and operators may verify the chain.",
        );
      }
      lastVerify = {
        at: now(),
        by: session.login,
        result: await verifyDatabase(deps.sql, { artifacts: deps.artifacts, publicKeys: deps.publicKeys }),
      };
      res.writeHead(303, { location: "/ui/compliance" }).end();
      return true;
    }
    return sendMessage(res, 404, session, "Not found", "No such action.");
  }

  async function sendBoard(res: ServerResponse, session: UiSession) {
    const tasks = await listBoardTasks(deps.sql, session.repoIds);
    const columns = [...ACTIVE_STATES, ...TERMINAL_STATES].map((state) => ({
      state,
      tasks: tasks.filter((task) => task.state === state),
    }));
    return sendPage(res, 200, "board", session, {
      columns: columns.filter((column) => column.tasks.length > 0 || ACTIVE_STATES.includes(column.state)),
      empty: tasks.length === 0,
    });
  }

  async function sendReviews(res: ServerResponse, session: UiSession) {
    const tasks = (await listBoardTasks(deps.sql, session.repoIds)).filter((task) => task.state === "ready_for_review");
    tasks.sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime());
    return sendPage(res, 200, "reviews", session, { tasks });
  }

  async function sendQueue(res: ServerResponse, session: UiSession) {
    const jobs = await listOpenAgentJobs(deps.sql, session.repoIds);
    return sendPage(res, 200, "queue", session, {
      running: jobs.filter((job) => job.status === "running"),
      queued: jobs.filter((job) => job.status === "queued"),
    });
  }

  async function sendKpiData(res: ServerResponse, session: UiSession): Promise<true> {
    const days = await listDailyTaskKpis(deps.sql, session.repoIds);
    res.writeHead(200, { "content-type": "application/json", ...SECURITY_HEADERS }).end(
      JSON.stringify({
        days: days.map((day) => day.day),
        started: days.map((day) => day.started),
        merged: days.map((day) => day.merged),
        failed: days.map((day) => day.failed),
        costUsd: days.map((day) => day.costUsd),
      }),
    );
    return true;
  }

  async function sendCompliance(res: ServerResponse, session: UiSession) {
    if (!session.roles.includes("auditor") && !session.roles.includes("operator")) {
      return sendMessage(
        res,
        403,
        session,
        "Not allowed",
        "The compliance status is for auditors (UI_AUDITORS) and operators (UI_OPERATORS).",
      );
    }
    const [records, head, checkpoint] = await Promise.all([
      countComplianceRecords(deps.sql),
      findChainHead(deps.sql),
      findLatestCheckpoint(deps.sql),
    ]);
    return sendPage(res, 200, "compliance", session, { records, head, checkpoint, lastVerify });
  }

  async function sendSettings(res: ServerResponse, session: UiSession, done: string | null) {
    const pause = await findPauseSetting(deps.sql);
    return sendPage(res, 200, "settings", session, {
      paused: pause?.paused ?? false,
      pause,
      pausedByEnv: deps.pausedByEnv,
      done: done === "paused" || done === "resumed" || done === "unchanged" ? done : null,
    });
  }

  async function findVisibleTask(session: UiSession, taskId: string): Promise<Record<string, unknown> | null> {
    const task = await findTaskDocument(deps.sql, taskId);
    if (!task || !session.repoIds.includes(Number(task.repo_id))) return null;
    return task;
  }

  async function sendTask(res: ServerResponse, session: UiSession, taskId: string) {
    const task = await findVisibleTask(session, taskId);
    if (!task)
      return sendMessage(res, 404, session, "Not found", "No such task in the repositories you can read.", {
        href: "/ui/",
        label: "Back to the board",
      });
    const [timeline, jobs, ci, verification] = await Promise.all([
      listTaskTimeline(deps.sql, taskId),
      listTaskJobLogs(deps.sql, taskId),
      listTaskCiResults(deps.sql, taskId),
      verifyTask(deps.sql, taskId, deps.artifacts),
    ]);
    const pipeline = (task.pipeline ?? {}) as { plan?: string; steps?: unknown[] };
    // Foreman keeps a job's status and summary; the review itself is on the PR.
    const reviews = jobs.flatMap((job) => {
      const result = job.result as { status?: string; summary?: string } | null;
      return job.role === "reviewer" && result ? [{ role: job.role, status: result.status, body: result.summary }] : [];
    });
    const plan =
      pipeline.plan ??
      jobs
        .map((job) => (job.role === "planner" ? (job.result as { body?: string } | null)?.body : undefined))
        .find(Boolean);
    const lastSeq = timeline.at(-1)?.seq ?? 0;
    return sendPage(res, 200, "task", session, {
      task,
      title: `${String(task.repo_owner)}/${String(task.repo_name)}#${String(task.issue_number)}`,
      timeline,
      jobs: jobs.map(presentJob),
      ci,
      plan,
      reviews,
      steps: pipeline.steps ?? [],
      verification: {
        ok: verification.ok,
        records: verification.records,
        artifacts: verification.artifacts,
        failure: verification.failure,
      },
      evidenceUrl: `/api/compliance/tasks/${taskId}`,
      streamUrl: `/ui/tasks/${taskId}/events?seq=${lastSeq}&jobs=${encodeURIComponent(describeJobs(jobs))}`,
    });
  }

  /** Server-sent events for a task page: new timeline entries, the task's state, and the jobs (their live lines as they are stored, then their logs). */
  async function streamTask(req: IncomingMessage, res: ServerResponse, session: UiSession, taskId: string, url: URL) {
    const task = await findVisibleTask(session, taskId);
    if (!task) {
      res.writeHead(404, { "content-type": "text/plain" }).end("No such task.");
      return true;
    }
    let seq = Number(url.searchParams.get("seq") ?? 0) || 0;
    let jobsSeen = url.searchParams.get("jobs") ?? "";
    let state = String(task.state);
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write(": live\n\n");
    let timer: NodeJS.Timeout | null = null;
    let closed = false;
    const stop = () => {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      streams.delete(stop);
      res.end();
    };
    streams.add(stop);
    req.on("close", stop);
    const send = (event: string, html: string) => {
      res.write(
        `event: ${event}\n${html
          .split("\n")
          .map((line) => `data: ${line}`)
          .join("\n")}\n\n`,
      );
    };
    const tick = async () => {
      try {
        const entries = await listTaskTimeline(deps.sql, taskId, seq);
        if (closed) return;
        if (entries.length > 0) {
          seq = entries.at(-1)!.seq;
          send("timeline", render.fragment("timeline-entries", { timeline: entries }));
        }
        const jobs = await listTaskJobLogs(deps.sql, taskId);
        const described = describeJobs(jobs);
        if (!closed && described !== jobsSeen) {
          jobsSeen = described;
          send("jobs", render.fragment("jobs", { jobs: jobs.map(presentJob) }));
        }
        const current = await findTaskDocument(deps.sql, taskId);
        if (!closed && current && String(current.state) !== state) {
          state = String(current.state);
          send("state", render.fragment("state", { state, step: current.step }));
        }
      } catch (error) {
        deps.log.error({ err: error, taskId }, "dashboard live stream failed");
        stop();
        return;
      }
      if (!closed) timer = setTimeout(() => void tick(), deps.pollMs);
    };
    timer = setTimeout(() => void tick(), 0);
    return true;
  }

  function sendAsset(res: ServerResponse, name: string): true {
    const asset = ASSETS[name];
    if (!asset) {
      res.writeHead(404, { "content-type": "text/plain" }).end("No such asset.");
      return true;
    }
    res
      .writeHead(200, {
        "content-type": `${asset.type}; charset=utf-8`,
        "cache-control": "public, max-age=3600",
        "x-content-type-options": "nosniff",
      })
      .end(readFileSync(asset.file));
    return true;
  }

  return {
    handle,
    close() {
      for (const stop of [...streams]) stop();
    },
  };
}

/** A job for the templates: its log lines parsed from JSONL. */
function presentJob(job: TaskJobLog) {
  const lines = (job.log ?? job.liveLog ?? "")
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { t?: string; stream?: string; line?: string };
        return { t: entry.t ?? "", stream: entry.stream ?? "", line: entry.line ?? "" };
      } catch {
        return { t: "", stream: "", line };
      }
    });
  const result = job.result as { summary?: string; status?: string } | null;
  return {
    ...job,
    lines,
    hasLog: job.log !== null,
    // Before the log is stored, the live lines stored so far.
    isLive: job.log === null && job.liveLines > 0,
    summary: result?.summary ?? null,
    resultStatus: result?.status ?? null,
  };
}

/** What the page already shows of the jobs: id, status, whether the log is in, and how many live lines, for each. */
function describeJobs(jobs: readonly TaskJobLog[]): string {
  return jobs.map((job) => `${job.id}:${job.status}:${job.log === null ? 0 : 1}:${job.liveLines}`).join(",");
}

function buildCallbackUrl(settings: UiSettings, req: IncomingMessage): string {
  if (settings.publicUrl) return `${settings.publicUrl}/ui/auth/callback`;
  const host = req.headers.host ?? "localhost";
  const local = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(host);
  return `${local ? "http" : "https"}://${host}/ui/auth/callback`;
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new Error(`dashboard form over ${maxBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
