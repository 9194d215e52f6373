import { randomUUID } from "node:crypto";
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import type { SqlClient } from "../db/client.js";
import { appendComplianceRecords } from "../db/queries/append-compliance-record.js";
import { insertApiToken } from "../db/queries/insert-api-token.js";
import { listApiTokens } from "../db/queries/list-api-tokens.js";
import { revokeApiToken } from "../db/queries/revoke-api-token.js";
import { withTransaction } from "../db/with-transaction.js";
import { ApiRole, generateApiToken, hashApiToken, isApiRole } from "../http/api-tokens.js";

const USAGE = `Usage:
  foreman tokens create --name <name> --role <admin|operator|auditor|viewer>
  foreman tokens list
  foreman tokens revoke <id>`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What the tokens command uses. */
export interface TokensCommandDeps {
  sql: SqlClient;
  out: (text: string) => void;
  now?: () => Date;
  /** Who runs the command, for the compliance record (default `cli:<OS user>`). */
  actor?: string;
}

/** `foreman tokens create|list|revoke`: manage API tokens. Creating and revoking are compliance records. */
export async function runTokensCommand(args: readonly string[], deps: TokensCommandDeps): Promise<number> {
  const [action, ...rest] = args;
  const now = (deps.now ?? (() => new Date()))();
  const actor = deps.actor ?? describeOperator();
  try {
    if (action === "create") return await createToken(rest, deps, now, actor);
    if (action === "list" && rest.length === 0) return await printTokens(deps);
    if (action === "revoke" && rest.length === 1) return await revokeToken(rest[0]!, deps, now, actor);
  } catch (error) {
    if (!isUsageError(error)) throw error;
    deps.out(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  deps.out(USAGE);
  return 2;
}

class UsageError extends Error {}

function isUsageError(error: unknown): error is Error {
  return error instanceof UsageError || String((error as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS");
}

async function createToken(
  args: readonly string[],
  deps: TokensCommandDeps,
  now: Date,
  actor: string,
): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { name: { type: "string" }, role: { type: "string" } },
    strict: true,
  });
  const name = values.name?.trim() ?? "";
  if (name.length === 0 || name.length > 100)
    throw new UsageError("--name is required (1-100 characters): who or what uses the token");
  if (!isApiRole(values.role)) throw new UsageError(`--role must be one of ${Object.values(ApiRole).join(", ")}`);
  const token = generateApiToken();
  const id = randomUUID();
  await withTransaction(deps.sql, async (tx) => {
    await insertApiToken(tx, { id, name, role: values.role!, tokenSha256: hashApiToken(token) });
    await appendComplianceRecords(tx, [
      {
        taskId: null,
        kind: "api_token.created",
        actor,
        payload: { tokenId: id, name, role: values.role },
        createdAt: now,
      },
    ]);
  });
  deps.out(
    `Created token ${id} "${name}" (${values.role}). It is shown only this once; Foreman keeps only its hash:\n\n${token}\n\nUse it as: Authorization: Bearer ${token.slice(0, 8)}…`,
  );
  return 0;
}

async function printTokens(deps: TokensCommandDeps): Promise<number> {
  const tokens = await listApiTokens(deps.sql);
  if (tokens.length === 0) {
    deps.out("No API tokens. Create one with: foreman tokens create --name <name> --role auditor");
    return 0;
  }
  const lines = tokens.map((token) =>
    [
      token.id,
      token.role.padEnd(8),
      token.createdAt,
      token.revokedAt ? `revoked ${token.revokedAt}` : "active".padEnd(28),
      token.name,
    ].join("  "),
  );
  deps.out([`${"id".padEnd(36)}  role      created               status${" ".repeat(24)}name`, ...lines].join("\n"));
  return 0;
}

async function revokeToken(id: string, deps: TokensCommandDeps, now: Date, actor: string): Promise<number> {
  if (!UUID.test(id)) throw new UsageError(`"${id}" is not a token id; \`foreman tokens list\` shows them`);
  const revoked = await withTransaction(deps.sql, async (tx) => {
    const row = await revokeApiToken(tx, id, now.toISOString());
    if (row)
      await appendComplianceRecords(tx, [
        {
          taskId: null,
          kind: "api_token.revoked",
          actor,
          payload: { tokenId: id, name: row.name, role: row.role },
          createdAt: now,
        },
      ]);
    return row;
  });
  if (!revoked) {
    deps.out(`No active token has the id ${id} (already revoked, or never existed).`);
    return 1;
  }
  deps.out(`Revoked token ${id} "${revoked.name}" (${revoked.role}). Requests with it now get 401.`);
  return 0;
}

function describeOperator(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return "cli";
  }
}
