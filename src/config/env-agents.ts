/**
 * The environment's agents part: whether agent jobs run and where (the Docker daemon or
 * Kubernetes, whose own settings are env-kubernetes.ts), capacity, workspaces and the repository
 * mirror, the profiles and what a repository may change of them, the limits, and the variables
 * agents receive. Composed into `Env` by env.ts.
 */
import { z } from "zod";
import type { DockerConnection } from "../agents/docker-connection.js";
import { REPO_OVERRIDE_FIELDS, type RepoOverrideField } from "../agents/repo-override-policy.js";
import { commaList, optionalText, positiveInt, splitList } from "./env-fields.js";

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

// Profile names, comma-separated.
const profileList = commaList(
  /^[a-z0-9][a-z0-9_-]{0,62}$/,
  "must be a comma-separated list of profile names, e.g. my-bot,script",
);

/** Agent jobs: the runner, capacity, workspaces, profiles and limits. */
export const AgentsEnv = z.object({
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
  AGENT_IMAGE_ALLOWLIST: z.string().default(""),
  AGENTS_ENABLED: z.stringbool({ error: "must be true or false" }).default(true),
  MAX_CONCURRENT_JOBS: positiveInt(4),
  MAX_JOBS_PER_REPO: positiveInt(2),
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
});

/** The parsed agent settings. */
export type AgentsEnv = z.infer<typeof AgentsEnv>;

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

/** The Docker daemon's connection settings from the parsed environment. */
export function readDockerConnection(
  env: Pick<AgentsEnv, "DOCKER_HOST" | "DOCKER_TLS_VERIFY" | "DOCKER_CERT_PATH" | "DOCKER_ALLOW_INSECURE_TCP">,
): DockerConnection {
  return {
    host: env.DOCKER_HOST,
    tlsVerify: env.DOCKER_TLS_VERIFY,
    certPath: env.DOCKER_CERT_PATH,
    allowInsecureTcp: env.DOCKER_ALLOW_INSECURE_TCP,
  };
}
