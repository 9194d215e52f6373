/**
 * The schema of an agent profile as users write it in `.github/foreman.yml` (`profiles:`)
 * and operators in app configuration. This is a user interface: change it only on purpose
 * and document the change in docs/agents.md.
 */
import { z } from "zod";
import { CLI_OUTPUT_FORMATS } from "./cli-output.js";
import { parseEgressEntry } from "./egress/egress-rule.js";

const NUMERIC_USER = /^(\d+):(\d+)$/;

/** True when `user` is a numeric `uid:gid` with neither part 0 (root). */
export function isNonRootNumericUser(user: string): boolean {
  const match = NUMERIC_USER.exec(user);
  return match !== null && Number(match[1]) !== 0 && Number(match[2]) !== 0;
}

/** Environment variable names: what a shell would accept. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// File names the agent sees under /foreman and /foreman/out: one path segment, no tricks.
const FILE_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}$/;

/**
 * The container's network: `none` (only loopback), `egress` (only the `host:port` entries of
 * `egress`, through Foreman's proxy) or `bridge` (the whole network; operators only).
 */
export const NETWORK_MODES = ["none", "egress", "bridge"] as const;

/** One `egress` entry: `host:port`, a DNS name (or `*.name`) and a port, never an IP address. */
export const EgressEntry = z.string().superRefine((entry, context) => {
  const parsed = parseEgressEntry(entry);
  if (!parsed.ok) context.addIssue({ code: "custom", message: parsed.error });
});

/** The limits a profile that leaves `cpus` or `pidsLimit` unset runs with (the sandbox's defaults). */
export const DEFAULT_LIMITS = Object.freeze({ cpus: 1, pidsLimit: 512 } as const);

const profileFields = {
  image: z.string().trim().min(1).max(512),
  command: z.array(z.string().max(100_000)).max(256),
  env: z.array(z.string().regex(ENV_NAME, "must be an environment variable name")).max(64),
  network: z.enum(NETWORK_MODES),
  /** With `network: egress`: the only destinations the agent reaches (operators widen, repositories narrow). */
  egress: z.array(EgressEntry).max(256).optional(),
  timeoutSeconds: z
    .number()
    .int()
    .min(10)
    .max(24 * 60 * 60),
  memoryMb: z
    .number()
    .int()
    .min(64)
    .max(256 * 1024),
  cpus: z.number().min(0.1).max(128).optional(),
  pidsLimit: z.number().int().min(16).max(1_000_000).optional(),
  user: z
    .string()
    .refine(isNonRootNumericUser, "must be a numeric uid:gid other than 0 (root), e.g. 65534:65534")
    .optional(),
  promptFile: z.string().regex(FILE_NAME, "must be a plain file name").optional(),
  outputFile: z.string().regex(FILE_NAME, "must be a plain file name").optional(),
  /** How Foreman reads `outputFile` when the agent writes no result.json: a CLI's own machine-readable output. */
  outputFormat: z.enum(CLI_OUTPUT_FORMATS).optional(),
  /** Variables forwarded when the operator set them, left out otherwise (e.g. a model gateway's base URL). */
  optionalEnv: z.array(z.string().regex(ENV_NAME, "must be an environment variable name")).max(64).optional(),
  /** The user's home directory: a private tmpfs there, owned by `user` (default: HOME is /tmp). */
  home: z
    .string()
    .regex(/^\/(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]+$/, "must be an absolute path, e.g. /home/agent")
    .refine(
      (path) => !/^\/(?:workspace|foreman|tmp|proc|sys|dev|etc|usr|bin|sbin|lib)(?:\/|$)/.test(path),
      "must not be a system or Foreman path",
    )
    .optional(),
};

/** A complete agent profile: what to run, what it may see, and its limits. */
export const AgentProfile = z.strictObject(profileFields);
/** A complete agent profile: what to run, what it may see, and its limits. */
export type AgentProfile = z.infer<typeof AgentProfile>;

/** A partial profile that overrides fields of a profile of the same name (e.g. a built-in). */
export const AgentProfileOverride = z.strictObject(profileFields).partial();
/** A partial profile that overrides fields of a profile of the same name (e.g. a built-in). */
export type AgentProfileOverride = z.infer<typeof AgentProfileOverride>;

/** Profile names: lower-case words joined by dashes, as used in `agent:` and `profiles:`. */
export const ProfileName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be lower-case letters, digits, - or _");
