/**
 * The environment, read once at start-up: every variable Foreman reads is in one of the parts
 * beside this file (env-github.ts, env-server.ts, env-database.ts, env-engine.ts, env-agents.ts,
 * env-kubernetes.ts, env-egress.ts, env-web.ts, env-compliance.ts, env-summary.ts), composed
 * here into `Env`. This file is the only one that turns an environment into settings (AGENTS.md
 * rule 4): it resolves `NAME_FILE` secrets, runs the checks that span parts, and lists the
 * secret values the logger redacts.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { buildDockerOptions } from "../agents/docker-connection.js";
import { AGENT_SETTINGS, AgentsEnv, DEFAULT_AGENT_ENV, readDockerConnection } from "./env-agents.js";
import { ComplianceEnv } from "./env-compliance.js";
import { DatabaseEnv } from "./env-database.js";
import { EgressEnv } from "./env-egress.js";
import { EngineEnv } from "./env-engine.js";
import { splitList } from "./env-fields.js";
import { GitHubEnv } from "./env-github.js";
import { KubernetesEnv } from "./env-kubernetes.js";
import { ServerEnv } from "./env-server.js";
import { SummaryEnv } from "./env-summary.js";
import { WebEnv } from "./env-web.js";

export { AGENT_SETTINGS, DEFAULT_AGENT_ENV, readDockerConnection } from "./env-agents.js";
export { DEFAULT_RETENTION_DAYS, MIN_RETENTION_DAYS } from "./env-compliance.js";
export { buildGitHubBaseUrl, hasAppCredentials } from "./env-github.js";
export { readKubernetesSettings } from "./env-kubernetes.js";
export { listSummaryRecipients } from "./env-summary.js";

/**
 * Every environment variable Foreman reads. Probot's own variables keep their Probot meaning.
 * Secrets accept `NAME_FILE` (a path whose contents are the value), the Docker/Kubernetes convention.
 * A problem list names the parts' variables in this order.
 */
export const Env = z.object({
  ...GitHubEnv.shape,
  ...ServerEnv.shape,
  ...DatabaseEnv.shape,
  ...EngineEnv.shape,
  ...AgentsEnv.shape,
  ...KubernetesEnv.shape,
  ...EgressEnv.shape,
  ...WebEnv.shape,
  ...ComplianceEnv.shape,
  ...SummaryEnv.shape,
});

/** The parsed environment, passed explicitly to whatever needs it. */
export type Env = z.infer<typeof Env> & {
  /** Values of the variables agents may receive (AGENT_ENV_ALLOWLIST), by name: never the whole environment. */
  agentSecrets: Record<string, string>;
};

/** Start-up refused: each line names a variable, what is wrong, and how to fix it. */
export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Foreman cannot start; fix these settings:\n${problems.map((line) => `  - ${line}`).join("\n")}`);
    this.name = "EnvError";
  }
}

// Secrets: each may come from NAME_FILE, and a problem with one shows "(hidden)", never its value.
const SECRET_NAMES = [
  "PRIVATE_KEY",
  "WEBHOOK_SECRET",
  "DATABASE_URL",
  "CHECKPOINT_SIGNING_KEY",
  "CHECKPOINT_PUBLIC_KEY",
  "CHANGE_HOOK_SECRET",
  "METRICS_TOKEN",
  "GITHUB_CLIENT_SECRET",
  "UI_SESSION_SECRET",
  "SUMMARY_WEBHOOK_SECRET",
  "SMTP_URL",
  "SMTP_PASS",
] as const;

/** Parse the environment once at start-up; throws EnvError listing every problem. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const problems: string[] = [];
  const resolved = resolveSecretFiles(source, problems);
  const parsed = Env.safeParse(resolved);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = issue.path.join(".");
      const shown = (SECRET_NAMES as readonly string[]).includes(name)
        ? "(hidden)"
        : JSON.stringify(resolved[name] ?? "");
      problems.push(`${name}=${shown}: ${issue.message}`);
    }
  }
  if (parsed.success) problems.push(...checkCombinations(parsed.data));
  if (problems.length > 0) throw new EnvError(problems);
  const allowlist = parsed.data!.AGENT_ENV_ALLOWLIST;
  const names = allowlist === undefined ? [...DEFAULT_AGENT_ENV] : splitList(allowlist);
  const agentSecrets = Object.fromEntries(names.flatMap((name) => (resolved[name] ? [[name, resolved[name]!]] : [])));
  return { ...parsed.data!, agentSecrets };
}

function resolveSecretFiles(
  source: Record<string, string | undefined>,
  problems: string[],
): Record<string, string | undefined> {
  const resolved = { ...source };
  for (const name of SECRET_NAMES) {
    const path = source[`${name}_FILE`];
    if (!path) continue;
    if (source[name]) {
      problems.push(`${name} and ${name}_FILE are both set: keep one of them`);
      continue;
    }
    try {
      resolved[name] = readFileSync(path, "utf8").trim();
    } catch (error) {
      problems.push(
        `${name}_FILE=${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? "error"}); point it at a readable file`,
      );
    }
  }
  return resolved;
}

function checkCombinations(env: z.infer<typeof Env>): string[] {
  const problems: string[] = [];
  const hasKey = env.PRIVATE_KEY !== undefined || env.PRIVATE_KEY_PATH !== undefined;
  if (env.APP_ID !== undefined && !hasKey) {
    problems.push(
      "PRIVATE_KEY: APP_ID is set but no private key is; set PRIVATE_KEY (or PRIVATE_KEY_PATH) to the app's .pem key",
    );
  }
  if (env.APP_ID === undefined && hasKey) {
    problems.push("APP_ID: a private key is set but APP_ID is not; set APP_ID to the app's numeric ID");
  }
  if (env.APP_ID !== undefined && env.WEBHOOK_SECRET === undefined) {
    problems.push(
      "WEBHOOK_SECRET: required once the app is registered; set it to the webhook secret from the app's settings",
    );
  }
  if (env.PRODUCTION_MODE && env.ALLOWED_REPOS.length === 0) {
    problems.push(
      "ALLOWED_REPOS: PRODUCTION_MODE=true acts only on listed repos, and none are listed; set ALLOWED_REPOS=owner/name,…",
    );
  }
  if (env.CHANGE_HOOK_URL !== undefined && env.CHANGE_HOOK_SECRET === undefined) {
    problems.push(
      "CHANGE_HOOK_SECRET: CHANGE_HOOK_URL is set but no secret to sign the hook with; set CHANGE_HOOK_SECRET (or CHANGE_HOOK_SECRET_FILE)",
    );
  }
  if (env.CHECKPOINT_PUBLISH_URL !== undefined && env.CHECKPOINT_SIGNING_KEY === undefined) {
    problems.push(
      "CHECKPOINT_SIGNING_KEY: CHECKPOINT_PUBLISH_URL is set but checkpoints are not signed; set CHECKPOINT_SIGNING_KEY (see `foreman keys generate`)",
    );
  }
  // The manifest flow writes the OAuth client for every install: the dashboard is on only with its session secret too.
  if (
    env.UI_SESSION_SECRET !== undefined &&
    (env.GITHUB_CLIENT_ID === undefined || env.GITHUB_CLIENT_SECRET === undefined)
  ) {
    problems.push(
      "GITHUB_CLIENT_ID: UI_SESSION_SECRET turns the dashboard on, which signs people in with the app's OAuth client; set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET from the app's settings page",
    );
  }
  if (env.SUMMARY_EMAIL_TO !== undefined && env.SMTP_URL === undefined && env.SMTP_HOST === undefined) {
    problems.push(
      "SMTP_URL: SUMMARY_EMAIL_TO is set but no mail server is; set SMTP_URL (or SMTP_URL_FILE), or SMTP_HOST with SMTP_PORT, SMTP_USER and SMTP_PASS",
    );
  }
  if (env.SUMMARY_EMAIL_TO !== undefined && env.SUMMARY_EMAIL_FROM === undefined) {
    problems.push(
      "SUMMARY_EMAIL_FROM: SUMMARY_EMAIL_TO is set but not the sender; set SUMMARY_EMAIL_FROM, e.g. Foreman <foreman@example.com>",
    );
  }
  if (env.SMTP_URL !== undefined && env.SMTP_HOST !== undefined) {
    problems.push("SMTP_HOST: SMTP_URL is set too; keep one of them (the URL or the SMTP_HOST… parts)");
  }
  if (env.SUMMARY_WEBHOOK_SECRET !== undefined && env.SUMMARY_WEBHOOK_URL === undefined) {
    problems.push(
      "SUMMARY_WEBHOOK_URL: SUMMARY_WEBHOOK_SECRET is set but there is no webhook to sign; set SUMMARY_WEBHOOK_URL or unset the secret",
    );
  }
  if (env.AGENTS_ENABLED && env.RUNNER === "kubernetes") {
    for (const name of ["KUBERNETES_NAMESPACE", "KUBERNETES_FOREMAN_URL"] as const) {
      if (env[name] === undefined) problems.push(`${name}: RUNNER=kubernetes needs it (docs/kubernetes.md)`);
    }
  }
  if (env.AGENTS_ENABLED && env.RUNNER === "docker") {
    // The daemon's address and TLS files, checked (and the certificates read) before anything starts.
    try {
      buildDockerOptions(readDockerConnection(env));
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return problems;
}

/** Secret values that must never appear in a log line (the logger redacts them at the stream). */
export function listSecretValues(env: Env): string[] {
  const values = [
    env.WEBHOOK_SECRET,
    env.PRIVATE_KEY,
    env.CHANGE_HOOK_SECRET,
    env.SUMMARY_WEBHOOK_SECRET,
    env.SMTP_PASS,
    env.CHECKPOINT_SIGNING_KEY,
    env.METRICS_TOKEN,
    env.GITHUB_CLIENT_SECRET,
    env.UI_SESSION_SECRET,
    ...Object.entries(env.agentSecrets)
      .filter(([name]) => !(AGENT_SETTINGS as readonly string[]).includes(name))
      .map(([, value]) => value),
  ];
  for (const url of [env.DATABASE_URL, env.SMTP_URL]) {
    if (!url || !URL.canParse(url)) continue;
    const password = new URL(url).password;
    if (password) values.push(password, decodeURIComponent(password));
  }
  return values.filter((value): value is string => typeof value === "string" && value.length > 0);
}
