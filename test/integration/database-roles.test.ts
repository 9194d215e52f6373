import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import postgres from "postgres";
import { afterAll, describe, expect, inject, test } from "vitest";
import { verifyDatabase } from "../../src/compliance/verify-database.js";
import { openDatabase, type Database } from "../../src/db/client.js";
import { runMigrations } from "../../src/db/migrate.js";
import { appendComplianceRecords } from "../../src/db/queries/append-compliance-record.js";
import { insertArtifact } from "../../src/db/queries/insert-artifact.js";
import { insertOutboundHook } from "../../src/db/queries/insert-outbound-hook.js";

// Runs deploy/postgres/*.sql as docs/compliance.md tells operators to, with unique names, so the
// documented GRANT/REVOKE statements are the ones proven here.
const suffix = randomBytes(4).toString("hex");
const names = { owner: `foreman_owner_${suffix}`, app: `foreman_app_${suffix}`, database: `foreman_roles_${suffix}` };
const passwords = { owner: randomBytes(12).toString("hex"), app: randomBytes(12).toString("hex") };
const adminUrl = inject("adminDatabaseUrl");
const opened: Database[] = [];

function renamed(sql: string): string {
  return sql
    .replaceAll("foreman_owner", names.owner)
    .replaceAll("foreman_app", names.app)
    .replace(/DATABASE foreman\b/g, `DATABASE ${names.database}`);
}

/** The statements of a script (comments removed), in order. */
async function readStatements(file: string): Promise<string[]> {
  const text = await readFile(new URL(`../../deploy/postgres/${file}`, import.meta.url), "utf8");
  return renamed(text.replace(/--.*$/gm, ""))
    .split(";")
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0);
}

function connect(role: "owner" | "app"): Database {
  const url = new URL(adminUrl);
  url.username = names[role];
  url.password = passwords[role];
  url.pathname = `/${names.database}`;
  const database = openDatabase(url.toString(), { max: 2 });
  opened.push(database);
  return database;
}

afterAll(async () => {
  await Promise.all(opened.map((database) => database.close()));
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${names.database} with (force)`);
  await admin.unsafe(`drop role if exists ${names.app}`);
  await admin.unsafe(`drop role if exists ${names.owner}`);
  await admin.end();
});

describe("the app on a role with only INSERT and SELECT on the evidence", () => {
  test("migrations run as the owner; the app starts, appends and reads, and cannot change or remove evidence", async () => {
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      for (const statement of await readStatements("create-roles.sql")) await admin.unsafe(statement);
      await admin.unsafe(`alter role ${names.owner} password '${passwords.owner}'`);
      await admin.unsafe(`alter role ${names.app} password '${passwords.app}'`);
    } finally {
      await admin.end();
    }

    const owner = connect("owner");
    await runMigrations(owner);
    for (const statement of await readStatements("grant-app-role.sql")) await owner.sql.unsafe(statement);

    const app = connect("app");
    await runMigrations(app); // what every `foreman serve` start does: nothing pending, so it passes
    const [record] = await appendComplianceRecords(app.sql, [
      {
        taskId: null,
        kind: "test.append",
        actor: "app",
        payload: { ok: true },
        createdAt: new Date("2026-11-20T12:00:00.000Z"),
      },
    ]);
    await insertArtifact(app.sql, { sha256: "a".repeat(64), kind: "log", size: 1 });
    await insertArtifact(app.sql, { sha256: "a".repeat(64), kind: "log", size: 1 }); // on conflict do nothing needs INSERT only
    await insertOutboundHook(app.sql, {
      kind: "change",
      idempotencyKey: "k",
      taskId: null,
      body: null,
      nextAt: new Date("2026-11-20T12:00:00.000Z"),
    });
    await app.sql`update outbound_hooks set attempts = 1`;
    await app.sql`insert into compliance_checkpoints (seq, hash, time, signature, key_id) values (1, ${record!.hash}, 'now', 'sig', 'key')`;

    for (const statement of [
      "update compliance_records set actor = 'mallory'",
      "delete from compliance_records",
      "truncate compliance_records",
      "update compliance_checkpoints set hash = 'x'",
      "delete from compliance_checkpoints",
      "delete from artifacts",
      "alter table compliance_records disable trigger all",
      "set session_replication_role = replica",
    ]) {
      await expect(app.sql.unsafe(statement), statement).rejects.toMatchObject({ code: "42501" });
    }
    expect(await verifyDatabase(app.sql, { artifacts: null, publicKeys: null })).toMatchObject({
      ok: true,
      records: 1,
    });
  });
});
