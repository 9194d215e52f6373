import type { PromptContext } from "../../../src/prompts/prompt-context.js";

/** A small, realistic prompt context for tests; override any field. */
export function buildPromptContext(overrides: Partial<PromptContext> = {}): PromptContext {
  return {
    repo: { owner: "acme", name: "widgets", defaultBranch: "main" },
    issue: {
      number: 42,
      title: "Parser drops the last line when input doesn't end with a newline",
      body: "Steps: `parse(\"a\\nb\")` returns `['a']`.\n\nExpected `['a', 'b']` & no crash on <empty> input.",
      author: "octocat",
      labels: ["bug", "agent:bugfix"],
    },
    comments: [
      {
        author: "hubot",
        association: "MEMBER",
        body: "Also happens with CRLF input.",
        createdAt: "2025-01-02T03:04:05Z",
      },
    ],
    taskType: "bugfix",
    role: "coder",
    attempt: 1,
    branch: "agent/42-parser-drops-the-last-line",
    guidance: [{ path: "AGENTS.md", content: "Run `npm test`. Use named exports." }],
    fileTree: ["src/parse.ts", "test/parse.test.ts", "package.json", "README.md"],
    constraints: { protectedPaths: [".github/workflows/**"], maxFiles: 20, maxChangedLines: 500 },
    ...overrides,
  };
}
