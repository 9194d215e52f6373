import { REPO_CONFIG_PATH, parseRepoConfig } from "../../config/repo-config.js";
import { findSenderRole } from "../../github/find-sender-role.js";
import { readRepoFile } from "../../github/read-repo-file.js";
import { TRIGGER_LABEL_PREFIX } from "../../workflow/defaults.js";
import type { Effect } from "../../workflow/effects.js";
import { EventType } from "../../workflow/events.js";
import { ReasonCode } from "../../workflow/task.js";
import type { EffectInput, EffectOutcome } from "./effect-outcome.js";

type Payload = Omit<Extract<Effect, { kind: "authorize_trigger" }>, "kind">;

/**
 * Decide whether a label starts Foreman. The repo config is read first: a label it does not list
 * ends here, silently and without a permission read (it may be anybody's `bug` label). Then the
 * sender must have triage access or more; only then is an invalid config reported on the issue.
 */
export async function authorizeTrigger({ payload, task, octokit }: EffectInput<Payload>): Promise<EffectOutcome> {
  const { owner, name: repo, defaultBranch } = task.repo;
  const text = await readRepoFile(octokit, { owner, repo, path: REPO_CONFIG_PATH, ref: defaultBranch });
  const parsed = parseRepoConfig(text);
  const knownTriggerLabels = parsed.ok ? Object.keys(parsed.config.triggerLabels).filter((label) => !label.startsWith(TRIGGER_LABEL_PREFIX)) : undefined;
  if (parsed.ok && parsed.config.triggerLabels[payload.label] === undefined) {
    return {
      event: { type: EventType.triggerRejected, taskId: task.id, reason: { code: ReasonCode.notATrigger, message: `\`${payload.label}\` is not a trigger label in this repository.` } },
      evidence: { sender: payload.sender, label: payload.label, configFound: text !== null, trigger: false },
      knownTriggerLabels,
    };
  }
  const sender = await findSenderRole(octokit, { owner, repo, username: payload.sender });
  if (!sender.allowed) {
    return {
      event: {
        type: EventType.triggerRejected,
        taskId: task.id,
        reason: {
          code: ReasonCode.senderNotAllowed,
          message: `@${payload.sender} added \`${payload.label}\`, but their role on this repository is \`${sender.role}\`; starting Foreman needs triage access or more. Nothing was started.`,
        },
      },
      evidence: { sender: payload.sender, role: sender.role, allowed: false },
      ...(knownTriggerLabels ? { knownTriggerLabels } : {}),
    };
  }
  if (!parsed.ok) {
    return {
      event: {
        type: EventType.triggerRejected,
        taskId: task.id,
        reason: {
          code: ReasonCode.configInvalid,
          message: `\`${REPO_CONFIG_PATH}\` on \`${defaultBranch}\` is invalid, so nothing else happened:\n${parsed.problems.map((problem) => `> - ${problem}`).join("\n")}`,
        },
      },
      evidence: { sender: payload.sender, role: sender.role, allowed: true, configValid: false, problems: parsed.problems },
    };
  }
  return {
    event: { type: EventType.triggerAuthorized, taskId: task.id, config: parsed.config, permission: sender.role },
    evidence: { sender: payload.sender, role: sender.role, allowed: true, configValid: true, configFound: text !== null, config: parsed.config },
    knownTriggerLabels,
  };
}
