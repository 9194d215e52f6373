import type { TaskConfig } from "./task.js";

/** The settings a repo gets when `.github/foreman.yml` is absent or leaves a key out. */
export const DEFAULT_TASK_CONFIG: TaskConfig = Object.freeze({
  triggerLabels: Object.freeze({
    "agent:ready": "ready",
    "agent:bugfix": "bugfix",
    "agent:feature": "feature",
    "agent:refactor": "refactor",
    "agent:docs": "docs",
  }),
  freezeLabel: "needs-human-review",
  branchPrefix: "agent/",
  prLabels: Object.freeze(["ai-generated"]) as string[],
  agent: null,
  profiles: Object.freeze({}),
  guardrails: Object.freeze({}),
  budgets: Object.freeze({ agentMinutes: 60, tokens: null, costUsd: null }),
  mode: "normal",
  pipeline: Object.freeze({ default: Object.freeze(["planner", "coder", "reviewer"]) }),
  roles: Object.freeze({}),
  maxReviewRevisions: 1,
  maxCiAttempts: 3,
  ci: Object.freeze({
    apps: Object.freeze(["github-actions"]),
    waitMinutes: 30,
    whenMissing: "wait",
    statuses: Object.freeze(["*"]),
    requiredOnly: true,
  }),
  reviewers: Object.freeze({ users: Object.freeze([]), teams: Object.freeze([]) }),
  prompt: Object.freeze({ untrustedComments: "quote" }),
}) as unknown as TaskConfig;

/** The roles a pipeline may name; each has a prompt in prompts/roles/. */
export const PIPELINE_ROLES = Object.freeze([
  "planner",
  "coder",
  "reviewer",
  "test_author",
  "security",
  "scribe",
] as const);

/** Roles that read and report; what they change in the workspace is never pushed. */
export const REVIEW_ROLES: readonly string[] = Object.freeze(["planner", "reviewer", "security"]);

/** Roles that must change something: finishing without a change fails the step. */
export const MUST_CHANGE_ROLES: readonly string[] = Object.freeze(["coder", "ci_fixer"]);

/** Whether a step of this role pushes what it changed. */
export function isCodeRole(role: string): boolean {
  return !REVIEW_ROLES.includes(role);
}

/** A stored config with the keys older tasks lack filled in from the defaults. */
export function withConfigDefaults(config: TaskConfig | null): TaskConfig {
  // A config stored before a `ci` key existed gets that key's default.
  const merged = { ...DEFAULT_TASK_CONFIG, ...(config ?? {}) } as TaskConfig;
  return { ...merged, ci: { ...DEFAULT_TASK_CONFIG.ci, ...merged.ci } as TaskConfig["ci"] };
}

/** The roles a task of this type runs, in order. */
export function resolvePipeline(config: TaskConfig, type: keyof TaskConfig["pipeline"]): string[] {
  return [...(config.pipeline[type] ?? config.pipeline.default ?? DEFAULT_TASK_CONFIG.pipeline.default!)];
}

/** Where a repository keeps its Foreman settings. */
export const REPO_CONFIG_PATH = ".github/foreman.yml";

/** Labels with this prefix are always worth checking against the repo config. */
export const TRIGGER_LABEL_PREFIX = "agent:";

/**
 * Whether a label on an issue without a task may start one. The repo config decides for sure
 * (it is read when the task is authorised); this only filters out labels that can't be triggers,
 * so a `bug` label on a random issue costs no GitHub read. `knownTriggerLabels` is null when the
 * config has not been read lately: then any label may be a custom trigger, and the read decides.
 */
export function isTriggerCandidate(label: string, knownTriggerLabels: readonly string[] | null): boolean {
  return label.startsWith(TRIGGER_LABEL_PREFIX) || knownTriggerLabels === null || knownTriggerLabels.includes(label);
}

/** Labels that set a task's place in the queue. */
export const PRIORITY_LABELS: Readonly<Record<string, number>> = Object.freeze({
  "priority:high": 1,
  "priority:low": -1,
});

/** A task's priority from the labels: the highest priority label wins. */
export function findPriority(labels: readonly string[] | undefined): number {
  const values = (labels ?? [])
    .map((label) => PRIORITY_LABELS[label])
    .filter((value): value is number => value !== undefined);
  return values.length === 0 ? 0 : Math.max(...values);
}
