import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { z } from "zod";
import { buildDockerOptions, type DockerConnection } from "../agents/docker-connection.js";
import { parseEgressList } from "../agents/egress/egress-rule.js";
import { EGRESS_PREFIX } from "../agents/egress/egress-spec.js";
import type { KubernetesRunnerSettings } from "../agents/kubernetes/build-kubernetes-runner.js";
import { REPO_OVERRIDE_FIELDS, type RepoOverrideField } from "../agents/repo-override-policy.js";
import { loadCheckpointSigner, loadPublicKeys } from "../chain/checkpoints.js";

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

const optionalText = z
  .string()
  .transform((value) => value.trim())
  .optional()
  .transform((value) => (value === "" ? undefined : value));

/** Splits a comma-separated setting into its trimmed, non-empty entries. */
function splitList(text: string): string[] {
  return text
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/** A comma-separated setting whose every entry matches `pattern`, or the `error` naming the form it takes. */
function commaList(pattern: RegExp, error: string) {
  return z
    .string()
    .default("")
    .transform(splitList)
    .refine((list) => list.every((entry) => pattern.test(entry)), { error });
}

// Kubernetes label selectors as `key=value` pairs, comma-separated.
const labelSelector = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .transform(splitList)
    .refine((list) => list.length > 0 && list.every((entry) => /^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]{0,63}$/.test(entry)), {
      error: "must be comma-separated key=value labels, e.g. app.kubernetes.io/name=foreman",
    })
    .transform((list) => Object.fromEntries(list.map((entry) => entry.split("=", 2) as [string, string])));

const repoList = commaList(
  /^[\w.-]+\/[\w.-]+$/,
  "must be a comma-separated list of owner/name, e.g. acme/api,acme/web",
);

// `host:port` entries, comma-separated: each one checked, every bad one named.
const egressList = z
  .string()
  .default("")
  .transform((text, context) => {
    const parsed = parseEgressList(text);
    if (parsed.ok) return parsed.value;
    for (const problem of parsed.error) context.addIssue({ code: "custom", message: problem });
    return z.NEVER;
  });

// Address ranges, comma-separated: `10.20.0.0/16`, `fd00::/8`, or one address.
const cidrList = z
  .string()
  .default("")
  .transform((text, context) => {
    const entries = text
      .split(/[\s,]+/)
      .map((entry) => entry.trim())
      .filter((entry) => entry.length > 0);
    const bad = entries.filter((entry) => !isCidr(entry));
    if (bad.length === 0) return entries;
    context.addIssue({
      code: "custom",
      message: `${bad.map((entry) => `"${entry}"`).join(", ")} ${bad.length === 1 ? "is not an address range" : "are not address ranges"}; write comma-separated CIDRs such as 10.20.0.0/16 or fd00::/8`,
    });
    return z.NEVER;
  });

function isCidr(entry: string): boolean {
  const [address = "", length, ...rest] = entry.split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (length === undefined) return true;
  return /^\d{1,3}$/.test(length) && Number(length) <= (version === 4 ? 32 : 128);
}

// `tighten` (nothing but tightening), or the groups of profile fields a repository may set.
const repoOverrideFields = z
  .string()
  .trim()
  .default("tighten")
  .transform((text, context): RepoOverrideField[] => {
    if (text === "" || text === "tighten") return [];
    const entries = splitList(text);
    const bad = entries.filter((entry) => !(REPO_OVERRIDE_FIELDS as readonly string[]).includes(entry));
    if (bad.length === 0) return [...new Set(entries as RepoOverrideField[])];
    context.addIssue({
      code: "custom",
      message: `${bad.map((entry) => `"${entry}"`).join(", ")} ${bad.length === 1 ? "is not a group" : "are not groups"} of profile fields; write tighten, or a comma-separated list of ${REPO_OVERRIDE_FIELDS.join(", ")}`,
    });
    return z.NEVER;
  });

// GitHub logins (`octocat`) or teams (`acme/platform`), comma-separated.
const principalList = commaList(
  /^[A-Za-z0-9][A-Za-z0-9-]*(\/[A-Za-z0-9][\w.-]*)?$/,
  "must be a comma-separated list of GitHub logins or org/team slugs, e.g. octocat,acme/platform",
);

// Profile names, comma-separated.
const profileList = commaList(
  /^[a-z0-9][a-z0-9_-]{0,62}$/,
  "must be a comma-separated list of profile names, e.g. my-bot,script",
);

/** The shortest retention: GitHub's 3-day redelivery window plus 4 days of margin. */
export const MIN_RETENTION_DAYS = 7;
/** The retention when RETENTION_DAYS is not set. */
export const DEFAULT_RETENTION_DAYS = 30;

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

// A PEM key that must load; the loader's message says what is wrong in plain words.
const pemKey = (load: (pem: string) => unknown) =>
  optionalText.superRefine((pem, context) => {
    if (pem === undefined) return;
    try {
      load(pem);
    } catch (error) {
      context.addIssue({ code: "custom", message: (error as Error).message });
    }
  });

/**
 * Every environment variable Foreman reads. Probot's own variables keep their Probot meaning.
 * Secrets accept `NAME_FILE` (a path whose contents are the value), the Docker/Kubernetes convention.
 */
export const Env = z.object({
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
  // Unset: the app binds 0.0.0.0 (containers), the setup page without APP_ID 127.0.0.1 (`serve.ts`).
  HOST: optionalText,
  // 0 lets the system choose a free port (tests do; the bound port is logged and is `server.port`).
  PORT: z.coerce
    .number()
    .int()
    .min(0, { error: "must be a TCP port, 0-65535 (0: any free port)" })
    .max(65535, { error: "must be a TCP port, 0-65535 (0: any free port)" })
    .default(3000),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
  LOG_FORMAT: z.enum(["json", "pretty"], { error: "must be json or pretty" }).optional(),
  NODE_ENV: z.string().default("development"),
  DATABASE_URL: optionalText.refine((url) => url === undefined || /^postgres(ql)?:\/\//.test(url), {
    error:
      "must be a postgres:// URL, e.g. postgres://foreman@db:5432/foreman (or unset it to use the embedded PostgreSQL)",
  }),
  DATA_DIR: z.string().default("./data"),
  EMBEDDED_POSTGRES_PORT: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535, { error: "must be a TCP port, 1-65535" })
    .default(5488),
  PRODUCTION_MODE: z.stringbool({ error: "must be true or false" }).default(false),
  ALLOWED_REPOS: repoList,
  WORKER_CONCURRENCY: positiveInt(8),
  EFFECT_MAX_ATTEMPTS: positiveInt(6),
  POLL_INTERVAL_MS: positiveInt(1000),
  /** The reconciliation sweep (missed webhooks: failed deliveries, labels, CI, PR ends) runs at start and this often. */
  RECONCILE_INTERVAL_MINUTES: positiveInt(10),
  /**
   * Days processed inbox rows, finished effects of ended tasks and job logs are kept before the sweep
   * prunes them; `off` keeps everything. Compliance records and their artifacts are never pruned.
   */
  RETENTION_DAYS: z
    .string()
    .trim()
    .default(String(DEFAULT_RETENTION_DAYS))
    .transform((text, context) => {
      if (text.toLowerCase() === "off") return null;
      const days = Number(text);
      if (!Number.isInteger(days) || days < MIN_RETENTION_DAYS) {
        context.addIssue({
          code: "custom",
          message: `must be a whole number of days of at least ${MIN_RETENTION_DAYS}, or off: GitHub may redeliver a webhook for 3 days and the inbox's dedupe keys are what make a redelivery harmless, so they are kept that long plus a margin (got "${text}"; set RETENTION_DAYS=${DEFAULT_RETENTION_DAYS}, or off to keep everything)`,
        });
        return z.NEVER;
      }
      return days;
    }),
  /** Hold every task as a freeze would (no container starts, no bot write but comments); `foreman pause` does the same at runtime. */
  FOREMAN_PAUSED: z.stringbool({ error: "must be true or false" }).default(false),
  /** Redraws of the status comment and check run wait this long, so a burst of changes costs one GitHub write. */
  DISPLAY_DELAY_MS: z.coerce.number().int().min(0, { error: "must be 0 or more milliseconds" }).default(1000),
  /** Longest wait for one GitHub HTTP request before it fails as TIMEOUT (and counts against the installation's circuit breaker). */
  GITHUB_TIMEOUT_MS: positiveInt(30_000),
  /** Content-creating GitHub requests (writes) an installation may make an hour, paced across replicas through the database; 0 turns pacing off. */
  GITHUB_WRITES_PER_HOUR: z.coerce.number().int().min(0, { error: "must be 0 or more writes an hour" }).default(420),
  /** How many writes of an installation may go at once before pacing holds them to `GITHUB_WRITES_PER_HOUR`. */
  GITHUB_WRITE_BURST: positiveInt(60),
  REPLICA_ID: optionalText,
  /** Agent jobs (issue #3): the Docker daemon, the image policy, capacity, workspaces. */
  DOCKER_HOST: optionalText,
  /** TLS to a `tcp://` daemon, its certificate verified (the docker CLI's variable; set it to 1). */
  DOCKER_TLS_VERIFY: z.stringbool({ error: "must be 1 or 0 (true or false)" }).default(false),
  /** With DOCKER_TLS_VERIFY: the directory of ca.pem, cert.pem and key.pem (default ~/.docker). */
  DOCKER_CERT_PATH: optionalText,
  /** Plain TCP to a daemon on another host, on a network the operator trusts (default: refused). */
  DOCKER_ALLOW_INSECURE_TCP: z.stringbool({ error: "must be true or false" }).default(false),
  /** Longest wait for one Docker daemon call (create, start, inspect, stop, kill, remove, list, opening logs; not the container's run or an image pull). */
  DOCKER_TIMEOUT_MS: positiveInt(60_000),
  /** Where agent jobs run: `docker` (one Docker daemon) or `kubernetes` (a Job per agent job; docs/kubernetes.md). */
  RUNNER: z.enum(["docker", "kubernetes"], { error: "must be docker or kubernetes" }).default("docker"),
  /** With RUNNER=kubernetes: the namespace of the agent Jobs (Foreman's Role must allow Jobs, pods, pod logs, Secrets and NetworkPolicies there). */
  KUBERNETES_NAMESPACE: z
    .string()
    .trim()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
      error: "must be a Kubernetes namespace name, e.g. foreman-agents",
    })
    .optional(),
  /** With RUNNER=kubernetes: a kubeconfig file to use (unset: the in-cluster service account). */
  KUBERNETES_KUBECONFIG: optionalText,
  /** With RUNNER=kubernetes: this replica's own address as a job's pod reaches it (the archive endpoints), e.g. http://$(POD_IP):3000. */
  KUBERNETES_FOREMAN_URL: z
    .url({ error: "must be the URL a job's pod reaches this replica at, e.g. http://10.0.0.5:3000" })
    .optional(),
  /** Foreman's pods: the one destination every job's NetworkPolicy allows (on PORT). */
  KUBERNETES_FOREMAN_SELECTOR: labelSelector("app.kubernetes.io/name=foreman"),
  /** Instead of KUBERNETES_FOREMAN_SELECTOR: Foreman's address range (CIDR), when Foreman runs outside the cluster. */
  KUBERNETES_FOREMAN_CIDR: z
    .string()
    .trim()
    .regex(/^[0-9a-fA-F.:]+\/\d{1,3}$/, { error: "must be an address range, e.g. 172.18.0.1/32" })
    .optional(),
  /** The egress proxy's pods: the only other destination of `network: egress` jobs. */
  KUBERNETES_EGRESS_PROXY_SELECTOR: labelSelector("app.kubernetes.io/name=foreman-egress-proxy"),
  /** The egress proxy as `network: egress` jobs' HTTP(S)_PROXY give it; an IP address (the Service's ClusterIP): jobs have no DNS. */
  KUBERNETES_EGRESS_PROXY_URL: z.url({ error: "must be the proxy's URL, e.g. http://10.96.0.20:3128" }).optional(),
  /** The image of a job's two helper containers (fetch and return the files): any with sh, tar and wget. */
  KUBERNETES_HELPER_IMAGE: z.string().trim().min(1).default("busybox:1.36"),
  AGENT_IMAGE_ALLOWLIST: z.string().default(""),
  AGENTS_ENABLED: z.stringbool({ error: "must be true or false" }).default(true),
  MAX_CONCURRENT_JOBS: positiveInt(4),
  MAX_JOBS_PER_REPO: positiveInt(2),
  /** Requests per minute one API token may make to `/api/*` on one replica (a token bucket of this size). */
  API_RATE_LIMIT_PER_MINUTE: positiveInt(120),
  WORKSPACE_DIR: optionalText,
  KEEP_FAILED_WORKSPACE_MINUTES: z.coerce.number().int().min(0).default(60),
  /** Longest run of one git command Foreman runs on the host for a job (preparing the workspace, reading the agent's changes). */
  HOST_COMMAND_TIMEOUT_SECONDS: positiveInt(300),
  /** Disk a job's repository copy and out/ may take (allocated blocks, so sparse files count what they use), checked once unpacked and after the agent ran. */
  WORKSPACE_MAX_MB: positiveInt(4096),
  /** Largest repository archive (GitHub's tarball) a job downloads; it is streamed to a temporary file, never held in memory. */
  REPO_TARBALL_MAX_MB: positiveInt(1024),
  /** Where a job's repository comes from: `tarball` (GitHub's archive, every step) or `mirror` (a bare mirror per repository on this host, fetched incrementally). */
  WORKSPACE_SOURCE: z.enum(["tarball", "mirror"], { error: "must be tarball or mirror" }).default("tarball"),
  /** Directory of the repository mirrors (default <DATA_DIR>/mirrors). */
  MIRROR_DIR: optionalText,
  /** Disk all mirrors together may take; the least recently used go first. */
  MIRROR_MAX_GB: positiveInt(50),
  /** A mirror no job used for this many days is removed. */
  MIRROR_MAX_AGE_DAYS: positiveInt(14),
  DEFAULT_AGENT: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, { error: "must be a profile name such as claude-code" })
    .default("claude-code"),
  AGENT_PROFILES_FILE: optionalText,
  /** What a repository's `profiles:` may set (docs/agents.md#what-a-repository-may-change): `tighten`, or some of image,command,env,network,limits. */
  REPO_PROFILE_OVERRIDES: repoOverrideFields,
  /** Profiles whose repository-chosen image or command may still receive agent secrets (default none). */
  REPO_PROFILE_SECRETS: profileList,
  /** The most any agent job gets, whoever asks: memory (MB), CPUs, processes, wall-clock seconds. */
  AGENT_MAX_MEMORY_MB: positiveInt(8192),
  AGENT_MAX_CPUS: z.coerce.number().positive({ error: "must be a positive number of CPUs, e.g. 4 or 0.5" }).default(4),
  AGENT_MAX_PIDS: positiveInt(4096),
  AGENT_MAX_TIMEOUT_SECONDS: positiveInt(7200),
  AGENT_ENV_ALLOWLIST: optionalText,
  /** Egress firewall (docs/agents.md#network-and-egress): `host:port` entries every `network: egress` job may reach, on top of its profile's. */
  AGENT_EGRESS_ALLOW: egressList,
  /** The egress proxy image: Debian's squid; Foreman mounts its configuration in. */
  EGRESS_PROXY_IMAGE: z.string().trim().min(1).default("foreman-agents/egress-proxy:latest"),
  /** Prefix of the proxy's and the job networks' Docker names: one proxy per prefix (replicas sharing a Docker host each need their own). */
  EGRESS_NAME_PREFIX: z
    .string()
    .regex(EGRESS_PREFIX, { error: "must be lower-case letters, digits, . _ or -, at most 40, e.g. foreman-blue" })
    .default("foreman"),
  /** Host directory for the proxy's configuration and the job policies (default <DATA_DIR>/egress); the Docker daemon must see it at the same path. */
  EGRESS_DIR: optionalText,
  /** Internal address ranges (CIDR) an allowed host name may resolve to (default none: internal addresses are refused). */
  EGRESS_INTERNAL_ALLOW: cidrList,
  PUBLIC_URL: z.url({ error: "must be the URL people reach Foreman at, e.g. https://foreman.example.com" }).optional(),
  /** Bearer token `GET /metrics` requires (unset: /metrics is open; keep it on an internal network then). */
  METRICS_TOKEN: optionalText.refine((token) => token === undefined || token.length >= 16, {
    error: "must be at least 16 characters (e.g. `openssl rand -hex 32`), or unset to leave /metrics open",
  }),
  ARTIFACTS_DIR: optionalText,
  CHECKPOINT_SIGNING_KEY: pemKey(loadCheckpointSigner),
  CHECKPOINT_PUBLIC_KEY: pemKey(loadPublicKeys),
  CHECKPOINT_EVERY_RECORDS: positiveInt(100),
  CHECKPOINT_EVERY_MINUTES: positiveInt(15),
  CHECKPOINT_PUBLISH_URL: z
    .url({ error: "must be a URL such as https://transparency.example.com/foreman/checkpoints" })
    .optional(),
  CHANGE_HOOK_URL: z.url({ error: "must be a URL such as https://change.example.com/hooks/foreman" }).optional(),
  CHANGE_HOOK_SECRET: optionalText,
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
  /** OpenTelemetry traces over OTLP/HTTP (docs/operations.md#traces): off unless one of the endpoints is set. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ error: "must be a URL such as http://collector:4318" }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z
    .url({ error: "must be a URL such as http://collector:4318/v1/traces" })
    .optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).default("foreman"),
  /** Daily summaries (docs/operations.md#daily-summaries-and-per-template-statistics): POST the JSON here. */
  SUMMARY_WEBHOOK_URL: z
    .url({ error: "must be a URL such as https://chat.example.com/hooks/foreman-summary" })
    .optional(),
  /** Signs the summary webhook's body (`X-Foreman-Signature: sha256=<HMAC-SHA256 hex>`). */
  SUMMARY_WEBHOOK_SECRET: optionalText,
  /** Comma-separated addresses that get the summary by email. */
  SUMMARY_EMAIL_TO: optionalText.superRefine((text, context) => {
    if (text === undefined) return;
    const bad = splitList(text).filter((address) => !EMAIL_ADDRESS.test(address));
    if (bad.length > 0 || splitList(text).length === 0)
      context.addIssue({
        code: "custom",
        message: `must be comma-separated email addresses, e.g. ops@example.com,lead@example.com${bad.length > 0 ? ` (not an address: ${bad.join(", ")})` : ""}`,
      });
  }),
  SUMMARY_EMAIL_FROM: optionalText,
  /** The UTC hour from which yesterday's summary is sent. */
  SUMMARY_HOUR_UTC: z.coerce
    .number()
    .int()
    .min(0, { error: "must be an hour, 0-23 (UTC)" })
    .max(23, { error: "must be an hour, 0-23 (UTC)" })
    .default(6),
  /** The SMTP server for summary emails: a URL (`smtp://user:pass@host:587`, `smtps://…`), or the SMTP_HOST… parts. */
  SMTP_URL: optionalText.refine((url) => url === undefined || /^smtps?:\/\//.test(url), {
    error: "must be an smtp:// or smtps:// URL, e.g. smtp://user:password@mail.example.com:587",
  }),
  SMTP_HOST: optionalText,
  SMTP_PORT: z.coerce
    .number()
    .int()
    .min(1, { error: "must be a TCP port, 1-65535" })
    .max(65535, { error: "must be a TCP port, 1-65535" })
    .default(587),
  /** TLS from the start (port 465); otherwise STARTTLS is used when the server offers it. */
  SMTP_SECURE: z.stringbool({ error: "must be true or false" }).default(false),
  SMTP_USER: optionalText,
  SMTP_PASS: optionalText,
});

/** The addresses of `SUMMARY_EMAIL_TO`. */
export function listSummaryRecipients(env: Pick<Env, "SUMMARY_EMAIL_TO">): string[] {
  return env.SUMMARY_EMAIL_TO === undefined ? [] : splitList(env.SUMMARY_EMAIL_TO);
}

/** The parsed environment, passed explicitly to whatever needs it. */
export type Env = z.infer<typeof Env> & {
  /** Values of the variables agents may receive (AGENT_ENV_ALLOWLIST), by name: never the whole environment. */
  agentSecrets: Record<string, string>;
};

/**
 * Agent variables that are settings, not secrets: the built-in profiles' optional gateway URLs,
 * models and retry counts. They are forwarded like the keys but not redacted from logs.
 */
export const AGENT_SETTINGS = [
  "ANTHROPIC_BASE_URL",
  "ANTHROPIC_MODEL",
  "CLAUDE_CODE_MAX_RETRIES",
  "OPENAI_BASE_URL",
  "CODEX_MODEL",
  "GOOGLE_GEMINI_BASE_URL",
  "GEMINI_MODEL",
] as const;

/** Variables the built-in agent profiles ask for; forwarded to agents unless AGENT_ENV_ALLOWLIST says otherwise. */
export const DEFAULT_AGENT_ENV = [
  "ANTHROPIC_API_KEY",
  "OPENAI_API_KEY",
  "GEMINI_API_KEY",
  "LLM_API_KEY",
  "LLM_MODEL",
  "WINDSURF_TOKEN",
  ...AGENT_SETTINGS,
] as const;

/** Start-up refused: each line names a variable, what is wrong, and how to fix it. */
export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Foreman cannot start; fix these settings:\n${problems.map((line) => `  - ${line}`).join("\n")}`);
    this.name = "EnvError";
  }
}

// Loose on purpose: the SMTP server is the judge; this catches a name or a URL put there by mistake.
const EMAIL_ADDRESS = /^[^\s@,<>]+@[^\s@,<>]+$/;

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

/** The Kubernetes runner's settings from the parsed environment (RUNNER=kubernetes; checked by the combination rules). */
export function readKubernetesSettings(env: Env): KubernetesRunnerSettings {
  const proxyPort = env.KUBERNETES_EGRESS_PROXY_URL === undefined ? "" : new URL(env.KUBERNETES_EGRESS_PROXY_URL).port;
  return {
    job: {
      namespace: env.KUBERNETES_NAMESPACE ?? "default",
      foremanUrl: env.KUBERNETES_FOREMAN_URL ?? `http://127.0.0.1:${env.PORT}`,
      foremanSelector: env.KUBERNETES_FOREMAN_SELECTOR,
      foremanPort: env.PORT,
      ...(env.KUBERNETES_FOREMAN_CIDR === undefined ? {} : { foremanCidr: env.KUBERNETES_FOREMAN_CIDR }),
      egressProxySelector: env.KUBERNETES_EGRESS_PROXY_SELECTOR,
      egressProxyPort: proxyPort === "" ? 3128 : Number(proxyPort),
      helperImage: env.KUBERNETES_HELPER_IMAGE,
      uploadGraceSeconds: 30,
      workspaceMaxMb: env.WORKSPACE_MAX_MB,
    },
    ...(env.KUBERNETES_KUBECONFIG === undefined ? {} : { kubeconfigPath: env.KUBERNETES_KUBECONFIG }),
    ...(env.KUBERNETES_EGRESS_PROXY_URL === undefined ? {} : { egressProxyUrl: env.KUBERNETES_EGRESS_PROXY_URL }),
  };
}

/** The Docker daemon's connection settings from the parsed environment. */
export function readDockerConnection(
  env: Pick<Env, "DOCKER_HOST" | "DOCKER_TLS_VERIFY" | "DOCKER_CERT_PATH" | "DOCKER_ALLOW_INSECURE_TCP">,
): DockerConnection {
  return {
    host: env.DOCKER_HOST,
    tlsVerify: env.DOCKER_TLS_VERIFY,
    certPath: env.DOCKER_CERT_PATH,
    allowInsecureTcp: env.DOCKER_ALLOW_INSECURE_TCP,
  };
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

/** Whether the app has credentials; without them `npm start` serves Probot's setup page. */
export function hasAppCredentials(env: Env): boolean {
  return env.APP_ID !== undefined;
}

/** The REST base URL: api.github.com, or `GHE_PROTOCOL://GHE_HOST/api/v3` for GitHub Enterprise Server. */
export function buildGitHubBaseUrl(env: Pick<Env, "GHE_HOST" | "GHE_PROTOCOL">): string {
  return env.GHE_HOST ? `${env.GHE_PROTOCOL}://${env.GHE_HOST}/api/v3` : "https://api.github.com";
}
