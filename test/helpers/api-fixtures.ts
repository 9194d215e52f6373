import { expect } from "vitest";
import { runTokensCommand } from "../../src/cli/tokens.js";
import type { SqlClient } from "../../src/db/client.js";
import { insertTask } from "../../src/db/queries/insert-task.js";
import { emptyPipeline, type Task } from "../../src/workflow/task.js";
import { TaskState } from "../../src/workflow/states.js";
import { INSTALLATION_ID } from "./payloads.js";
import { REPO } from "./github-mock.js";

/** Create an API token with `foreman tokens create`; returns its id and secret. */
export async function createApiToken(sql: SqlClient, role: string, name = `${role} user`) {
  let output = "";
  expect(
    await runTokensCommand(["create", "--name", name, "--role", role], {
      sql,
      out: (text) => (output = text),
      actor: "cli:test",
    }),
  ).toBe(0);
  return { id: /Created token (\S+)/.exec(output)![1]!, token: /^(fmn_\S+)$/m.exec(output)![1]! };
}

/** Store a task in the state given, on the example repository, created `minutesAgo` before the database's now. */
export async function seedTask(
  sql: SqlClient,
  overrides: Partial<Task> & { id: string; issueNumber: number },
  minutesAgo = 0,
): Promise<Task> {
  const at = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  const task: Task = {
    repo: {
      installationId: INSTALLATION_ID,
      id: REPO.id,
      owner: REPO.owner,
      name: REPO.name,
      defaultBranch: REPO.defaultBranch,
    },
    issueTitle: `Issue ${overrides.issueNumber}`,
    issueSnapshot: null,
    type: "ready",
    triggerLabel: "agent:ready",
    triggeredBy: "Codertocat",
    triggerVerdict: "authorized",
    state: TaskState.queued,
    resumeState: null,
    frozenBy: null,
    frozenOn: null,
    config: null,
    branch: null,
    baseSha: null,
    headSha: null,
    prNumber: null,
    prUrl: null,
    step: null,
    jobId: null,
    usage: { agentMs: 0, tokens: 0, costUsd: 0 },
    priority: 0,
    pipeline: emptyPipeline(),
    reason: null,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
  await insertTask(sql, task);
  return task;
}

/** Register the example repository as installed. */
export async function seedRepository(sql: SqlClient): Promise<void> {
  await sql`insert into installations (id, account_login, account_type) values (${INSTALLATION_ID}, ${REPO.owner}, 'User') on conflict do nothing`;
  await sql`insert into repositories (id, installation_id, full_name) values (${REPO.id}, ${INSTALLATION_ID}, ${`${REPO.owner}/${REPO.name}`}) on conflict do nothing`;
}
