/**
 * What a repository's `profiles:` (in `.github/foreman.yml`, written by anyone who can push to
 * the repository) may change of the operator's profiles. Pure.
 *
 * By default (`REPO_PROFILE_OVERRIDES=tighten`) a repository may only choose among the operator's
 * profiles (built-in and AGENT_PROFILES_FILE) and tighten them: lower the limits, narrow the
 * network (`egress` → `none`) and the egress list, ask for fewer secrets. The operator may let
 * repositories set more, by group of fields. Whatever the groups, a profile whose image or command
 * a repository chose gets no agent secret, unless the operator names it in REPO_PROFILE_SECRETS.
 */
import { DEFAULT_LIMITS, type AgentProfileOverride } from "./agent-profile.js";
import { PROFILE_ERROR_CODES, err, ok, type ProfileError, type Result } from "./errors.js";

/** The groups of profile fields an operator may let repositories set (REPO_PROFILE_OVERRIDES). */
export const REPO_OVERRIDE_FIELDS = ["image", "command", "env", "network", "limits"] as const;

/** One group of profile fields an operator may let repositories set. */
export type RepoOverrideField = (typeof REPO_OVERRIDE_FIELDS)[number];

/** What the operator lets repositories do to profiles. */
export interface RepoOverridePolicy {
  /** REPO_PROFILE_OVERRIDES: the groups a repository may set freely; empty means tighten only. */
  readonly fields: readonly RepoOverrideField[];
  /** REPO_PROFILE_SECRETS: profiles whose repository-chosen image or command may still receive secrets. */
  readonly secretProfiles: readonly string[];
}

/** The default policy: a repository may only tighten the operator's profiles, and its own code gets no secret. */
export const TIGHTEN_ONLY: RepoOverridePolicy = Object.freeze({ fields: [], secretProfiles: [] });

/** Which group each profile field belongs to; `egress` is absent: a repository's list only ever narrows. */
const FIELD_GROUPS: Readonly<Record<Exclude<keyof AgentProfileOverride, "egress">, RepoOverrideField>> = {
  image: "image",
  // What runs, and how the command meets the container and Foreman.
  command: "command",
  user: "command",
  home: "command",
  promptFile: "command",
  outputFile: "command",
  outputFormat: "command",
  env: "env",
  optionalEnv: "env",
  network: "network",
  timeoutSeconds: "limits",
  memoryMb: "limits",
  cpus: "limits",
  pidsLimit: "limits",
};

const LIMIT_FIELDS = ["timeoutSeconds", "memoryMb", "cpus", "pidsLimit"] as const;
const NETWORK_RANK = { none: 0, egress: 1, bridge: 2 } as const;

/**
 * Checks a repository's override of profile `name` against the policy, and returns the layer to
 * apply over `base` (the built-in and operator layers merged; undefined for a profile only the
 * repository defines). A profile that runs the repository's own image or command keeps no
 * `optionalEnv` and may ask for no `env` unless the operator allows secrets for it.
 */
export function applyRepoOverridePolicy(
  name: string,
  base: AgentProfileOverride | undefined,
  repo: AgentProfileOverride | undefined,
  policy: RepoOverridePolicy,
): Result<AgentProfileOverride | undefined, ProfileError> {
  if (repo === undefined) return ok(undefined);
  const widened = listWidenedFields(base, repo).filter((field) => !policy.fields.includes(FIELD_GROUPS[field]));
  if (widened.length > 0) return err(describeRefusal(name, base, widened, policy));
  if (!runsRepositoryCode(base, repo) || policy.secretProfiles.includes(name)) return ok(repo);
  const secrets = repo.env ?? base?.env ?? [];
  if (secrets.length > 0) {
    return err({
      code: PROFILE_ERROR_CODES.PROFILE_OVERRIDE_REFUSED,
      message:
        `Agent profile "${name}" runs ${describeOwnCode(base, repo)} from the repository's .github/foreman.yml and asks for ` +
        `${secrets.join(", ")}; Foreman gives no agent secrets to a repository's own code. This is the repository ` +
        `config's to fix: set \`profiles.${name}.env: []\` (and give the agent what it needs another way), or an operator ` +
        `can allow secrets for this profile with REPO_PROFILE_SECRETS=${name}.`,
    });
  }
  // Optional variables are forwarded whenever the operator set them: none for the repository's own code.
  return ok({ ...repo, optionalEnv: [] });
}

/** True when the repository chose what runs: its own profile, or another image or command than the operator's. */
export function runsRepositoryCode(base: AgentProfileOverride | undefined, repo: AgentProfileOverride): boolean {
  if (base === undefined) return true;
  return (
    (repo.image !== undefined && repo.image !== base.image) ||
    (repo.command !== undefined && !isSameList(repo.command, base.command))
  );
}

// The fields the repository sets to something the operator's profile does not already allow.
function listWidenedFields(
  base: AgentProfileOverride | undefined,
  repo: AgentProfileOverride,
): (keyof typeof FIELD_GROUPS)[] {
  const widened: (keyof typeof FIELD_GROUPS)[] = [];
  for (const field of Object.keys(FIELD_GROUPS) as (keyof typeof FIELD_GROUPS)[]) {
    if (repo[field] !== undefined && widens(field, base, repo)) widened.push(field);
  }
  return widened;
}

function widens(
  field: keyof typeof FIELD_GROUPS,
  base: AgentProfileOverride | undefined,
  repo: AgentProfileOverride,
): boolean {
  switch (field) {
    case "env":
    case "optionalEnv": {
      const known = [...(base?.env ?? []), ...(base?.optionalEnv ?? [])];
      return (repo[field] ?? []).some((variable) => !known.includes(variable));
    }
    case "network":
      return NETWORK_RANK[repo.network ?? "none"] > NETWORK_RANK[base?.network ?? "none"];
    case "command":
      return !isSameList(repo.command ?? [], base?.command);
    case "timeoutSeconds":
    case "memoryMb":
    case "cpus":
    case "pidsLimit": {
      // A profile only the repository defines has nothing to raise: the operator's maxima bound it.
      if (base === undefined) return false;
      const ceiling = base[field] ?? (field === "cpus" || field === "pidsLimit" ? DEFAULT_LIMITS[field] : undefined);
      return ceiling !== undefined && (repo[field] ?? 0) > ceiling;
    }
    default:
      return repo[field] !== base?.[field];
  }
}

function describeRefusal(
  name: string,
  base: AgentProfileOverride | undefined,
  fields: readonly (keyof typeof FIELD_GROUPS)[],
  policy: RepoOverridePolicy,
): ProfileError {
  const named = fields.map((field) => `\`profiles.${name}.${field}\``).join(", ");
  const groups = [...new Set([...policy.fields, ...fields.map((field) => FIELD_GROUPS[field])])];
  const what =
    base === undefined
      ? `defines a profile "${name}" of its own, which`
      : `sets ${named}${fields.some((field) => (LIMIT_FIELDS as readonly string[]).includes(field)) ? " above the operator's profile" : ""}, which`;
  const current = policy.fields.length === 0 ? "tighten" : policy.fields.join(",");
  return {
    code: PROFILE_ERROR_CODES.PROFILE_OVERRIDE_REFUSED,
    message:
      `The repository's .github/foreman.yml ${what} this Foreman installation does not let a repository do ` +
      `(REPO_PROFILE_OVERRIDES=${current}: a repository may only choose among the operator's profiles and lower ` +
      `their limits, narrow their network and ask for fewer secrets${policy.fields.length === 0 ? "" : `, and set ${policy.fields.join(", ")}`}). ` +
      `This is the repository config's to fix: remove ${base === undefined ? `\`profiles.${name}\` and use one of the operator's profiles` : named}` +
      `, or an operator can allow it with REPO_PROFILE_OVERRIDES=${groups.join(",")}.`,
  };
}

function describeOwnCode(base: AgentProfileOverride | undefined, repo: AgentProfileOverride): string {
  if (base === undefined) return "its own image and command";
  const image = repo.image !== undefined && repo.image !== base.image;
  const command = repo.command !== undefined && !isSameList(repo.command, base.command);
  return image && command ? "an image and a command" : image ? "an image" : "a command";
}

function isSameList(list: readonly string[], other: readonly string[] | undefined): boolean {
  return other !== undefined && list.length === other.length && list.every((entry, index) => entry === other[index]);
}
