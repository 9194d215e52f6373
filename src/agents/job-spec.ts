/**
 * Builds the Docker container specification for one agent job. Pure: everything it needs
 * comes in as arguments, and every rule of the sandbox (docs/container-contract.md) is
 * decided here, where a unit test can see it.
 */
import type { ContainerCreateOptions } from "dockerode";
import { DEFAULT_LIMITS, isNonRootNumericUser } from "./agent-profile.js";
import { PROFILE_ERROR_CODES, err, ok, type ProfileError, type Result } from "./errors.js";
import type { ResolvedProfile } from "./profiles.js";
import type { EgressSession } from "./runner.js";

/** Paths inside the container; the contract agents are written against. */
export const CONTAINER_PATHS = Object.freeze({
  workspace: "/workspace",
  foremanDir: "/foreman",
  context: "/foreman/context.json",
  outDir: "/foreman/out",
  result: "/foreman/out/result.json",
} as const);

/** Sandbox defaults applied when a profile does not say otherwise. */
export const SANDBOX_DEFAULTS = Object.freeze({
  user: "65534:65534",
  cpus: DEFAULT_LIMITS.cpus,
  pidsLimit: DEFAULT_LIMITS.pidsLimit,
  promptFile: "prompt.md",
  // Docker keeps at most this much log per container on disk; Foreman captures less.
  logFileMaxMb: 20,
} as const);

/** Container labels; a restarted replica finds its orphans by them. */
export const JOB_LABELS = Object.freeze({
  task: "foreman.task",
  job: "foreman.job",
  replica: "foreman.replica",
  profile: "foreman.profile",
} as const);

/** Host-side files of one job, as prepared by the workspace module. */
export interface JobPaths {
  readonly workspaceDir: string;
  readonly promptPath: string;
  readonly contextPath: string;
  readonly outDir: string;
}

/** What one job adds to a profile to make a container. */
export interface JobSpecInput {
  readonly taskId: string;
  readonly jobId: string;
  /** Id of the app replica that starts the job (for orphan clean-up across replicas). */
  readonly replica: string;
  readonly paths: JobPaths;
  /** Agent secrets to pick forwarded variables from. Never the app's own environment. */
  readonly hostEnv: Readonly<Record<string, string | undefined>>;
  /** For script jobs: the shell command to run as `sh -c <script>`. */
  readonly script?: string;
  /** For `network: egress`: the job's network and proxy, as `Runner.openEgress` opened them. */
  readonly egress?: Pick<EgressSession, "network" | "proxyUrl" | "dns">;
}

/** Hosts an egress job reaches without the proxy: its own loopback, nothing external. */
export const EGRESS_NO_PROXY = "localhost,127.0.0.1,::1";

// Variables that carry the app's own credentials (Probot's names) or GitHub tokens: a
// profile — possibly written by anyone with push access to a repo — may never forward them.
const FORBIDDEN_ENV = [
  /^GITHUB_/,
  /^GH_/,
  /^FOREMAN_/,
  /^CHECKPOINT_/,
  /^CHANGE_HOOK_/,
  /^(APP_ID|PRIVATE_KEY|PRIVATE_KEY_PATH|WEBHOOK_SECRET|WEBHOOK_PROXY_URL|DATABASE_URL|HOME)(_FILE)?$/,
  // The egress proxy variables are Foreman's to set: a forwarded value would route around the policy's log.
  /^(HTTPS?_PROXY|NO_PROXY|ALL_PROXY)$/i,
];
const FORBIDDEN_VALUE = [/\b(?:ghp|gho|ghu|ghs|ghr)_/, /github_pat_/, /-----BEGIN [A-Z0-9 ]*PRIVATE KEY/];

/** Picks the profile's forwarded variables from the host env, or says which are missing or forbidden. */
export function collectForwardedEnv(
  profile: Pick<ResolvedProfile, "name" | "env" | "optionalEnv">,
  hostEnv: Readonly<Record<string, string | undefined>>,
): Result<Record<string, string>, ProfileError> {
  const optional = (profile.optionalEnv ?? []).filter((name) => !profile.env.includes(name));
  const forbiddenNames = [...profile.env, ...optional].filter((name) =>
    FORBIDDEN_ENV.some((pattern) => pattern.test(name)),
  );
  if (forbiddenNames.length > 0) {
    return err({
      code: PROFILE_ERROR_CODES.PROFILE_SECRET_FORBIDDEN,
      message:
        `Agent profile "${profile.name}" asks for ${forbiddenNames.join(", ")}, which Foreman never gives to an agent ` +
        `(agents get no GitHub credentials and no Foreman settings). Remove ${forbiddenNames.length === 1 ? "it" : "them"} from \`env\`.`,
    });
  }
  const missing = profile.env.filter((name) => (hostEnv[name] ?? "") === "");
  if (missing.length > 0) {
    return err({
      code: PROFILE_ERROR_CODES.PROFILE_SECRET_MISSING,
      message:
        `Agent profile "${profile.name}" needs ${missing.join(", ")}, but ${missing.length === 1 ? "it is" : "they are"} not set ` +
        `on the Foreman server. An operator must set ${missing.length === 1 ? "this variable" : "these variables"} in the agent secrets.`,
    });
  }
  // Optional variables (a gateway's base URL, a model name) go along only when the operator set them.
  const present = optional.filter((name) => (hostEnv[name] ?? "") !== "");
  const forwarded = Object.fromEntries([...profile.env, ...present].map((name) => [name, hostEnv[name] ?? ""]));
  const tokenLike = Object.keys(forwarded).filter((name) =>
    FORBIDDEN_VALUE.some((pattern) => pattern.test(forwarded[name] ?? "")),
  );
  if (tokenLike.length > 0) {
    return err({
      code: PROFILE_ERROR_CODES.PROFILE_SECRET_FORBIDDEN,
      message:
        `The value of ${tokenLike.join(", ")} looks like a GitHub token or a private key; Foreman never gives ` +
        `those to an agent. An operator must set ${tokenLike.length === 1 ? "it" : "them"} to the agent's own API key.`,
    });
  }
  return ok(forwarded);
}

/** Builds the container specification for a job, or explains why the job cannot start. */
export function buildContainerSpec(
  profile: ResolvedProfile,
  job: JobSpecInput,
): Result<ContainerCreateOptions, ProfileError> {
  const user = profile.user ?? SANDBOX_DEFAULTS.user;
  if (!isNonRootNumericUser(user)) {
    return invalid(profile, `user "${user}" is not a numeric uid:gid other than 0; agents never run as root`);
  }
  const argv = job.script !== undefined ? ["sh", "-c", job.script] : profile.command;
  const [entrypoint, ...args] = argv;
  if (entrypoint === undefined || entrypoint === "") {
    return invalid(profile, "it has no command; give it a `command`, or run it with a script");
  }
  const bindError = findUnsafeBind(job.paths);
  if (bindError !== null) return invalid(profile, bindError);
  const forwarded = collectForwardedEnv(profile, job.hostEnv);
  if (!forwarded.ok) return forwarded;

  if (profile.network === "egress" && job.egress === undefined) {
    return invalid(profile, "its network is `egress`, but no egress proxy was opened for the job");
  }
  const network = buildNetworkSettings(profile.network, job.egress);

  const promptFile = profile.promptFile ?? SANDBOX_DEFAULTS.promptFile;
  const memoryBytes = profile.memoryMb * 1024 * 1024;
  return ok({
    name: `foreman-job-${job.jobId}`,
    Image: profile.image,
    // Entrypoint and Cmd both set: an image's own ENTRYPOINT never wraps the profile's command.
    Entrypoint: [entrypoint],
    Cmd: args,
    User: user,
    WorkingDir: CONTAINER_PATHS.workspace,
    Env: [
      `HOME=${profile.home ?? "/tmp"}`,
      `FOREMAN_PROMPT_FILE=${CONTAINER_PATHS.foremanDir}/${promptFile}`,
      `FOREMAN_CONTEXT_FILE=${CONTAINER_PATHS.context}`,
      `FOREMAN_OUT_DIR=${CONTAINER_PATHS.outDir}`,
      `FOREMAN_WORKSPACE=${CONTAINER_PATHS.workspace}`,
      ...Object.entries(forwarded.value).map(([name, value]) => `${name}=${value}`),
      ...network.env,
    ],
    Labels: {
      [JOB_LABELS.task]: job.taskId,
      [JOB_LABELS.job]: job.jobId,
      [JOB_LABELS.replica]: job.replica,
      [JOB_LABELS.profile]: profile.name,
    },
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    HostConfig: {
      Binds: [
        `${job.paths.workspaceDir}:${CONTAINER_PATHS.workspace}:rw`,
        `${job.paths.promptPath}:${CONTAINER_PATHS.foremanDir}/${promptFile}:ro`,
        `${job.paths.contextPath}:${CONTAINER_PATHS.context}:ro`,
        `${job.paths.outDir}:${CONTAINER_PATHS.outDir}:rw`,
      ],
      NetworkMode: network.mode,
      ...(network.dns === null ? {} : { Dns: network.dns }),
      ReadonlyRootfs: true,
      // Half the memory limit: tmpfs pages count against the container's memory anyway.
      Tmpfs: buildTmpfs(profile, user),
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Privileged: false,
      Memory: memoryBytes,
      // Equal to Memory: no swap, so a memory-hungry agent is OOM-killed instead of crawling.
      MemorySwap: memoryBytes,
      NanoCpus: Math.round((profile.cpus ?? SANDBOX_DEFAULTS.cpus) * 1e9),
      PidsLimit: profile.pidsLimit ?? SANDBOX_DEFAULTS.pidsLimit,
      // docker-init as PID 1 forwards SIGTERM to the agent, so stop() does not wait out the grace period.
      Init: true,
      AutoRemove: false,
      LogConfig: {
        Type: "json-file",
        Config: { "max-size": `${SANDBOX_DEFAULTS.logFileMaxMb}m`, "max-file": "1" },
      },
    },
  });
}

// /tmp, and the user's own HOME when the profile names one (CLIs keep their settings and caches
// there): private tmpfs mounts, half the memory limit each at most, since tmpfs pages count
// against the container's memory anyway.
function buildTmpfs(profile: ResolvedProfile, user: string): Record<string, string> {
  const size = `size=${Math.max(64, Math.floor(profile.memoryMb / 2))}m`;
  const tmpfs: Record<string, string> = { "/tmp": `rw,nosuid,nodev,${size}` };
  if (profile.home !== undefined) {
    const [uid, gid] = user.split(":");
    tmpfs[profile.home] = `rw,nosuid,nodev,${size},uid=${uid},gid=${gid},mode=0700`;
  }
  return tmpfs;
}

// `egress`: the job's own internal network, the proxy in the usual variables (both cases: curl reads
// only the lower-case http_proxy, others only the upper-case ones; Node 24 reads them with
// NODE_USE_ENV_PROXY), and a DNS server that answers nothing outside.
function buildNetworkSettings(
  mode: ResolvedProfile["network"],
  egress: JobSpecInput["egress"],
): { mode: string; dns: string[] | null; env: string[] } {
  if (mode !== "egress" || egress === undefined) return { mode, dns: null, env: [] };
  const env = ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"].map((name) => `${name}=${egress.proxyUrl}`);
  env.push(`NO_PROXY=${EGRESS_NO_PROXY}`, `no_proxy=${EGRESS_NO_PROXY}`, "NODE_USE_ENV_PROXY=1");
  return { mode: egress.network, dns: [...egress.dns], env };
}

function findUnsafeBind(paths: JobPaths): string | null {
  for (const source of [paths.workspaceDir, paths.promptPath, paths.contextPath, paths.outDir]) {
    if (!source.startsWith("/")) return `mount source "${source}" is not an absolute path`;
    if (source.includes(":")) return `mount source "${source}" contains ":"`;
    // The Docker socket is root on the host: no job ever gets it, under any name.
    if (/docker\.sock/i.test(source) || /^\/(?:var\/)?run\/?$/.test(source) || source === "/") {
      return `mount source "${source}" would expose the Docker socket or the host root`;
    }
  }
  return null;
}

function invalid(profile: ResolvedProfile, reason: string): { readonly ok: false; readonly error: ProfileError } {
  return err({
    code: PROFILE_ERROR_CODES.PROFILE_INVALID,
    message: `Agent profile "${profile.name}" cannot run: ${reason}.`,
  });
}
