import { ProbotOctokit } from "probot";

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

/** Build the Octokit class handed to Probot. */
export function buildOctokitClass(tuning: OctokitTuning = DEFAULT_OCTOKIT_TUNING): typeof ProbotOctokit {
  return ProbotOctokit.defaults((instanceOptions: Record<string, unknown>) => ({
    ...instanceOptions,
    ...(tuning.fetch ? { request: { ...(instanceOptions.request as object | undefined), fetch: tuning.fetch } } : {}),
    retry: { enabled: tuning.retries > 0, retries: tuning.retries, retryAfterBaseValue: tuning.retryAfterBaseValue },
    throttle: {
      enabled: tuning.throttle,
      retryAfterBaseValue: tuning.retryAfterBaseValue,
      // Wait out a short limit in-process; a longer one fails the attempt, which is retried durably
      // later. Waiting longer than an effect's lease would let another worker run it concurrently.
      onRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) => retryCount < 2 && retryAfter <= MAX_IN_PROCESS_WAIT_SECONDS,
      onSecondaryRateLimit: (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) => retryCount < 2 && retryAfter <= MAX_IN_PROCESS_WAIT_SECONDS,
    },
  })) as typeof ProbotOctokit;
}
