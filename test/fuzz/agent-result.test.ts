import fc from "fast-check";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { AgentResult } from "../../src/agents/agent-result.js";
import { buildResultFromOutput, readResult, type ReadResultOutcome } from "../../src/agents/result.js";
import { applyJsonMutations, checkAsyncProperty, checkProperty, jsonMutations } from "./fuzz-settings.js";

// The agent writes /foreman/out/result.json: any bytes, any JSON, any kind of file. Reading it
// gives a result the schema accepts, or a refusal with a code and a message; never a throw.

const root = mkdtempSync(join(tmpdir(), "foreman-fuzz-result-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let runs = 0;

/** A fresh out directory for one case. */
function makeOutDir(): string {
  const dir = join(root, String((runs += 1)));
  mkdirSync(dir);
  return dir;
}

const VALID_RESULT = {
  status: "needs_changes",
  summary: "Reviewed the change.",
  title: "Fix the parser",
  body: "Details.",
  review: { body: "Two problems.", comments: [{ path: "src/parse.ts", line: 3, body: "Off by one." }] },
  model: "script-1",
  usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.01 },
};

function expectResultOrRefusal(outcome: ReadResultOutcome): void {
  if (outcome.ok) {
    expect(AgentResult.safeParse(outcome.result).success).toBe(true);
    return;
  }
  expect(["RESULT_MISSING", "RESULT_INVALID"]).toContain(outcome.code);
  expect(["missing", "not_a_file", "too_large", "invalid_json", "schema_mismatch"]).toContain(outcome.reason);
  expect(outcome.message).toContain("/foreman/out/result.json");
}

async function readBytes(content: Uint8Array | string, maxBytes?: number): Promise<ReadResultOutcome> {
  const dir = makeOutDir();
  writeFileSync(join(dir, "result.json"), content);
  return readResult(dir, maxBytes === undefined ? {} : { maxBytes });
}

describe("readResult on arbitrary result.json files", () => {
  test("the valid example is read (the mutations below start from it)", async () => {
    expect(await readBytes(JSON.stringify(VALID_RESULT))).toEqual({ ok: true, result: VALID_RESULT });
  });

  test("arbitrary bytes are a result or a refusal", async () => {
    await checkAsyncProperty(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.option(fc.nat({ max: 700 })), async (bytes, maxBytes) => {
        expectResultOrRefusal(await readBytes(bytes, maxBytes ?? undefined));
      }),
      150,
    );
  });

  test("arbitrary JSON, and arbitrary text, are a result or a refusal", async () => {
    await checkAsyncProperty(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 5 }).map((value) => JSON.stringify(value)),
          fc.string({ unit: "binary", maxLength: 300 }),
          fc.json({ maxDepth: 3 }).map((text) => `\ufeff${text}`),
        ),
        async (text) => {
          expectResultOrRefusal(await readBytes(text));
        },
      ),
      150,
    );
  });

  test("the valid example with fields dropped or replaced by arbitrary values is a result or a refusal", async () => {
    await checkAsyncProperty(
      fc.asyncProperty(jsonMutations, async (mutations) => {
        const outcome = await readBytes(JSON.stringify(applyJsonMutations(VALID_RESULT, mutations)));
        expectResultOrRefusal(outcome);
      }),
      200,
    );
  });

  test.each(["directory", "symlink", "symlink-chain", "dangling", "fifo", "absent"] as const)(
    "a result.json that is not a regular file (%s) is refused, not followed or waited on",
    async (kind) => {
      const dir = makeOutDir();
      const target = join(dir, "result.json");
      writeFileSync(join(dir, "real.json"), JSON.stringify(VALID_RESULT));
      if (kind === "directory") mkdirSync(target);
      if (kind === "symlink") symlinkSync(join(dir, "real.json"), target);
      if (kind === "symlink-chain") {
        symlinkSync(join(dir, "real.json"), join(dir, "link-1"));
        symlinkSync(join(dir, "link-1"), target);
      }
      if (kind === "dangling") symlinkSync(join(dir, "nowhere"), target);
      if (kind === "fifo") execFileSync("mkfifo", [target]);
      const outcome = await readResult(dir);
      expectResultOrRefusal(outcome);
      expect(outcome.ok || outcome.reason).toBe(kind === "absent" ? "missing" : "not_a_file");
    },
  );
});

describe("buildResultFromOutput on arbitrary CLI output", () => {
  test("any output is a result the schema accepts", () => {
    checkProperty(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), fc.integer({ min: 1, max: 500 }), (output, max) => {
        expect(AgentResult.safeParse(buildResultFromOutput(output, max)).success).toBe(true);
      }),
      300,
    );
  });
});
