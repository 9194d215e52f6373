import Handlebars from "handlebars";
import { describe, expect, test } from "vitest";
import {
  applyTemplateOverrides,
  findPromptsDirectory,
  loadBuiltinTemplates,
  loadTemplates,
  type LoadTemplatesResult,
} from "../../../src/prompts/load-templates.js";
import type { PromptTemplates } from "../../../src/prompts/prompt-templates.js";
import { renderPrompt, type RenderPromptResult } from "../../../src/prompts/render-prompt.js";
import { buildPromptContext } from "./build-prompt-context.js";

function expectTemplates(result: LoadTemplatesResult): PromptTemplates {
  if (!result.ok) throw new Error(`templates failed to load: ${JSON.stringify(result.errors)}`);
  return result.templates;
}

function expectText(result: RenderPromptResult): string {
  if (!result.ok) throw new Error(`prompt failed to render: ${JSON.stringify(result.error)}`);
  return result.text;
}

describe("loadTemplates", () => {
  test("loads every built-in role, task and partial", async () => {
    const templates = expectTemplates(await loadTemplates());
    expect(Object.keys(templates.sources)).toEqual([
      "partials/constraints.hbs",
      "partials/file-tree.hbs",
      "partials/issue-thread.hbs",
      "partials/output-contract.hbs",
      "partials/repo-guidance.hbs",
      "roles/ci_fixer.md.hbs",
      "roles/coder.md.hbs",
      "roles/planner.md.hbs",
      "roles/reviewer.md.hbs",
      "roles/scribe.md.hbs",
      "roles/security.md.hbs",
      "roles/test_author.md.hbs",
      "tasks/bugfix.md.hbs",
      "tasks/docs.md.hbs",
      "tasks/feature.md.hbs",
      "tasks/ready.md.hbs",
      "tasks/refactor.md.hbs",
    ]);
    expect(templates.overridden).toEqual([]);
  });

  test("a repo template replaces the built-in of the same key", async () => {
    const templates = expectTemplates(
      await loadTemplates({
        "roles/coder.md.hbs": "# Role: Coder (acme house rules)\n\nFix #{{issue.number}} & don't touch `vendor/`.",
      }),
    );
    expect(templates.overridden).toEqual(["roles/coder.md.hbs"]);
    const text = expectText(renderPrompt(templates, buildPromptContext()));
    expect(
      text.startsWith("# Role: Coder (acme house rules)\n\nFix #42 & don't touch `vendor/`.\n\n## Task: Bug fix"),
    ).toBe(true);
    expect(text).not.toContain("Implement the plan below");
  });

  test("a repo can add a partial and use it from an overridden template", async () => {
    const templates = expectTemplates(
      await loadTemplates({
        "partials/house-style.hbs": "Use tabs, not spaces.",
        "tasks/bugfix.md.hbs": "## Task: Bug fix\n\n{{> house-style}}",
      }),
    );
    const rendered = renderPrompt(templates, buildPromptContext());
    expect(expectText(rendered)).toContain("## Task: Bug fix\n\nUse tabs, not spaces.\n\n## Issue #42");
    expect(rendered.ok && rendered.templateNames).toContain("partials/house-style.hbs");
  });

  test("a repo template that does not compile gives an error naming the file, not a crash", async () => {
    const result = await loadTemplates({ "roles/coder.md.hbs": "# Coder\n\n{{#each comments}}\n{{body}}\n" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({
      code: "PROMPT_TEMPLATE_INVALID",
      key: "roles/coder.md.hbs",
      file: ".github/foreman/prompts/roles/coder.md.hbs",
    });
    expect(result.errors[0]?.message).toMatch(
      /^\.github\/foreman\/prompts\/roles\/coder\.md\.hbs does not compile: Parse error on line 5:\n/,
    );
  });

  test("reports every broken template at once", () => {
    const result = applyTemplateOverrides(
      { "roles/coder.md.hbs": "ok" },
      { "partials/a.hbs": "{{#if x}}", "partials/b.hbs": "{{/if}}", "../secrets.hbs": "x" },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((error) => error.file)).toEqual([
      ".github/foreman/prompts/../secrets.hbs",
      ".github/foreman/prompts/partials/a.hbs",
      ".github/foreman/prompts/partials/b.hbs",
    ]);
    expect(result.errors[0]?.message).toContain("is not a prompt template");
  });

  test("refuses a repo template that is too large", () => {
    const result = applyTemplateOverrides({}, { "partials/big.hbs": "x".repeat(64_001) });
    expect(result.ok || result.errors[0]?.message).toBe(
      ".github/foreman/prompts/partials/big.hbs is 64001 characters; the limit is 64000.",
    );
  });

  test("a repo template that fails while rendering gives an error value naming the file", async () => {
    const templates = expectTemplates(await loadTemplates({ "tasks/bugfix.md.hbs": "{{> no-such-partial}}" }));
    const result = renderPrompt(templates, buildPromptContext());
    expect(result).toEqual({
      ok: false,
      error: {
        code: "PROMPT_RENDER_FAILED",
        key: "tasks/bugfix.md.hbs",
        file: ".github/foreman/prompts/tasks/bugfix.md.hbs",
        message:
          ".github/foreman/prompts/tasks/bugfix.md.hbs failed to render: The partial no-such-partial could not be found",
      },
    });
  });

  test("a self-recursive repo partial is an error value, not a crash", async () => {
    const templates = expectTemplates(await loadTemplates({ "partials/constraints.hbs": "{{> constraints}}" }));
    const result = renderPrompt(templates, buildPromptContext());
    expect(result.ok || result.error.file).toBe(".github/foreman/prompts/partials/constraints.hbs");
  });

  test("repo templates never touch the global Handlebars environment", async () => {
    const templates = expectTemplates(await loadTemplates({ "partials/constraints.hbs": "Anything goes." }));
    expectText(renderPrompt(templates, buildPromptContext()));
    expect(Handlebars.partials).not.toHaveProperty("constraints");
    expect(Handlebars.helpers).not.toHaveProperty("fence");
  });

  test("repo templates render values unescaped (Markdown, not HTML)", async () => {
    const templates = expectTemplates(
      await loadTemplates({ "tasks/bugfix.md.hbs": "Title: {{issue.title}} / {{issue.body}}" }),
    );
    const text = expectText(
      renderPrompt(
        templates,
        buildPromptContext({ issue: { ...buildPromptContext().issue, title: `a & b < c "d" 'e'`, body: "`x` = <y>" } }),
      ),
    );
    expect(text).toContain(`Title: a & b < c "d" 'e' / \`x\` = <y>`);
  });
});

describe("findPromptsDirectory", () => {
  test("finds prompts/ from src/ and from dist/ alike", async () => {
    const fromSource = findPromptsDirectory(new URL("../../../src/prompts/load-templates.ts", import.meta.url).href);
    const fromDist = findPromptsDirectory(new URL("../../../dist/prompts/load-templates.js", import.meta.url).href);
    expect(fromDist).toBe(fromSource);
    expect(Object.keys(await loadBuiltinTemplates(fromSource))).toContain("roles/coder.md.hbs");
  });
});
