import { beforeEach, describe, expect, test } from "vitest";
import { listAgentJobLogLines } from "../../../src/db/queries/list-agent-job-log-lines.js";
import { createLiveLogWriter, type LiveLogSettings } from "../../../src/engine/agent-step/live-log-writer.js";
import { buildRedactor } from "../../../src/logging/redact.js";
import { TaskState } from "../../../src/workflow/states.js";
import { seedTask } from "../../helpers/api-fixtures.js";
import { resetTables, useTestDatabase } from "../../helpers/test-database.js";

const database = useTestDatabase();
const TASK = "00000000-0000-4000-9100-000000000001";
const JOB = "00000000-0000-4000-9100-000000000010";
const T = "2026-01-01T00:00:00.000000001Z";

beforeEach(async () => {
  await resetTables(database);
  await seedTask(database.sql, { id: TASK, issueNumber: 1, state: TaskState.running });
  await database.sql`insert into agent_jobs (id, task_id, role, profile, image, base_sha, status, attempt, log_token)
    values (${JOB}, ${TASK}, 'coder', 'script', 'img', 'base', 'running', 2, 't')`;
});

// A flush interval no test waits for: batches are stored by count, or by close().
function settings(overrides: Partial<LiveLogSettings> = {}): LiveLogSettings {
  return {
    sql: database.sql,
    jobId: JOB,
    attempt: 2,
    redact: buildRedactor(["hunter22-secret"]),
    maxBytes: 4096,
    flushMs: 3_600_000,
    maxLines: 3,
    onError: (error) => {
      throw error;
    },
    ...overrides,
  };
}

const stored = async () =>
  (await listAgentJobLogLines(database.sql, JOB, 0)).map((row) => ({
    attempt: row.attempt,
    ...(JSON.parse(row.entry) as { t: string; stream: string; line: string }),
  }));

describe("the live log writer", () => {
  test("stores a batch once maxLines wait, the rest on close, redacted, in order, a NUL kept as JSON writes it", async () => {
    const writer = createLiveLogWriter(settings());
    writer.add({ t: T, stream: "stdout", line: "one" });
    writer.add({ t: T, stream: "stderr", line: "token hunter22-secret" });
    expect(await stored()).toEqual([]);
    writer.add({ t: T, stream: "stdout", line: "nul\u0000here" });
    await expect.poll(stored).toHaveLength(3);
    writer.add({ t: T, stream: "stdout", line: "four" });
    await writer.close();
    writer.add({ t: T, stream: "stdout", line: "after close" });
    expect(await stored()).toEqual([
      { attempt: 2, t: T, stream: "stdout", line: "one" },
      { attempt: 2, t: T, stream: "stderr", line: "token [REDACTED]" },
      { attempt: 2, t: T, stream: "stdout", line: "nul\u0000here" },
      { attempt: 2, t: T, stream: "stdout", line: "four" },
    ]);
  });

  test("past the byte cap one note is stored and later lines are not", async () => {
    const writer = createLiveLogWriter(settings({ maxBytes: 200, maxLines: 100 }));
    for (let i = 0; i < 10; i += 1) writer.add({ t: T, stream: "stdout", line: `line-${i}` });
    await writer.close();
    const lines = await stored();
    const kept = lines.filter((line) => line.stream === "stdout");
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(10);
    expect(lines.at(-1)).toMatchObject({
      stream: "system",
      line: "[foreman] live log stopped at 200 bytes; the whole log is stored when the job ends",
    });
    const bytes = kept.reduce(
      (sum, line) => sum + Buffer.byteLength(JSON.stringify({ t: line.t, stream: line.stream, line: line.line })) + 1,
      0,
    );
    expect(bytes).toBeLessThanOrEqual(200);
  });
});
