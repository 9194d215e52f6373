import { expect } from "vitest";
import { runVerifyCommand } from "../../src/cli/verify.js";
import type { SqlClient } from "../../src/db/client.js";

/** `foreman verify` on the database's chain exits 0 (its output is shown when it does not). */
export async function expectChainVerifies(sql: SqlClient): Promise<void> {
  let output = "";
  const code = await runVerifyCommand([], { sql, artifacts: null, publicKeys: null, out: (text) => (output += text) });
  expect({ code, output }).toMatchObject({ code: 0 });
}
