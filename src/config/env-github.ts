/**
 * The environment's GitHub part: the App's credentials and webhook, GitHub Enterprise Server, and
 * how Foreman's GitHub requests are timed out and paced. Composed into `Env` by env.ts.
 */
import { z } from "zod";
import { optionalText, positiveInt } from "./env-fields.js";

/** The GitHub App and its API (Probot's own variables keep their Probot meaning). */
export const GitHubEnv = z.object({
  APP_ID: z.coerce
    .number()
    .int()
    .positive({ error: "must be the numeric App ID from the app's settings page" })
    .optional(),
  PRIVATE_KEY: optionalText,
  PRIVATE_KEY_PATH: optionalText,
  WEBHOOK_SECRET: optionalText,
  WEBHOOK_PATH: z.string().startsWith("/", { error: "must be a path starting with /" }).default("/api/github/webhooks"),
  WEBHOOK_PROXY_URL: z.url({ error: "must be a URL such as https://smee.io/abc" }).optional(),
  GHE_HOST: optionalText.refine((host) => host === undefined || !/^[a-z]+:\/\//i.test(host), {
    error: "must be a host name without the protocol, e.g. github.example.com (set GHE_PROTOCOL for http)",
  }),
  GHE_PROTOCOL: z.enum(["https", "http"], { error: "must be https or http" }).default("https"),
  /** Longest wait for one GitHub HTTP request before it fails as TIMEOUT (and counts against the installation's circuit breaker). */
  GITHUB_TIMEOUT_MS: positiveInt(30_000),
  /** Content-creating GitHub requests (writes) an installation may make an hour, paced across replicas through the database; 0 turns pacing off. */
  GITHUB_WRITES_PER_HOUR: z.coerce.number().int().min(0, { error: "must be 0 or more writes an hour" }).default(420),
  /** How many writes of an installation may go at once before pacing holds them to `GITHUB_WRITES_PER_HOUR`. */
  GITHUB_WRITE_BURST: positiveInt(60),
});

/** The parsed GitHub settings. */
export type GitHubEnv = z.infer<typeof GitHubEnv>;

/** Whether the app has credentials; without them `npm start` serves Probot's setup page. */
export function hasAppCredentials(env: Pick<GitHubEnv, "APP_ID">): boolean {
  return env.APP_ID !== undefined;
}

/** The REST base URL: api.github.com, or `GHE_PROTOCOL://GHE_HOST/api/v3` for GitHub Enterprise Server. */
export function buildGitHubBaseUrl(env: Pick<GitHubEnv, "GHE_HOST" | "GHE_PROTOCOL">): string {
  return env.GHE_HOST ? `${env.GHE_PROTOCOL}://${env.GHE_HOST}/api/v3` : "https://api.github.com";
}
