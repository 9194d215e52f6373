import { chmod, writeFile } from "node:fs/promises";
import { beforeEach, describe, expect, test } from "vitest";
import type { FileArtifactStore } from "../../src/compliance/artifacts.js";
import { GENESIS_HASH, computeRecordHash, type ChainRecord } from "../../src/chain/chain.js";
import {
  generateCheckpointKeyPair,
  loadCheckpointSigner,
  loadPublicKeys,
  resolveVerifyingKeys,
  signCheckpoint,
} from "../../src/chain/checkpoints.js";
import { createCheckpoint } from "../../src/compliance/create-checkpoint.js";
import { runCheckpointCommand } from "../../src/cli/checkpoint.js";
import { runVerifyCommand } from "../../src/cli/verify.js";
import { parseEnv } from "../../src/config/env.js";
import { insertCheckpoint } from "../../src/db/queries/insert-checkpoint.js";
import { appendComplianceRecords } from "../../src/db/queries/append-compliance-record.js";
import {
  createTempArtifactStore,
  insertTask,
  MERGED_TASK,
  OTHER_TASK,
  resetComplianceTables,
  seedTrail,
} from "../helpers/compliance-fixtures.js";
import { useTestDatabase } from "../helpers/test-database.js";

const database = useTestDatabase();
let store: FileArtifactStore;
let trail: ChainRecord[];
const keys = generateCheckpointKeyPair();
const signer = loadCheckpointSigner(keys.privateKeyPem);
const publicKeys = loadPublicKeys(keys.publicKeyPem);

beforeEach(async () => {
  await resetComplianceTables(database.sql);
  store = createTempArtifactStore();
  trail = await seedTrail(database.sql, store);
});

async function verify(...args: string[]): Promise<{ code: number; output: string }> {
  let output = "";
  const code = await runVerifyCommand(args, {
    sql: database.sql,
    artifacts: store,
    publicKeys,
    out: (text) => (output += text),
  });
  return { code, output };
}

/** Change stored rows the way only an owner or superuser can: with the append-only triggers bypassed. */
async function tamper(statement: string, ...params: Array<string | number>): Promise<void> {
  await database.sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx.unsafe(statement, params);
  });
}

describe("foreman verify on a good trail", () => {
  test("exit 0, with a summary; pages of any size give the same answer", async () => {
    await createCheckpoint(database.sql, signer, new Date("2026-11-20T13:00:00.000Z"));
    const { code, output } = await verify();
    expect(code).toBe(0);
    expect(output).toBe(
      [
        "Compliance trail: OK",
        `  records      8 (seq 1-8), head ${trail.at(-1)!.hash}`,
        "  artifacts    1 checked",
        "  checkpoints  1 (1 matched the chain; signatures checked; latest at seq 8)",
      ].join("\n"),
    );
    for (const size of ["1", "3", "7"]) expect((await verify("--page-size", size)).output).toBe(output);
  });

  test("--json gives the same result for machines", async () => {
    const { code, output } = await verify("--json");
    expect(code).toBe(0);
    expect(JSON.parse(output)).toMatchObject({
      ok: true,
      records: 8,
      failure: null,
      artifacts: { checked: 1, storeChecked: true },
      checkpoints: { total: 0 },
    });
    expect(JSON.parse(output).warnings).toEqual([
      "8 record(s) after the last checkpoint are protected by the chain only; removing them from the end would not be detected",
    ]);
  });

  test("the stored prompt was redacted before it was hashed", async () => {
    const ref = (trail[4]!.payload as { artifacts: Array<{ sha256: string }> }).artifacts[0]!;
    expect((await store.get(ref.sha256))!.toString()).toBe("Fix the bug. Token: ghp_[REDACTED] and secret [REDACTED]");
    expect(await database.sql`select kind, size::int from artifacts`).toEqual([{ kind: "prompt", size: 56 }]);
  });
});

describe("foreman verify on tampered copies names the first bad record", () => {
  test("one byte of a record's payload changed", async () => {
    await tamper(`update compliance_records set payload = jsonb_set(payload, '{role}', '"admin"') where seq = 2`);
    const { code, output } = await verify();
    expect(code).toBe(1);
    expect(output).toContain("Compliance trail: BROKEN at record 2\n  record 2: stored hash");
    expect(output).toContain("does not match its content");
    expect(output).toContain("1 record(s) before it verified.");
  });

  test("a record deleted from the middle", async () => {
    await tamper("delete from compliance_records where seq = 5");
    const { code, output } = await verify("--json");
    expect(code).toBe(1);
    expect(JSON.parse(output).failure).toEqual({
      seq: 6,
      problem: "expected seq 5, found 6 (a record is missing or out of order)",
    });
  });

  test("an artifact file altered on disk", async () => {
    const ref = (trail[4]!.payload as { artifacts: Array<{ sha256: string }> }).artifacts[0]!;
    await chmod(store.pathOf(ref.sha256), 0o644);
    await writeFile(store.pathOf(ref.sha256), "Fix the bug. Also add a backdoor.");
    const { code, output } = await verify();
    expect(code).toBe(1);
    expect(output).toContain(
      `Compliance trail: BROKEN at record 5\n  record 5: artifact ${ref.sha256} (prompt) has been changed`,
    );
  });

  test("an artifact file removed", async () => {
    const ref = (trail[4]!.payload as { artifacts: Array<{ sha256: string }> }).artifacts[0]!;
    store = createTempArtifactStore();
    const { code, output } = await verify();
    expect(code).toBe(1);
    expect(output).toContain(`record 5: artifact ${ref.sha256} (prompt) is missing from the artifact store`);
  });

  test("a record altered after a checkpoint: the checkpoint's seq is named even if the whole chain was recomputed", async () => {
    await createCheckpoint(database.sql, signer, new Date("2026-11-20T13:00:00.000Z"));
    // The forger rewrites record 3 and recomputes every hash after it, so the chain alone looks fine.
    let prevHash = trail[1]!.hash;
    for (const record of trail.slice(2)) {
      const body = record.seq === 3 ? { ...record, actor: "mallory" } : record;
      const hash = computeRecordHash(prevHash, body);
      await tamper(
        "update compliance_records set actor = $1, prev_hash = $2, hash = $3 where seq = $4",
        body.actor,
        prevHash,
        hash,
        record.seq,
      );
      prevHash = hash;
    }
    const { code, output } = await verify("--json");
    expect(code).toBe(1);
    expect(JSON.parse(output).failure).toEqual({
      seq: 8,
      problem: `record 8 has hash ${prevHash}, but the checkpoint signed at 2026-11-20T13:00:00.000Z says ${trail[7]!.hash}: the chain was rewritten after the checkpoint`,
    });
  });

  test("the newest records removed after a checkpoint", async () => {
    await createCheckpoint(database.sql, signer, new Date("2026-11-20T13:00:00.000Z"));
    await tamper("delete from compliance_records where seq >= 7");
    const { code, output } = await verify("--json");
    expect(code).toBe(1);
    expect(JSON.parse(output).failure.seq).toBe(8);
    expect(JSON.parse(output).failure.problem).toContain("but the chain ends at seq 6: records after 6 were removed");
  });

  test("a checkpoint edited, or signed by an unknown key", async () => {
    await insertCheckpoint(database.sql, {
      ...signCheckpoint({ seq: 4, hash: trail[3]!.hash, time: "2026-11-20T13:00:00.000Z" }, signer),
      time: "2026-11-20T13:00:00.001Z",
    });
    expect(JSON.parse((await verify("--json")).output).failure).toEqual({
      seq: 4,
      problem: "checkpoint at seq 4 has an invalid signature: its seq, hash or time were changed after it was signed",
    });

    await resetComplianceTables(database.sql);
    trail = await seedTrail(database.sql, store);
    const stranger = loadCheckpointSigner(generateCheckpointKeyPair().privateKeyPem);
    await insertCheckpoint(
      database.sql,
      signCheckpoint({ seq: 2, hash: trail[1]!.hash, time: "2026-11-20T13:00:00.000Z" }, stranger),
    );
    const { code, output } = await verify();
    expect(code).toBe(1);
    expect(output).toContain(
      `record 2: checkpoint at seq 2 was signed by key ${stranger.keyId}, which is not among the configured public keys`,
    );
  });

  test("a malformed artifacts field", async () => {
    await tamper(`update compliance_records set payload = '{"artifacts": "nope"}' where seq = 5`);
    expect(JSON.parse((await verify("--json")).output).failure.seq).toBe(5);
  });
});

describe("foreman verify --task", () => {
  test("a task's records are checked against the chain they are a subset of", async () => {
    expect(await verify("--task", MERGED_TASK)).toEqual({
      code: 0,
      output: `Task ${MERGED_TASK}: OK (6 record(s), 1 artifact(s) checked)`,
    });
    expect(await verify("--task", OTHER_TASK)).toEqual({
      code: 0,
      output: `Task ${OTHER_TASK}: OK (1 record(s), 0 artifact(s) checked)`,
    });
  });

  test("a record of another task removed from the chain breaks the link of the next record of this task", async () => {
    await tamper("delete from compliance_records where seq = 3");
    const { code, output } = await verify("--task", MERGED_TASK);
    expect(code).toBe(1);
    expect(output).toBe(
      `Task ${MERGED_TASK}: BROKEN at record 4\n  record 4: record 3, which record 4 follows, is missing from the chain`,
    );
  });

  test("a changed record and a changed predecessor are named", async () => {
    await tamper(`update compliance_records set actor = 'mallory' where seq = 6`);
    expect((await verify("--task", MERGED_TASK)).output).toContain("record 6: stored hash");
    await resetComplianceTables(database.sql);
    trail = await seedTrail(database.sql, store);
    await tamper(`update compliance_records set hash = $1 where seq = 3`, "f".repeat(64));
    expect((await verify("--task", MERGED_TASK)).output).toContain(
      `record 4: prev_hash ${trail[2]!.hash} is not the hash of record 3 (${"f".repeat(64)})`,
    );
  });
});

describe("foreman verify --coverage", () => {
  test("100% when every merged task has the expected records; below that, exit 1 listing the gaps", async () => {
    // The seeded merged task lacks the merge's approvals and commit until they are recorded.
    expect(await verify("--coverage")).toEqual({
      code: 1,
      output: `Evidence coverage of merged tasks: 0% (0 of 1)\n  acme/api#7 (task ${MERGED_TASK}): missing effect.record_merge`,
    });
    await appendComplianceRecords(database.sql, [
      {
        taskId: MERGED_TASK,
        kind: "effect.record_merge",
        actor: "foreman[app]",
        payload: { prNumber: 107, mergeCommitSha: "d".repeat(40), approvals: [{ login: "mona", state: "APPROVED" }] },
        createdAt: new Date(),
      },
    ]);
    expect(await verify("--coverage")).toEqual({ code: 0, output: "Evidence coverage of merged tasks: 100% (1 of 1)" });
    await insertTask(database.sql, "00000000-0000-4000-8000-0000000000c3", "merged", 9);
    const { code, output } = await verify("--coverage");
    expect(code).toBe(1);
    expect(output).toBe(
      "Evidence coverage of merged tasks: 50% (1 of 2)\n  acme/api#9 (task 00000000-0000-4000-8000-0000000000c3): missing effect.open_draft_pr, task.transition to merged, effect.record_merge",
    );
    expect(JSON.parse((await verify("--coverage", "--json")).output)).toMatchObject({
      merged: 2,
      covered: 1,
      percent: 50,
    });
  });
});

describe("usage", () => {
  test.each([
    [["--bogus"], "Unknown option '--bogus'"],
    [["--task", "12"], '--task needs a task id (a UUID), not "12"'],
    [["--task", MERGED_TASK, "--coverage"], "--task and --coverage are separate checks"],
    [["--page-size", "0"], "--page-size must be a positive whole number"],
    [
      ["--task", "00000000-0000-4000-8000-00000000ffff"],
      "there is no task 00000000-0000-4000-8000-00000000ffff and no record for it",
    ],
  ])("%j → exit 2", async (args, message) => {
    const { code, output } = await verify(...args);
    expect(code).toBe(2);
    expect(output).toContain(message);
    expect(output).toContain("Usage: foreman verify");
  });

  test("the verifying key comes from CHECKPOINT_PUBLIC_KEY, else from the signing key, else none", () => {
    expect([
      ...resolveVerifyingKeys({ CHECKPOINT_PUBLIC_KEY: keys.publicKeyPem, CHECKPOINT_SIGNING_KEY: undefined })!.keys(),
    ]).toEqual([keys.keyId]);
    expect([
      ...resolveVerifyingKeys({ CHECKPOINT_PUBLIC_KEY: undefined, CHECKPOINT_SIGNING_KEY: keys.privateKeyPem })!.keys(),
    ]).toEqual([keys.keyId]);
    expect(resolveVerifyingKeys({ CHECKPOINT_PUBLIC_KEY: undefined, CHECKPOINT_SIGNING_KEY: undefined })).toBeNull();
  });

  test("without keys or a store, verify still checks the chain and says what it did not check", async () => {
    await createCheckpoint(database.sql, signer, new Date("2026-11-20T13:00:00.000Z"));
    let output = "";
    const code = await runVerifyCommand([], {
      sql: database.sql,
      artifacts: null,
      publicKeys: null,
      out: (text) => (output = text),
    });
    expect(code).toBe(0);
    expect(output).toContain("artifacts    not checked");
    expect(output).toContain("warning: checkpoint signatures were not checked");
    expect(output).toContain("warning: artifacts were not checked: no artifact store");
  });
});

describe("checkpoints in the database", () => {
  test("a checkpoint is made only when the head moved; the table refuses UPDATE, DELETE and TRUNCATE", async () => {
    const first = await createCheckpoint(database.sql, signer, new Date("2026-11-20T13:00:00.000Z"));
    expect(first).toMatchObject({ seq: 8, hash: trail[7]!.hash, time: "2026-11-20T13:00:00.000Z", keyId: keys.keyId });
    expect(await createCheckpoint(database.sql, signer, new Date("2026-11-20T14:00:00.000Z"))).toBeNull();
    for (const [operation, statement] of [
      ["UPDATE", "update compliance_checkpoints set hash = 'x'"],
      ["DELETE", "delete from compliance_checkpoints"],
      ["TRUNCATE", "truncate compliance_checkpoints"],
    ]) {
      await expect(database.sql.unsafe(statement!)).rejects.toThrow(
        `compliance_checkpoints is append-only: ${operation} is not allowed`,
      );
    }
    expect(GENESIS_HASH).toBe(trail[0]!.prevHash);
  });

  test("foreman checkpoint signs the head now, and needs a signing key", async () => {
    let output = "";
    const out = (text: string) => (output = text);
    expect(await runCheckpointCommand(parseEnv({}), database.sql, out)).toBe(2);
    expect(output).toContain("CHECKPOINT_SIGNING_KEY is not set");
    const env = parseEnv({ CHECKPOINT_SIGNING_KEY: keys.privateKeyPem });
    expect(await runCheckpointCommand(env, database.sql, out, new Date("2026-11-20T13:00:00.000Z"))).toBe(0);
    expect(output).toBe(`Checkpoint at seq 8: ${trail[7]!.hash} (key ${keys.keyId}, 2026-11-20T13:00:00.000Z)`);
    expect(await runCheckpointCommand(env, database.sql, out)).toBe(0);
    expect(output).toBe("No new checkpoint: the chain is empty or has not moved since the last one.");
  });
});
