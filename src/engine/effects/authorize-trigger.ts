import { createHash } from "node:crypto";
import { canonicalJson } from "../../chain/chain.js";
import { REPO_CONFIG_PATH, parseRepoConfig, type RepoConfigResult } from "../../config/repo-config.js";
import { findActorRole } from "./find-actor-role.js";
import { readRepoFile, RepoFileTooLargeError } from "../../github/read-repo-file.js";
import type { GitHubClient } from "../../github/octokit.js";
import { isTriggerLabel, type TriggerFacts } from "../../workflow/authorize.js";
import { TRIGGER_LABEL_PREFIX } from "../../workflow/defaults.js";
import type { Effect } from "../../workflow/effects.js";
import { EventType } from "../../workflow/events.js";
import type { IssueSnapshot } from "../../workflow/task.js";
import type { EffectInput, EffectOutcome } from "./effect-outcome.js";

type Payload = Omit<Extract<Effect, { kind: "authorize_trigger" }>, "kind">;

/**
 * Read what the trigger check needs: the repo config on the default branch first, then — only for
 * a label that may be a trigger (`isTriggerLabel`) — the sender's role, so somebody's `bug` label
 * costs no permission read. Reads only; the workflow judges the facts (`judgeTrigger`).
 */
export async function authorizeTrigger({ payload, task, octokit }: EffectInput<Payload>): Promise<EffectOutcome> {
  const { owner, name: repo, defaultBranch } = task.repo;
  const read = await readConfigText(octokit, { owner, repo, path: REPO_CONFIG_PATH, ref: defaultBranch });
  const text = read.text;
  // A config too large to read fails closed: the defaults would drop whatever it tightens.
  const parsed: RepoConfigResult = read.tooLarge ? { ok: false, problems: [read.tooLarge] } : parseRepoConfig(text);
  const config = parsed.ok ? parsed.config : null;
  const senderRole = isTriggerLabel(payload.label, { config })
    ? await findActorRole(octokit, { owner, repo, username: payload.sender })
    : null;
  const facts: TriggerFacts = {
    config,
    problems: parsed.ok ? [] : parsed.problems,
    configFound: text !== null || read.tooLarge !== null,
    senderRole,
  };
  return {
    event: { type: EventType.triggerChecked, taskId: task.id, ...facts },
    // Flat for auditors: who, which label, what the config said, the role GitHub reported.
    evidence: {
      sender: payload.sender,
      label: payload.label,
      configFound: facts.configFound,
      configValid: config !== null,
      ...(config !== null ? { config } : { problems: facts.problems }),
      role: senderRole?.role ?? null,
      permission: senderRole?.permission ?? null,
      // The issue text this authorisation covers: the agents are shown exactly this, not a later edit.
      issueUpdatedAt: task.issueSnapshot?.updatedAt ?? null,
      issueSha256: task.issueSnapshot ? hashIssueSnapshot(task.issueSnapshot) : null,
    },
    // What the config lists beyond the agent: prefix, so later labels are filtered without a task.
    ...(config !== null
      ? {
          knownTriggerLabels: Object.keys(config.triggerLabels).filter(
            (label) => !label.startsWith(TRIGGER_LABEL_PREFIX),
          ),
        }
      : {}),
  };
}

/** The config's text, or why it cannot be read (too large for GitHub's contents API). */
async function readConfigText(
  octokit: GitHubClient,
  params: { owner: string; repo: string; path: string; ref: string },
): Promise<{ text: string | null; tooLarge: string | null }> {
  try {
    return { text: await readRepoFile(octokit, params), tooLarge: null };
  } catch (error) {
    if (error instanceof RepoFileTooLargeError) return { text: null, tooLarge: error.message };
    throw error;
  }
}

/** Hex sha256 of the RFC 8785 canonical JSON of the snapshot's `{ title, body }`: an auditor can recompute it from the issue's history. */
export function hashIssueSnapshot(snapshot: IssueSnapshot): string {
  return createHash("sha256")
    .update(canonicalJson({ title: snapshot.title, body: snapshot.body }), "utf8")
    .digest("hex");
}
