/**
 * What the secret scan and the redactor cost on the largest inputs they take: a 10 MiB binary
 * (random bytes, and mostly readable text with a NUL) through the guardrails, and a 3 MiB line of
 * base64 (of readable text) through the guardrails and through the redactor, and lines crafted to
 * make a pattern backtrack. Prints seconds per
 * case next to its target.
 *
 *   npx tsx bench/secret-scan/run.ts
 *
 * Asserts nothing.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { FileChange } from "../../src/agents/changes.js";
import { checkChanges, DEFAULT_GUARDRAIL_RULES } from "../../src/agents/guardrails.js";
import { buildRedactor } from "../../src/logging/redact.js";

const MiB = 1024 * 1024;
const TARGET_SECONDS = 2;

function binary(content: Buffer): FileChange {
  return {
    path: "blob.bin",
    status: "added",
    mode: "100644",
    content,
    binary: true,
    addedLines: 0,
    deletedLines: 0,
    addedText: [],
  };
}

function line(text: string): FileChange {
  return {
    path: "data.txt",
    status: "added",
    mode: "100644",
    content: Buffer.from(text),
    binary: false,
    addedLines: 1,
    deletedLines: 0,
    addedText: [{ lineNumber: 1, text }],
  };
}

function measure(name: string, run: () => unknown): void {
  const started = performance.now();
  const result = run();
  const seconds = (performance.now() - started) / 1000;
  const verdict = typeof result === "string" ? `${result.length} chars out` : JSON.stringify(result).slice(0, 60);
  console.log(`${name.padEnd(46)} ${seconds.toFixed(2)} s (target < ${TARGET_SECONDS} s)  ${verdict}`);
}

function main(): void {
  const rules = { ...DEFAULT_GUARDRAIL_RULES, forwardedSecrets: { ANTHROPIC_API_KEY: "sk-ant-bench-secret-value" } };
  const random = randomBytes(10 * MiB);
  const text = Buffer.from("const answer = 42; // an ordinary line of code\n".repeat((10 * MiB) / 47));
  text[1000] = 0;
  const readable = "The quick brown fox jumps over the lazy dog, again and again. ".repeat((2.25 * MiB) / 62);
  const base64Line = Buffer.from(readable).toString("base64");
  console.log(`base64 line: ${(base64Line.length / MiB).toFixed(2)} MiB`);
  measure("guardrails: 10 MiB binary, random bytes", () => checkChanges([binary(random)], rules));
  measure("guardrails: 10 MiB binary, readable text + NUL", () => checkChanges([binary(text)], rules));
  measure("guardrails: 3 MiB base64 line", () => checkChanges([line(base64Line)], rules));
  // Crafted to make a careless pattern backtrack: a key word or a word boundary every few characters.
  measure('guardrails: 3 MiB line of "a.a.a."', () => checkChanges([line("a.".repeat(1.5 * MiB))], rules));
  measure('guardrails: 3 MiB line of "token.token."', () => checkChanges([line("token.".repeat(MiB / 2))], rules));
  const redact = buildRedactor(["sk-ant-bench-secret-value"]);
  measure("redactor: 3 MiB base64 line", () => redact(base64Line));
  measure("redactor: 10 MiB binary as latin1 text", () => redact(random.toString("latin1")));
}

main();
