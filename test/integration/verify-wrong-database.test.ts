import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { expect, inject, test } from "vitest";
import { CommandError } from "../../src/cli/command-error.js";
import { openDatabaseWithoutMigrating } from "../../src/cli/open-database-without-migrating.js";
import { buildTestEnv } from "../helpers/test-foreman.js";

test("foreman verify pointed at a database without Foreman's tables says so instead of failing obscurely", async () => {
  const adminUrl = inject("adminDatabaseUrl");
  const name = `foreman_empty_${randomBytes(4).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const attempt = openDatabaseWithoutMigrating({ ...buildTestEnv(), DATABASE_URL: url.toString() });
    await expect(attempt).rejects.toThrow(CommandError);
    await expect(attempt).rejects.toThrow(
      "The database at DATABASE_URL has no Foreman compliance tables. Point DATABASE_URL at Foreman's database (or run `foreman migrate` first if this is a new one).",
    );
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
});
