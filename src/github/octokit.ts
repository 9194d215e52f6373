import { ProbotOctokit } from "probot";
import { CircuitBreakers, CircuitState } from "../resilience/circuit-breaker.js";
import { withTimeout } from "../resilience/with-timeout.js";

/** The longest rate-limit wait done in-process; effect leases are longer than this. */
export const MAX_IN_PROCESS_WAIT_SECONDS = 60;

/** The Octokit every GitHub call goes through: Probot's, with retry and throttling tuned for a bot. */
export type GitHubClient = InstanceType<typeof ProbotOctokit>;

/** How hard the HTTP layer retries before an effect's own durable retry takes over. */
export interface OctokitTuning {
  /** Retries for 5xx and network errors inside one effect attempt (plugin-retry). */
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
}

/** Build the Octokit class handed to Probot: retry, throttling, and per installation a timeout and a circuit breaker. */
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
      // later. Waiting longer than an effect's lease would let another worker run it concurrently.
      onRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) =>
        retryCount < 2 && retryAfter <= MAX_IN_PROCESS_WAIT_SECONDS,
      onSecondaryRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) =>
        retryCount < 2 && retryAfter <= MAX_IN_PROCESS_WAIT_SECONDS,
    },
  })) as typeof ProbotOctokit;
  const guard = buildRequestGuard(breakers, resilience.timeoutMs);
  // Each plugin's "request" wrap goes around those of the plugins before it. Listed first, the guard
  // sits inside plugin-retry and plugin-throttling: every HTTP attempt gets its own timeout and counts
  // once on the breaker, and their waits (up to MAX_IN_PROCESS_WAIT_SECONDS) are not cut short by it.
  return class extends Tuned {
    static override plugins = [guard as (typeof Tuned.plugins)[number], ...Tuned.plugins];
  };
}

type RequestHook = (options: {
  method: string;
  url: string;
  request?: { signal?: AbortSignal | null };
}) => Promise<unknown>;

interface GuardedOctokit {
  hook: {
    wrap(name: "request", wrap: (request: RequestHook, options: Parameters<RequestHook>[0]) => Promise<unknown>): void;
  };
}

/**
 * An Octokit plugin: every request of an installation client (REST and GraphQL) runs under the
 * timeout and through the installation's circuit breaker; an open circuit fails it with
 * CIRCUIT_OPEN without an HTTP request. App-level requests (`/app/…`, such as the installation token
 * a request fetches first) get the timeout only: they run inside the installation request that needed
 * them, which the breaker already counts — and a probe must not be refused its own token.
 */
function buildRequestGuard(breakers: CircuitBreakers, timeoutMs: number) {
  return (octokit: GuardedOctokit, options: { auth?: unknown }): void => {
    const installationId = (options.auth as { installationId?: number | string } | undefined)?.installationId;
    octokit.hook.wrap("request", (request, requestOptions) => {
      const attempt = () =>
        withTimeout(
          (signal) => request({ ...requestOptions, request: { ...requestOptions.request, signal } }),
          timeoutMs,
          { service: "GitHub", action: `${requestOptions.method} ${requestOptions.url}` },
          requestOptions.request?.signal ?? undefined,
        );
      if (installationId === undefined || /^\/app(\/|$)/.test(requestOptions.url)) return attempt();
      return breakers.run(String(installationId), attempt);
    });
  };
}

function reportCircuitChange(log: GitHubResilience["log"], installationId: string, state: CircuitState): void {
  if (state === CircuitState.open)
    log?.warn({ installationId, state }, "GitHub keeps failing for an installation; its calls fail fast for a while");
  else log?.info({ installationId, state }, "GitHub circuit breaker changed state");
}
