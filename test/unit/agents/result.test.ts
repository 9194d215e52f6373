import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildResultFromOutput, readResult } from "../../../src/agents/result.js";

let outDir: string;

beforeEach(async () => {
  outDir = await mkdtemp(join(tmpdir(), "foreman-result-"));
});

afterEach(async () => {
  await rm(outDir, { recursive: true, force: true });
});

describe("readResult", () => {
  it("parses a complete result and drops unknown fields", async () => {
    const result = {
      status: "success",
      summary: "Fixed the off-by-one in pagination.",
      title: "Fix pagination",
      body: "Details",
      review: { body: "Looks fine", comments: [{ path: "src/a.ts", line: 3, body: "nit" }] },
      model: "claude-sonnet-4",
      usage: { inputTokens: 1200, outputTokens: 300, costUsd: 0.02 },
      extra: "ignored",
    };
    await writeFile(join(outDir, "result.json"), JSON.stringify(result));
    const { extra: _extra, ...expected } = result;
    expect(await readResult(outDir)).toEqual({ ok: true, result: expected });
  });

  it("says the file is missing", async () => {
    expect(await readResult(outDir)).toEqual({
      ok: false,
      code: "RESULT_MISSING",
      reason: "missing",
      message: "The agent exited without writing /foreman/out/result.json.",
    });
  });

  it("says the JSON is invalid", async () => {
    await writeFile(join(outDir, "result.json"), "{ status: success");
    expect(await readResult(outDir)).toMatchObject({ ok: false, code: "RESULT_INVALID", reason: "invalid_json" });
  });

  it("names each schema mismatch", async () => {
    await writeFile(join(outDir, "result.json"), JSON.stringify({ status: "done", usage: { inputTokens: -1 } }));
    expect(await readResult(outDir)).toEqual({
      ok: false,
      code: "RESULT_INVALID",
      reason: "schema_mismatch",
      message:
        '/foreman/out/result.json does not match the result schema: status: Invalid option: expected one of "success"|"failure"|"needs_changes"; ' +
        "summary: Invalid input: expected string, received undefined; usage.inputTokens: Too small: expected number to be >=0.",
    });
  });

  it("refuses a file over the cap without reading it", async () => {
    await writeFile(join(outDir, "result.json"), JSON.stringify({ status: "success", summary: "x".repeat(200) }));
    expect(await readResult(outDir, { maxBytes: 100 })).toEqual({
      ok: false,
      code: "RESULT_INVALID",
      reason: "too_large",
      message: "/foreman/out/result.json is 233 bytes; the limit is 100 bytes.",
    });
  });

  it("does not follow a symlink the agent planted (it could point at a host file)", async () => {
    const secret = join(outDir, "..", `host-secret-${Date.now()}.json`);
    await writeFile(secret, JSON.stringify({ status: "success", summary: "host file" }));
    await symlink(secret, join(outDir, "result.json"));
    try {
      expect(await readResult(outDir)).toMatchObject({ ok: false, code: "RESULT_INVALID", reason: "not_a_file" });
    } finally {
      await rm(secret);
    }
  });

  it("does not hang on a FIFO or read a directory", async () => {
    execFileSync("mkfifo", [join(outDir, "result.json")]);
    expect(await readResult(outDir)).toMatchObject({ ok: false, reason: "not_a_file" });
    await rm(join(outDir, "result.json"));
    await mkdir(join(outDir, "result.json"));
    expect(await readResult(outDir)).toMatchObject({ ok: false, reason: "not_a_file" });
  });
});

describe("buildResultFromOutput", () => {
  it("uses the CLI's output as the summary, keeping the end when it is long", () => {
    expect(buildResultFromOutput("  Done: fixed it.\n")).toEqual({ status: "success", summary: "Done: fixed it." });
    expect(buildResultFromOutput("abcdefghij", 4)).toEqual({ status: "success", summary: "…ghij" });
    expect(buildResultFromOutput("   ")).toEqual({
      status: "success",
      summary: "The agent finished without a summary.",
    });
  });
});
