/**
 * The environment's web part: the public address, who may scrape /metrics, the REST API's rate
 * limit, and the dashboard's sign-in and roles. Composed into `Env` by env.ts.
 */
import { z } from "zod";
import { commaList, optionalText, positiveInt } from "./env-fields.js";

// GitHub logins (`octocat`) or teams (`acme/platform`), comma-separated.
const principalList = commaList(
  /^[A-Za-z0-9][A-Za-z0-9-]*(\/[A-Za-z0-9][\w.-]*)?$/,
  "must be a comma-separated list of GitHub logins or org/team slugs, e.g. octocat,acme/platform",
);

/** What people and scrapers reach over HTTP: the public URL, /metrics, /api/*, the dashboard. */
export const WebEnv = z.object({
  PUBLIC_URL: z.url({ error: "must be the URL people reach Foreman at, e.g. https://foreman.example.com" }).optional(),
  /** Bearer token `GET /metrics` requires (unset: /metrics is open; keep it on an internal network then). */
  METRICS_TOKEN: optionalText.refine((token) => token === undefined || token.length >= 16, {
    error: "must be at least 16 characters (e.g. `openssl rand -hex 32`), or unset to leave /metrics open",
  }),
  /** Requests per minute one API token may make to `/api/*` on one replica (a token bucket of this size). */
  API_RATE_LIMIT_PER_MINUTE: positiveInt(120),
  /** The dashboard's sign-in (docs/dashboard.md): the app's OAuth client, which the manifest flow writes. */
  GITHUB_CLIENT_ID: optionalText,
  GITHUB_CLIENT_SECRET: optionalText,
  /** Turns the dashboard on and encrypts and signs its session cookie: 32 characters or more (e.g. `openssl rand -hex 32`). */
  UI_SESSION_SECRET: optionalText.refine((secret) => secret === undefined || secret.length >= 32, {
    error: "must be 32 characters or more; generate one with: openssl rand -hex 32",
  }),
  /** Who may pause and resume from the dashboard: GitHub logins or org/team slugs, comma-separated. */
  UI_OPERATORS: principalList,
  /** Who sees the dashboard's compliance status: GitHub logins or org/team slugs, comma-separated. */
  UI_AUDITORS: principalList,
});

/** The parsed web settings. */
export type WebEnv = z.infer<typeof WebEnv>;
