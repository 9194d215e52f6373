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
}) as TaskConfig;

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
