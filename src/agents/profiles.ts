/**
 * Built-in agent profiles and the resolution of a profile name against operator and repo
 * overrides. Pure.
 *
 * Image references: no digest is pinned here because none of these images could be pulled
 * and checked where this was written. Operators should pin each image by digest
 * (`image@sha256:…`) through an app-level override; see docs/agents.md.
 */
import { AgentProfile, type AgentProfileOverride } from "./agent-profile.js";
import { resolveEgressPolicy, type EgressRefusal } from "./egress/egress-policy.js";
import { formatEgressRule, type EgressRule } from "./egress/egress-rule.js";
import { PROFILE_ERROR_CODES, err, ok, type ProfileError, type Result } from "./errors.js";
import { matchesImageGlob } from "./glob.js";
import { applyRepoOverridePolicy, TIGHTEN_ONLY, type RepoOverridePolicy } from "./repo-override-policy.js";

/**
 * A profile together with the name it was resolved from. With `network: egress`, `egress` is the
 * effective list (the repository's narrowed to what the operator allows) and `egressRefused` what
 * the repository asked for in vain.
 */
export type ResolvedProfile = AgentProfile & {
  readonly name: string;
  readonly egressRefused?: readonly EgressRefusal[];
};

// Writes the CLI's last words where Foreman looks when the agent wrote no result.json, and
// keeps them in the execution log too, without losing the CLI's exit status (no pipefail in sh).
function captureOutput(command: string, outputFile: string): string {
  return `${command} > /foreman/out/${outputFile} 2>&1; rc=$?; cat /foreman/out/${outputFile}; exit $rc`;
}

// A CLI's machine-readable stdout goes to its output file for Foreman to read, and into the log;
// stderr stays apart (some CLIs print their errors there); the CLI's exit status is kept.
function keepStdout(command: string, outputFile: string): string {
  return `${command} > /foreman/out/${outputFile}; rc=$?; cat /foreman/out/${outputFile}; exit $rc`;
}

/** The user the agent images run as (scripts/agents/agent-images.ts): numeric, never root. */
export const AGENT_USER = "1000:1000";
/** The agent images' HOME: a private tmpfs in every job (CLIs keep settings and caches there). */
export const AGENT_HOME = "/home/agent";

/** The profiles Foreman ships with; `script` runs the job's shell command, the rest wrap agent CLIs. */
export const BUILT_IN_PROFILES: Readonly<Record<string, AgentProfile>> = Object.freeze({
  // Runs a shell command given by the job (tests, formatters). Operators should pin by digest.
  script: {
    image: "busybox:1.36.1",
    command: [],
    env: [],
    network: "none",
    timeoutSeconds: 900,
    memoryMb: 1024,
    cpus: 1,
    pidsLimit: 256,
  },
  // foreman-agents/claude-code (npm run images:build). Claude Code reads the prompt on stdin and
  // prints one JSON result (answer, usage, cost, or the model API's error) to its output file;
  // its telemetry and update checks are off, so nothing but the model API is called. A gateway
  // (ANTHROPIC_BASE_URL) or a model (ANTHROPIC_MODEL) given by the operator is passed on.
  "claude-code": {
    image: "foreman-agents/claude-code:latest",
    command: [
      "sh",
      "-c",
      "export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 " +
        'DISABLE_ERROR_REPORTING=1 CLAUDE_CODE_MAX_RETRIES="${CLAUDE_CODE_MAX_RETRIES:-2}"; ' +
        keepStdout("claude -p --dangerously-skip-permissions --output-format json < /foreman/prompt.md", "claude.json"),
    ],
    env: ["ANTHROPIC_API_KEY"],
    optionalEnv: ["ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL", "CLAUDE_CODE_MAX_RETRIES"],
    network: "egress",
    egress: ["api.anthropic.com:443"],
    timeoutSeconds: 3600,
    memoryMb: 4096,
    cpus: 2,
    pidsLimit: 1024,
    user: AGENT_USER,
    home: AGENT_HOME,
    outputFile: "claude.json",
    outputFormat: "claude-json",
  },
  // foreman-agents/codex (npm run images:build). Codex's own sandbox is bypassed: the container is
  // the sandbox, and nested sandboxing needs privileges. It prints JSONL events (the answer, the
  // usage; Codex reports no cost). Codex ignores OPENAI_BASE_URL, so a gateway the operator gives
  // becomes a custom Responses-API provider; CODEX_MODEL picks the model.
  codex: {
    image: "foreman-agents/codex:latest",
    command: [
      "sh",
      "-c",
      "set -- exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox -C /workspace " +
        "-c analytics.enabled=false -c feedback.enabled=false -c check_for_update_on_startup=false " +
        // Plugins and apps fetch a marketplace from github.com and chatgpt.com at every start.
        "-c features.plugins=false -c features.remote_plugin=false -c features.plugin_sharing=false -c features.apps=false; " +
        'if [ -n "${CODEX_MODEL:-}" ]; then set -- "$@" -m "$CODEX_MODEL"; fi; ' +
        'if [ -n "${OPENAI_BASE_URL:-}" ]; then set -- "$@" -c model_provider=foreman -c model_providers.foreman.name=foreman ' +
        '-c "model_providers.foreman.base_url=$OPENAI_BASE_URL" -c model_providers.foreman.wire_api=responses ' +
        "-c model_providers.foreman.env_key=OPENAI_API_KEY; fi; " +
        keepStdout('codex "$@" - < /foreman/prompt.md', "codex.jsonl"),
    ],
    env: ["OPENAI_API_KEY"],
    optionalEnv: ["OPENAI_BASE_URL", "CODEX_MODEL"],
    network: "egress",
    egress: ["api.openai.com:443"],
    timeoutSeconds: 3600,
    memoryMb: 4096,
    cpus: 2,
    pidsLimit: 1024,
    user: AGENT_USER,
    home: AGENT_HOME,
    outputFile: "codex.jsonl",
    outputFormat: "codex-jsonl",
  },
  // Aider's published image; its entrypoint is replaced by this command. Operators should pin by digest.
  aider: {
    image: "paulgauthier/aider:latest",
    command: [
      "sh",
      "-c",
      captureOutput(
        "aider --message-file /foreman/prompt.md --yes-always --no-auto-commits --no-dirty-commits " +
          "--no-gitignore --no-check-update --no-show-release-notes --no-analytics --no-pretty " +
          "--chat-history-file /tmp/aider.chat.md --input-history-file /tmp/aider.input",
        "aider-output.txt",
      ),
    ],
    env: ["ANTHROPIC_API_KEY"],
    network: "egress",
    // The default model follows the key given (Anthropic's); another provider needs its API host here.
    egress: ["api.anthropic.com:443"],
    timeoutSeconds: 3600,
    memoryMb: 4096,
    cpus: 2,
    pidsLimit: 1024,
    outputFile: "aider-output.txt",
  },
  // Local image built from the Dockerfile in docs/agents.md (pip openhands-ai), headless with
  // the "local" runtime: OpenHands' default runtime needs the Docker socket, which is refused.
  openhands: {
    image: "foreman-agents/openhands:latest",
    command: [
      "sh",
      "-c",
      captureOutput(
        "RUNTIME=local WORKSPACE_BASE=/workspace python -m openhands.core.main -f /foreman/prompt.md",
        "openhands-output.txt",
      ),
    ],
    env: ["LLM_API_KEY", "LLM_MODEL"],
    network: "egress",
    // The provider of LLM_MODEL: Anthropic's as in docs/agents.md; operators change it with the model.
    egress: ["api.anthropic.com:443"],
    timeoutSeconds: 3600,
    memoryMb: 4096,
    cpus: 2,
    pidsLimit: 2048,
    outputFile: "openhands-output.txt",
  },
  // foreman-agents/gemini-cli (npm run images:build). Its settings (API-key auth, no telemetry,
  // no update check) are written into the private HOME first; it prints one JSON object (the
  // answer and the token counts; no cost), or its error on stderr.
  gemini: {
    image: "foreman-agents/gemini-cli:latest",
    command: [
      "sh",
      "-c",
      "mkdir -p \"$HOME/.gemini\" && printf '%s' " +
        '\'{"security":{"auth":{"selectedType":"gemini-api-key"}},"privacy":{"usageStatisticsEnabled":false},' +
        '"telemetry":{"enabled":false},"general":{"enableAutoUpdate":false,"enableAutoUpdateNotification":false}}\' ' +
        '> "$HOME/.gemini/settings.json" && export GEMINI_CLI_TRUST_WORKSPACE=true GEMINI_CLI_NO_RELAUNCH=true && ' +
        'set -- -p "$(cat /foreman/prompt.md)" --yolo --output-format json && ' +
        'if [ -n "${GEMINI_MODEL:-}" ]; then set -- "$@" --model "$GEMINI_MODEL"; fi && ' +
        keepStdout('gemini "$@"', "gemini.json"),
    ],
    env: ["GEMINI_API_KEY"],
    optionalEnv: ["GOOGLE_GEMINI_BASE_URL", "GEMINI_MODEL"],
    network: "egress",
    egress: ["generativelanguage.googleapis.com:443"],
    timeoutSeconds: 3600,
    memoryMb: 4096,
    cpus: 2,
    pidsLimit: 1024,
    user: AGENT_USER,
    home: AGENT_HOME,
    outputFile: "gemini.json",
    outputFormat: "gemini-json",
  },

  // Built locally from github.com/pfcoperez/windsurfinabox (no published image), with its
  // entrypoint's WORKSPACE_PATH set to /workspace. It reads windsurf-instructions.txt from
  // its workspace and appends progress to windsurf-output.txt there; Foreman keeps both out
  // of the diff. The upstream image runs as uid 1000.
  windsurf: {
    image: "windsurfinabox:latest",
    command: ["bash", "-c", "cp /foreman/windsurf-instructions.txt /workspace/ && exec /entrypoint.sh"],
    env: ["WINDSURF_TOKEN"],
    network: "egress",
    // Codeium's and Windsurf's service hosts (several subdomains of each); unverified, like this profile.
    egress: ["*.codeium.com:443", "*.windsurf.com:443"],
    timeoutSeconds: 3600,
    memoryMb: 4096,
    cpus: 2,
    pidsLimit: 2048,
    user: "1000:1000",
    promptFile: "windsurf-instructions.txt",
    outputFile: "windsurf-output.txt",
  },
} satisfies Record<string, AgentProfile>);

/** Upper bounds an operator sets for every job (AGENT_MAX_*), whichever layer asked for the value. */
export interface ProfileLimits {
  readonly timeoutSeconds?: number;
  readonly memoryMb?: number;
  readonly cpus?: number;
  readonly pidsLimit?: number;
}

/** Where profiles come from, lowest precedence first, and the operator's image policy. */
export interface ProfileSources {
  readonly builtIn: Readonly<Record<string, AgentProfile>>;
  readonly appProfiles?: Readonly<Record<string, AgentProfileOverride>>;
  readonly repoProfiles?: Readonly<Record<string, AgentProfileOverride>>;
  /** Image globs from `AGENT_IMAGE_ALLOWLIST`; images of built-in and app profiles are always allowed. */
  readonly imageAllowlist: readonly string[];
  /** AGENT_MAX_MEMORY_MB, AGENT_MAX_CPUS, AGENT_MAX_PIDS, AGENT_MAX_TIMEOUT_SECONDS. */
  readonly maxLimits?: ProfileLimits;
  /** REPO_PROFILE_OVERRIDES and REPO_PROFILE_SECRETS: what `repoProfiles` may change (default: tighten only). */
  readonly repoOverrides?: RepoOverridePolicy;
  /** `AGENT_EGRESS_ALLOW`: destinations every `network: egress` job may reach, on top of its profile's. */
  readonly egressAllow?: readonly EgressRule[];
}

/** Resolves a profile name to a complete, allowed profile, or explains why it cannot be used. */
export function resolveProfile(name: string, sources: ProfileSources): Result<ResolvedProfile, ProfileError> {
  const layers = [sources.builtIn[name], sources.appProfiles?.[name], sources.repoProfiles?.[name]];
  if (layers.every((layer) => layer === undefined)) {
    return err({
      code: PROFILE_ERROR_CODES.PROFILE_UNKNOWN,
      message:
        `Unknown agent profile "${name}". Known profiles: ${listProfileNames(sources).join(", ")}. ` +
        `Use one of them, or define "${name}" under \`profiles:\` in .github/foreman.yml.`,
    });
  }
  // `bridge` is the operator's alone, whatever REPO_PROFILE_OVERRIDES says.
  const networkError = findNetworkViolation(name, sources);
  if (networkError !== null) return err(networkError);
  const [builtIn, app, repo] = layers;
  const operator =
    builtIn === undefined && app === undefined
      ? undefined
      : (Object.assign({}, dropUndefined(builtIn), dropUndefined(app)) as AgentProfileOverride);
  const repoLayer = applyRepoOverridePolicy(
    name,
    operator,
    repo === undefined ? undefined : (dropUndefined(repo) as AgentProfileOverride),
    sources.repoOverrides ?? TIGHTEN_ONLY,
  );
  if (!repoLayer.ok) return err(repoLayer.error);
  const merged = Object.assign({}, operator, dropUndefined(repoLayer.value)) as Record<string, unknown>;
  const parsed = AgentProfile.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "profile"}: ${issue.message}`);
    return err({
      code: PROFILE_ERROR_CODES.PROFILE_INVALID,
      message: `Agent profile "${name}" is invalid: ${problems.join("; ")}. Fix these fields under \`profiles.${name}\`.`,
    });
  }
  const limitError = findLimitViolation(name, parsed.data, sources.maxLimits, repo);
  if (limitError !== null) return err(limitError);
  if (!isImageAllowed(parsed.data.image, sources)) {
    return err({
      code: PROFILE_ERROR_CODES.IMAGE_NOT_ALLOWED,
      message:
        `Image "${parsed.data.image}" of agent profile "${name}" is not allowed on this Foreman installation. ` +
        `An operator can allow it by adding the image, or a glob such as "${suggestImageGlob(parsed.data.image)}", ` +
        `to AGENT_IMAGE_ALLOWLIST (comma-separated globs).`,
    });
  }
  if (parsed.data.network !== "egress") return ok({ ...parsed.data, name });
  const policy = resolveEgressPolicy({
    profileName: name,
    operatorProfile: sources.appProfiles?.[name]?.egress ?? sources.builtIn[name]?.egress ?? [],
    operatorAllow: sources.egressAllow ?? [],
    repository: sources.repoProfiles?.[name]?.egress,
  });
  return ok({ ...parsed.data, name, egress: policy.rules.map(formatEgressRule), egressRefused: policy.refused });
}

/** All profile names known from the given sources, sorted. */
export function listProfileNames(sources: Pick<ProfileSources, "builtIn" | "appProfiles" | "repoProfiles">): string[] {
  const names = new Set([
    ...Object.keys(sources.builtIn),
    ...Object.keys(sources.appProfiles ?? {}),
    ...Object.keys(sources.repoProfiles ?? {}),
  ]);
  return [...names].sort();
}

/** True when the image belongs to a built-in or app profile, or matches an allowlist glob. */
export function isImageAllowed(image: string, sources: ProfileSources): boolean {
  const trusted = [...Object.values(sources.builtIn), ...Object.values(sources.appProfiles ?? {})]
    .map((profile) => profile.image)
    .filter((candidate): candidate is string => candidate !== undefined);
  return trusted.includes(image) || sources.imageAllowlist.some((glob) => matchesImageGlob(image, glob));
}

/** Lists workspace paths an agent CLI writes for itself, kept out of the diff (gitignore syntax). */
export function listAgentArtifactExcludes(profile: Pick<AgentProfile, "promptFile" | "outputFile">): string[] {
  const own = [profile.promptFile, profile.outputFile].filter((file): file is string => file !== undefined);
  // Aider's chat/tag caches and windsurfinabox's injected workflow: tool state, never a change.
  return [".aider*", "/.windsurf/workflows/entry-workflow.md", ...own.map((file) => `/${file}`)];
}

/** The setting of each maximum, named in the messages. */
const MAX_LIMIT_SETTINGS: Readonly<Record<keyof ProfileLimits, string>> = {
  timeoutSeconds: "AGENT_MAX_TIMEOUT_SECONDS",
  memoryMb: "AGENT_MAX_MEMORY_MB",
  cpus: "AGENT_MAX_CPUS",
  pidsLimit: "AGENT_MAX_PIDS",
};

function findLimitViolation(
  name: string,
  profile: AgentProfile,
  limits: ProfileLimits | undefined,
  repo: AgentProfileOverride | undefined,
): ProfileError | null {
  if (limits === undefined) return null;
  const asked: Record<keyof ProfileLimits, number | undefined> = {
    timeoutSeconds: profile.timeoutSeconds,
    memoryMb: profile.memoryMb,
    cpus: profile.cpus,
    pidsLimit: profile.pidsLimit,
  };
  for (const field of Object.keys(asked) as (keyof ProfileLimits)[]) {
    const max = limits[field];
    const value = asked[field];
    if (max === undefined || value === undefined || value <= max) continue;
    const setting = MAX_LIMIT_SETTINGS[field];
    // Whose value it is decides whose problem it is.
    const fix =
      repo?.[field] !== undefined
        ? `This is the repository config's to fix: lower \`profiles.${name}.${field}\` in .github/foreman.yml to ${max} or less, or ask an operator to raise ${setting}.`
        : `This is the operator's to fix: lower ${field} of "${name}" in AGENT_PROFILES_FILE, or raise ${setting}.`;
    return {
      code: PROFILE_ERROR_CODES.PROFILE_INVALID,
      message: `Agent profile "${name}" asks for ${field} ${value}, above this installation's maximum of ${max} (${setting}). ${fix}`,
    };
  }
  return null;
}

// `bridge` reaches everything: only an operator may choose it. A repository may keep an operator's
// bridge profile as it is, or narrow it to `egress` or `none`.
function findNetworkViolation(name: string, sources: ProfileSources): ProfileError | null {
  if (sources.repoProfiles?.[name]?.network !== "bridge") return null;
  const operatorNetwork = sources.appProfiles?.[name]?.network ?? sources.builtIn[name]?.network;
  if (operatorNetwork === "bridge") return null;
  return {
    code: PROFILE_ERROR_CODES.PROFILE_INVALID,
    message:
      `Agent profile "${name}" asks for \`network: bridge\` in .github/foreman.yml, which would let the agent reach ` +
      `the whole network; only an operator can choose bridge (in AGENT_PROFILES_FILE). Use \`network: egress\` with ` +
      `the hosts the agent needs under \`profiles.${name}.egress\` (each must be allowed by the operator), or \`network: none\`.`,
  };
}

function suggestImageGlob(image: string): string {
  const withoutDigest = image.split("@")[0] ?? image;
  const slash = withoutDigest.lastIndexOf("/");
  return slash === -1 ? `${withoutDigest.split(":")[0] ?? withoutDigest}:*` : `${withoutDigest.slice(0, slash)}/*`;
}

function dropUndefined(layer: object | undefined): object {
  if (layer === undefined) return {};
  return Object.fromEntries(Object.entries(layer).filter(([, value]) => value !== undefined));
}
