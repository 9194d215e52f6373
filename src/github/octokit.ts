import { AsyncLocalStorage } from "node:async_hooks";
import { ProbotOctokit } from "probot";
import { CircuitBreakers, CircuitState } from "../resilience/circuit-breaker.js";
import { withTimeout } from "../resilience/with-timeout.js";
import { emitForemanEvent } from "../events/foreman-events.js";
import { setWorkAttributes, traceWork } from "../telemetry/tracing.js";
import { isContentWrite, readRetryAfter, type WritePacer } from "./write-pacer.js";

/** The longest rate-limit wait done in-process (the effect runner renews its lease meanwhile). */
export const MAX_IN_PROCESS_WAIT_SECONDS = 60;

/** The Octokit every GitHub call goes through: Probot's, with retry and throttling tuned for a bot. */
export type GitHubClient = InstanceType<typeof ProbotOctokit>;

/** How hard the HTTP layer retries before an effect's own durable retry takes over. */
export interface OctokitTuning {
  /** Retries for 5xx and network errors inside one effect attempt (plugin-retry), for reads only (`isSafeToResend`). */
  retries: number;
  /** Base delay in ms for plugin-retry and the throttling plugin's fallback. */
  retryAfterBaseValue: number;
  /** Whether to honour primary and secondary rate limits by waiting (plugin-throttling). */
  throttle: boolean;
  /** Replace the HTTP layer (benchmarks answer GitHub in-process). */
  fetch?: typeof fetch;
}

/** Production tuning: a few quick retries, rate limits honoured (up to 2 waits per request). */
export const DEFAULT_OCTOKIT_TUNING: OctokitTuning = { retries: 2, retryAfterBaseValue: 1000, throttle: true };

/** Longest wait for one GitHub request unless `GITHUB_TIMEOUT_MS` says otherwise. */
export const DEFAULT_GITHUB_TIMEOUT_MS = 30_000;

/** The timeout of every request and the circuit breakers of installation clients. */
export interface GitHubResilience {
  /** Longest wait for one HTTP attempt (`GITHUB_TIMEOUT_MS`); it then fails with TIMEOUT. */
  timeoutMs: number;
  /** One breaker per installation, keyed by its id. Default: a registry of this class's own (5 failures, 60 s). */
  breakers?: CircuitBreakers;
  /** Where the default registry reports a circuit opening or closing. */
  log?: { warn(data: object, message: string): void; info(data: object, message: string): void };
  /** Paces each installation's content-creating requests across replicas; none: writes go at once. */
  pacer?: WritePacer;
}

/**
 * Whether the HTTP layer may send a request again after an error answer: reads (GET, HEAD, OPTIONS)
 * and minting an installation token. A write that failed with a 5xx or a dropped connection may
 * have been done by GitHub all the same, so it is never re-sent here: the effect's durable retry
 * runs it again, and its look-first (`attempt > 1`) finds what the earlier try made. (Waiting out a
 * rate limit re-sends writes too: GitHub refused those without doing them.)
 */
export function isSafeToResend(method: string, url: string): boolean {
  const verb = method.toUpperCase();
  if (verb === "GET" || verb === "HEAD" || verb === "OPTIONS") return true;
  return verb === "POST" && /^\/app\/installations\/[^/]+\/access_tokens$/.test(url.replace(/^https?:\/\/[^/]+/, ""));
}

/** Thrown instead of a GitHub request once the effect that makes it has lost its lease to another run. */
export class RequestsStoppedError extends Error {
  constructor() {
    super("Foreman stopped this effect's GitHub requests: its lease ran out and another run has taken it over.");
    this.name = "RequestsStoppedError";
  }
}

const requestScope = new AsyncLocalStorage<AbortSignal>();

/**
 * Run `fn` so that every GitHub request it makes, on any client, stops when `signal` aborts: one in
 * flight is aborted, a later one throws RequestsStoppedError without reaching GitHub. The effect
 * runner uses it to stop an executor whose lease was lost.
 */
export function runWithRequestSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return requestScope.run(signal, fn);
}

/** Build the Octokit class handed to Probot: retry (reads only), throttling, and per installation a timeout and a circuit breaker. */
export function buildOctokitClass(
  tuning: OctokitTuning = DEFAULT_OCTOKIT_TUNING,
  resilience: GitHubResilience = { timeoutMs: DEFAULT_GITHUB_TIMEOUT_MS },
): typeof ProbotOctokit {
  const breakers =
    resilience.breakers ??
    new CircuitBreakers({
      service: "GitHub",
      onStateChange: (key, state) => reportCircuitChange(resilience.log, key, state),
    });
  const Tuned = ProbotOctokit.defaults((instanceOptions: Record<string, unknown>) => ({
    ...instanceOptions,
    ...(tuning.fetch ? { request: { ...(instanceOptions.request as object | undefined), fetch: tuning.fetch } } : {}),
    retry: { enabled: tuning.retries > 0, retries: tuning.retries, retryAfterBaseValue: tuning.retryAfterBaseValue },
    throttle: {
      enabled: tuning.throttle,
      retryAfterBaseValue: tuning.retryAfterBaseValue,
      // Wait out a short limit in-process; a longer one fails the attempt, which is retried durably
      // later. The effect runner renews its lease while it waits (src/engine/run-next-effect.ts).
      onRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) =>
        retryCount < 2 && retryAfter <= MAX_IN_PROCESS_WAIT_SECONDS,
      onSecondaryRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) =>
        retryCount < 2 && retryAfter <= MAX_IN_PROCESS_WAIT_SECONDS,
    },
  })) as typeof ProbotOctokit;
  const guard = buildRequestGuard(breakers, resilience.timeoutMs, resilience.pacer);
  // Each plugin's "request" wrap goes around those of the plugins before it. Listed first, the guard
  // sits inside plugin-retry and plugin-throttling: every HTTP attempt gets its own timeout and counts
  // once on the breaker, and their waits (up to MAX_IN_PROCESS_WAIT_SECONDS) are not cut short by it.
  // Listed last, scopeRequests sits outside plugin-retry: it tells it not to re-send a write.
  return class extends Tuned {
    static override plugins = [
      guard as (typeof Tuned.plugins)[number],
      ...Tuned.plugins,
      scopeRequests as (typeof Tuned.plugins)[number],
    ];
  };
}

type RequestHook = (options: {
  method: string;
  url: string;
  request?: { signal?: AbortSignal | null; retries?: number };
}) => Promise<unknown>;

interface GuardedOctokit {
  hook: {
    wrap(name: "request", wrap: (request: RequestHook, options: Parameters<RequestHook>[0]) => Promise<unknown>): void;
  };
}

/**
 * An Octokit plugin, outermost (it runs in the caller's async context, before any queue): a request
 * that is not safe to send twice gets no HTTP retries (`isSafeToResend`), and inside
 * `runWithRequestSignal` the scope's signal goes with the request, so the guard stops it. Each
 * request (with its HTTP retries) is a client span, `GET /repos/{owner}/{repo}/…`, in the caller's trace.
 */
function scopeRequests(octokit: GuardedOctokit): void {
  octokit.hook.wrap("request", (request, options) => {
    const scope = requestScope.getStore();
    const own = options.request?.signal ?? undefined;
    const signal = scope && own ? AbortSignal.any([scope, own]) : (scope ?? own);
    // In place: the hooks inside this one were bound to this very options object (before-after-hook),
    // so a copy would reach only the innermost.
    options.request = {
      ...options.request,
      ...(signal ? { signal } : {}),
      ...(isSafeToResend(options.method, options.url) ? {} : { retries: 0 }),
    };
    return traceWork(
      `${options.method} ${options.url}`,
      { attributes: { "http.request.method": options.method, "url.template": options.url }, kind: "client" },
      async () => {
        try {
          const response = await request(options);
          setWorkAttributes({ "http.response.status_code": (response as { status?: number }).status ?? 0 });
          return response;
        } catch (error) {
          const status = (error as { status?: unknown }).status;
          if (typeof status === "number") setWorkAttributes({ "http.response.status_code": status });
          throw error;
        }
      },
    );
  });
}

/**
 * An Octokit plugin: every request of an installation client (REST and GraphQL) runs under the
 * timeout and through the installation's circuit breaker; an open circuit fails it with
 * CIRCUIT_OPEN without an HTTP request. A request whose signal has aborted is not sent. App-level requests (`/app/…`, such as the installation token
 * a request fetches first) get the timeout only: they run inside the installation request that needed
 * them, which the breaker already counts — and a probe must not be refused its own token.
 */
function buildRequestGuard(breakers: CircuitBreakers, timeoutMs: number, pacer?: WritePacer) {
  return (octokit: GuardedOctokit, options: { auth?: unknown }): void => {
    const installationId = (options.auth as { installationId?: number | string } | undefined)?.installationId;
    octokit.hook.wrap("request", (request, requestOptions) => {
      const parent = requestOptions.request?.signal ?? undefined;
      // Stopped before it was sent (a lost lease, see runWithRequestSignal): it never reaches GitHub.
      if (parent?.aborted) return Promise.reject(parent.reason as Error);
      const attempt = () =>
        withTimeout(
          (signal) => request({ ...requestOptions, request: { ...requestOptions.request, signal } }),
          timeoutMs,
          { service: "GitHub", action: `${requestOptions.method} ${requestOptions.url}` },
          parent,
        );
      const report = (answer: unknown) =>
        reportRequest(requestOptions.method, requestOptions.url, installationId, answer as AnsweredRequest);
      const installation = Number(installationId);
      const paced =
        pacer !== undefined &&
        installationId !== undefined &&
        isContentWrite(requestOptions.method, requestOptions.url, (requestOptions as { query?: unknown }).query);
      const sent =
        installationId === undefined || /^\/app(\/|$)/.test(requestOptions.url)
          ? attempt()
          : // A write waits for its installation's turn (shared by every replica), then counts on the breaker.
            (paced ? pacer.awaitTurn(installation, parent) : Promise.resolve(0)).then(() =>
              breakers.run(String(installationId), attempt),
            );
      return sent.then(
        (response) => {
          report(response);
          return response;
        },
        async (error: unknown) => {
          report((error as { response?: unknown } | null)?.response ?? error);
          // A rate-limit refusal with retry-after holds the installation's writes on every replica until then.
          const retryAfter = readRetryAfter(error);
          if (pacer !== undefined && installationId !== undefined && retryAfter !== null)
            await pacer.block(installation, retryAfter);
          throw error;
        },
      );
    });
  };
}

/** What an answer (or an error carrying one) looks like to the request metrics. */
interface AnsweredRequest {
  status?: unknown;
  headers?: Record<string, unknown>;
}

function reportRequest(
  method: string,
  route: string,
  installationId: number | string | undefined,
  answer: AnsweredRequest | null | undefined,
): void {
  const status = typeof answer?.status === "number" ? answer.status : 0;
  const remaining = Number(answer?.headers?.["x-ratelimit-remaining"] ?? Number.NaN);
  emitForemanEvent({
    type: "github.request",
    method: method.toUpperCase(),
    route: foldRoute(route),
    status,
    installationId: installationId === undefined ? null : String(installationId),
    rateLimitRemaining: Number.isFinite(remaining) ? remaining : null,
  });
}

/**
 * The route as a template, so each kind of request is one series: Octokit passes the template
 * (`/repos/{owner}/{repo}/pulls`) for `rest.*` calls, but a URL Foreman built itself arrives filled
 * in; its owner and repo, numbers, refs and paths are folded to placeholders, and a query dropped.
 */
export function foldRoute(url: string): string {
  return url
    .replace(/^https?:\/\/[^/]+/, "")
    .replace(/\?.*$/, "")
    .replace(/^\/repos\/[^/{]+\/[^/{]+/, "/repos/{owner}/{repo}")
    .replace(/\/(git\/refs?|contents|tarball|zipball|compare|labels)\/[^{].*$/, "/$1/{path}")
    .replace(/\/(commits|branches)\/[^/{]+/g, "/$1/{ref}")
    .replace(/\/\d+(?=\/|$)/g, "/{number}");
}

function reportCircuitChange(log: GitHubResilience["log"], installationId: string, state: CircuitState): void {
  if (state === CircuitState.open)
    log?.warn({ installationId, state }, "GitHub keeps failing for an installation; its calls fail fast for a while");
  else log?.info({ installationId, state }, "GitHub circuit breaker changed state");
}
