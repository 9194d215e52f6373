import { DEFAULT_TASK_CONFIG, REPO_CONFIG_PATH, TRIGGER_LABEL_PREFIX } from "./defaults.js";
import { mayStartTask, type RepoRole } from "./permissions.js";
import type { TaskConfig, TaskReason, TaskType } from "./task.js";
import { ReasonCode } from "./task.js";

/**
 * What `authorize_trigger` read for a task's label: the repository's config on the default branch
 * (parsed, or why it cannot be used) and, when the label may be a trigger, the sender's role.
 */
export interface TriggerFacts {
  /** The parsed config (defaults filled in); null when the file is invalid. */
  config: TaskConfig | null;
  /** Why the config is invalid (empty when it is valid). */
  problems: string[];
  /** Whether the repository has a config file at all (the defaults apply without one). */
  configFound: boolean;
  /** The sender's role; null when it was not read because the label is not a trigger. */
  senderRole: RepoRole | null;
}

/** What the trigger check decided. */
export type TriggerVerdict =
  | { kind: "not_a_trigger"; reason: TaskReason }
  | { kind: "refused"; reason: TaskReason }
  | { kind: "authorized"; config: TaskConfig; type: TaskType; sender: RepoRole };

/**
 * Whether a label is worth the sender's role: it is a trigger in a valid config, or, when the
 * config is invalid, it is one of Foreman's own (the `agent:` prefix or a default trigger), so that
 * an invalid config is reported for a label meant for Foreman but never for somebody's `bug`.
 */
export function isTriggerLabel(label: string, facts: Pick<TriggerFacts, "config">): boolean {
  if (facts.config !== null) return facts.config.triggerLabels[label] !== undefined;
  return label.startsWith(TRIGGER_LABEL_PREFIX) || DEFAULT_TASK_CONFIG.triggerLabels[label] !== undefined;
}

/**
 * Judge a trigger from the facts: not a trigger (silently ended), refused (said on the issue:
 * the sender's role, or an invalid config), or authorised with the config to run on. The config
 * is read before the role, so a label the config does not list costs no permission read.
 */
export function judgeTrigger(
  label: string,
  sender: string,
  facts: TriggerFacts,
  defaultBranch: string,
): TriggerVerdict {
  if (!isTriggerLabel(label, facts) || facts.senderRole === null) {
    return {
      kind: "not_a_trigger",
      reason: { code: ReasonCode.notATrigger, message: `\`${label}\` is not a trigger label in this repository.` },
    };
  }
  if (!mayStartTask(facts.senderRole)) {
    return {
      kind: "refused",
      reason: {
        code: ReasonCode.senderNotAllowed,
        message: `@${sender} added \`${label}\`, but their role on this repository is \`${facts.senderRole.role}\`; starting Foreman needs triage access or more. Nothing was started.`,
      },
    };
  }
  if (facts.config === null) {
    return {
      kind: "refused",
      reason: {
        code: ReasonCode.configInvalid,
        message: `\`${REPO_CONFIG_PATH}\` on \`${defaultBranch}\` is invalid, so nothing else happened:\n${facts.problems.map((problem) => `> - ${problem}`).join("\n")}`,
      },
    };
  }
  return {
    kind: "authorized",
    config: facts.config,
    type: facts.config.triggerLabels[label]!,
    sender: facts.senderRole,
  };
}
