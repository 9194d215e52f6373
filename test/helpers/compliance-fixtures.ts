import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type postgres from "postgres";
import { FileArtifactStore, storeRedactedArtifact } from "../../src/compliance/artifacts.js";
import type { ChainRecord } from "../../src/chain/chain.js";
import type { SqlClient } from "../../src/db/client.js";
import { appendComplianceRecords } from "../../src/db/queries/append-compliance-record.js";

/** Ids of the seeded tasks. */
export const MERGED_TASK = "00000000-0000-4000-8000-0000000000a1";
export const OTHER_TASK = "00000000-0000-4000-8000-0000000000b2";

/** A temporary artifact store. */
export function createTempArtifactStore(): FileArtifactStore {
  return new FileArtifactStore(mkdtempSync(join(tmpdir(), "foreman-artifacts-")));
}

/** Empty the tables the compliance tests write (bypassing the append-only triggers, as an owner can). */
export async function resetComplianceTables(sql: postgres.Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`truncate compliance_records, compliance_checkpoints, artifacts, outbound_hooks, api_tokens, agent_jobs, effects, tasks cascade`;
  });
}

/** Insert a task row with the given state. */
export async function insertTask(sql: SqlClient, id: string, state: string, issueNumber: number): Promise<void> {
  const at = "2026-11-20T12:00:00.000Z";
  await sql`
    insert into tasks (id, installation_id, repo_id, repo_owner, repo_name, default_branch, issue_number, issue_title, type, trigger_label, triggered_by, state,
      branch, base_sha, head_sha, pr_number, pr_url, created_at, updated_at)
    values (${id}, 1, 10, 'acme', 'api', 'main', ${issueNumber}, ${`Issue ${issueNumber}`}, 'feature', 'agent:ready', 'octocat', ${state},
      ${`agent/${issueNumber}-fix`}, ${"b".repeat(40)}, ${"c".repeat(40)}, ${issueNumber + 100}, ${`https://github.com/acme/api/pull/${issueNumber + 100}`}, ${at}, ${at})`;
}

/**
 * A small trail: a merged task with the records a merge needs and one artifact (a redacted prompt),
 * interleaved with another task's records, and one record with no task. Returns the records.
 */
export async function seedTrail(sql: SqlClient, store: FileArtifactStore): Promise<ChainRecord[]> {
  await insertTask(sql, MERGED_TASK, "merged", 7);
  await insertTask(sql, OTHER_TASK, "cancelled", 8);
  const prompt = await storeRedactedArtifact(
    store,
    sql,
    "Fix the bug. Token: ghp_abcdefghijklmnop and secret hunter22",
    "prompt",
    ["hunter22"],
  );
  const at = (minute: number) => new Date(Date.UTC(2026, 10, 20, 12, minute));
  const records = [
    {
      taskId: MERGED_TASK,
      kind: "task.transition",
      actor: "octocat",
      payload: { from: null, to: "queued", event: "trigger_labeled" },
      createdAt: at(0),
    },
    {
      taskId: MERGED_TASK,
      kind: "effect.authorize_trigger",
      actor: "foreman[app]",
      payload: { sender: "octocat", role: "write", allowed: true },
      createdAt: at(1),
    },
    {
      taskId: OTHER_TASK,
      kind: "task.transition",
      actor: "hubot",
      payload: { from: null, to: "cancelled" },
      createdAt: at(2),
    },
    {
      taskId: MERGED_TASK,
      kind: "effect.ensure_branch",
      actor: "foreman[app]",
      payload: { branch: "agent/7-fix", headSha: "c".repeat(40), baseSha: "b".repeat(40) },
      createdAt: at(3),
    },
    {
      taskId: MERGED_TASK,
      kind: "agent.prompt",
      actor: "foreman[app]",
      payload: { role: "coder", artifacts: [{ sha256: prompt.sha256, kind: prompt.kind }] },
      createdAt: at(4),
    },
    {
      taskId: MERGED_TASK,
      kind: "effect.open_draft_pr",
      actor: "foreman[app]",
      payload: { number: 107, url: "https://github.com/acme/api/pull/107", reused: false },
      createdAt: at(5),
    },
    {
      taskId: null,
      kind: "api_token.created",
      actor: "cli:root",
      payload: { tokenId: "x", name: "audit", role: "auditor" },
      createdAt: at(6),
    },
    {
      taskId: MERGED_TASK,
      kind: "task.transition",
      actor: "mona",
      payload: { from: "ready_for_review", to: "merged" },
      createdAt: at(7),
    },
  ];
  const appended: ChainRecord[] = [];
  for (const record of records) appended.push(...(await appendComplianceRecords(sql, [record])));
  return appended;
}
