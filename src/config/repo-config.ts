import { parseDocument } from "yaml";
import { z } from "zod";
import { AgentProfileOverride, ProfileName } from "../agents/agent-profile.js";
import { DEFAULT_TASK_CONFIG, PIPELINE_ROLES, REPO_CONFIG_PATH } from "../workflow/defaults.js";
import { TaskType, type TaskConfig } from "../workflow/task.js";

export { REPO_CONFIG_PATH };

const TASK_TYPES = Object.values(TaskType);
const labelName = z
  .string({ error: "must be a label name (text)" })
  .trim()
  .min(1, { error: "must be a non-empty label name" })
  .max(50, { error: "must be at most 50 characters (GitHub's label limit)" });

const pipelineSteps = z
  .array(z.enum(PIPELINE_ROLES, { error: `must be one of ${PIPELINE_ROLES.join(", ")}` }))
  .min(1, { error: "must name at least one step" })
  .refine((roles) => new Set(roles).size === roles.length, { error: "must not name a step twice" });

/** The schema of `.github/foreman.yml`. Every key is optional; unknown keys are errors, so typos don't pass silently. */
export const RepoConfig = z
  .object({
    triggerLabels: z
      .record(labelName, z.enum(TASK_TYPES, { error: `must be one of ${TASK_TYPES.join(", ")}` }))
      .refine((labels) => Object.keys(labels).length > 0, { error: "must list at least one label" })
      .default(DEFAULT_TASK_CONFIG.triggerLabels),
    freezeLabel: labelName.default(DEFAULT_TASK_CONFIG.freezeLabel),
    branchPrefix: z
      .string()
      // Git refuses "..", segments starting with "." and ".lock" endings in ref names.
      .regex(/^(?!.*\.\.)(?!.*\.lock\/)([A-Za-z0-9_-][A-Za-z0-9._-]*\/)+$/, {
        error: "must be a branch path ending in /, made of letters, digits, . _ - (e.g. agent/)",
      })
      .default(DEFAULT_TASK_CONFIG.branchPrefix),
    prLabels: z.array(labelName, { error: "must be a list of label names" }).default(DEFAULT_TASK_CONFIG.prLabels),
    /** The agent profile every step uses unless a role says otherwise. */
    agent: ProfileName.nullable().default(DEFAULT_TASK_CONFIG.agent),
    /** Define or override agent profiles (docs/agents.md). */
    profiles: z.record(ProfileName, AgentProfileOverride).default({}),
    /** Tighten the diff guardrails; protected paths add to the operator's, never replace them. */
    guardrails: z
      .strictObject({
        maxFiles: z.number().int().positive().optional(),
        maxChangedLines: z.number().int().positive().optional(),
        maxDiffBytes: z.number().int().positive().optional(),
        maxDeletedFiles: z.number().int().min(0).optional(),
        protectedPaths: z.array(z.string().min(1)).optional(),
        allowedPaths: z.array(z.string().min(1)).optional(),
      })
      .default({}),
    budgets: z
      .strictObject({
        agentMinutes: z
          .number()
          .positive({ error: "must be a number of minutes above 0" })
          .default(DEFAULT_TASK_CONFIG.budgets.agentMinutes),
        tokens: z.number().int().positive().nullable().default(null),
        costUsd: z.number().positive().nullable().default(null),
      })
      .default(DEFAULT_TASK_CONFIG.budgets),
    /** `shadow`: run the agents, open no PR, push nothing; results go to the status comment. */
    mode: z.enum(["normal", "shadow"], { error: "must be normal or shadow" }).default("normal"),
    /** The steps, in order: one list for every task type, or lists by type with `default` for the rest. */
    pipeline: z
      .union(
        [
          pipelineSteps,
          z.strictObject(Object.fromEntries([...TASK_TYPES, "default"].map((key) => [key, pipelineSteps.optional()]))),
        ],
        {
          error: `must be a list of roles (${PIPELINE_ROLES.join(", ")}) or a mapping from task type (${TASK_TYPES.join(", ")}, default) to such a list`,
        },
      )
      .transform((value) =>
        Array.isArray(value) ? { default: value } : { default: DEFAULT_TASK_CONFIG.pipeline.default, ...value },
      )
      .default({ default: [...DEFAULT_TASK_CONFIG.pipeline.default!] }),
    /** Per role: the agent profile it uses. */
    roles: z
      .partialRecord(
        z.enum([...PIPELINE_ROLES, "ci_fixer"], {
          error: `must be a role: ${[...PIPELINE_ROLES, "ci_fixer"].join(", ")}`,
        }),
        z.strictObject({ agent: ProfileName.optional() }),
      )
      .default({}),
    maxReviewRevisions: z
      .number()
      .int()
      .min(0, { error: "must be 0 or more" })
      .max(5, { error: "must be at most 5" })
      .default(DEFAULT_TASK_CONFIG.maxReviewRevisions),
    maxCiAttempts: z
      .number()
      .int()
      .min(0, { error: "must be 0 or more" })
      .max(10, { error: "must be at most 10" })
      .default(DEFAULT_TASK_CONFIG.maxCiAttempts),
    ci: z
      .strictObject({
        apps: z
          .array(z.string().min(1), { error: "must be a list of app slugs (e.g. github-actions)" })
          .min(1)
          .default([...DEFAULT_TASK_CONFIG.ci.apps]),
        waitMinutes: z
          .number()
          .positive({ error: "must be a number of minutes above 0" })
          .default(DEFAULT_TASK_CONFIG.ci.waitMinutes),
        whenMissing: z
          .enum(["wait", "ready"], { error: "must be wait or ready" })
          .default(DEFAULT_TASK_CONFIG.ci.whenMissing),
        statuses: z
          .array(
            z
              .string()
              .max(200, { error: "must be at most 200 characters" })
              .regex(/^[^\s]+( [^\s]+)*$/, {
                error: "must be a status context or a glob, e.g. ci/jenkins/* (not empty, no spaces around it)",
              }),
            { error: 'must be a list of status contexts or globs, e.g. ["ci/jenkins/*"] ([] counts none)' },
          )
          .max(50, { error: "must list at most 50 contexts" })
          .default([...DEFAULT_TASK_CONFIG.ci.statuses]),
        requiredOnly: z.boolean({ error: "must be true or false" }).default(DEFAULT_TASK_CONFIG.ci.requiredOnly),
      })
      .default({
        ...DEFAULT_TASK_CONFIG.ci,
        apps: [...DEFAULT_TASK_CONFIG.ci.apps],
        statuses: [...DEFAULT_TASK_CONFIG.ci.statuses],
      }),
    reviewers: z
      .strictObject({
        users: z.array(z.string().min(1)).default([]),
        teams: z.array(z.string().min(1)).default([]),
      })
      .default({ users: [], teams: [] }),
    /** What the agent is shown of the thread: comments by people without access, quoted as untrusted or left out. */
    prompt: z
      .strictObject({
        untrustedComments: z
          .enum(["quote", "omit"], { error: "must be quote or omit" })
          .default(DEFAULT_TASK_CONFIG.prompt!.untrustedComments),
      })
      .default({ untrustedComments: DEFAULT_TASK_CONFIG.prompt!.untrustedComments }),
  })
  .strict();

/** A repository's parsed settings. */
export type RepoConfig = z.infer<typeof RepoConfig>;

/** Parsing either gives the settings or says, key by key, what is wrong and what is expected. */
export type RepoConfigResult = { ok: true; config: TaskConfig } | { ok: false; problems: string[] };

/** Parse the text of `.github/foreman.yml` (null when the file does not exist: all defaults). */
export function parseRepoConfig(text: string | null): RepoConfigResult {
  if (text === null) return { ok: true, config: RepoConfig.parse({}) };
  let value: unknown;
  let prototypeKey: string | null;
  try {
    const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (document.errors.length > 0) {
      return { ok: false, problems: document.errors.map((error) => `YAML syntax: ${error.message.split("\n")[0]}`) };
    }
    // toJS resolves aliases: one before its anchor, or a billion laughs, throws.
    value = document.toJS({ maxAliasCount: 100 }) ?? {};
    prototypeKey = findPrototypeKey(value, []);
  } catch (error) {
    return { ok: false, problems: [`YAML: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`] };
  }
  if (prototypeKey !== null) {
    return { ok: false, problems: [`\`${prototypeKey}\` is not a setting: keys named __proto__ are refused`] };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return {
      ok: false,
      problems: ["the file must be a YAML mapping of settings (key: value), not a list or a single value"],
    };
  }
  const parsed = RepoConfig.safeParse(value);
  if (parsed.success) return { ok: true, config: parsed.data };
  return { ok: false, problems: parsed.error.issues.map(describeIssue) };
}

// A `__proto__` key would be dropped silently (an object's prototype, not a key) by every copy of
// the value: say so instead. The path of the first one, or null.
function findPrototypeKey(value: unknown, path: string[]): string | null {
  if (value === null || typeof value !== "object") return null;
  for (const [key, item] of Object.entries(value)) {
    if (key === "__proto__") return [...path, key].join(".");
    const found = findPrototypeKey(item, [...path, key]);
    if (found !== null) return found;
  }
  return null;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys" && issue.path.length > 0) {
    const where = issue.path.map(String).join(".");
    return issue.keys
      .map((key) => `unknown key \`${where}.${key}\`: check its spelling against the README's table of settings`)
      .join("; ");
  }
  if (issue.code === "unrecognized_keys") {
    const known = Object.keys(RepoConfig.shape);
    return issue.keys
      .map((key) => {
        const near = known.find((candidate) => isNear(key, candidate));
        return `unknown key \`${key}\`${near ? ` (did you mean \`${near}\`?)` : ""}: the known keys are ${known.join(", ")}`;
      })
      .join("; ");
  }
  const path = issue.path.map(String).join(".");
  return `\`${path}\` ${issue.message}`;
}

/** Whether two keys differ by case, a plural s, or at most two edits: likely a typo of each other. */
function isNear(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y || `${x}s` === y || x === `${y}s`) return true;
  return editDistance(x, y) <= 2;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
