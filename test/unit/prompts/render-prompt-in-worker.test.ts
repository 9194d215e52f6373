import { describe, expect, test } from "vitest";
import { loadTemplates, type LoadTemplatesResult } from "../../../src/prompts/load-templates.js";
import type { PromptRole } from "../../../src/prompts/prompt-context.js";
import type { PromptTemplates } from "../../../src/prompts/prompt-templates.js";
import {
  DEFAULT_RENDER_LIMITS,
  renderPrompt,
  renderPromptInWorker,
  type RenderPromptResult,
} from "../../../src/prompts/render-prompt.js";
import type { TaskType } from "../../../src/workflow/task.js";
import { buildPromptContext } from "./build-prompt-context.js";

// A repository's templates render in a worker thread with a time and a size limit: a template
// that would block the event loop for minutes, or render without end, is the repository's error.

function expectTemplates(result: LoadTemplatesResult): PromptTemplates {
  if (!result.ok) throw new Error(`templates failed to load: ${JSON.stringify(result.errors)}`);
  return result.templates;
}

function expectText(result: RenderPromptResult): string {
  if (!result.ok) throw new Error(`prompt failed to render: ${JSON.stringify(result.error)}`);
  return result.text;
}

// 400 paths, each loop over all of them: five nested loops are 400^5 iterations, days of work.
const FILE_TREE = Array.from({ length: 400 }, (_, index) => `src/file-${index}.ts`);
const NESTED_EACH =
  "{{#each fileTree.paths}}{{#each @root.fileTree.paths}}{{#each @root.fileTree.paths}}" +
  "{{#each @root.fileTree.paths}}{{#each @root.fileTree.paths}}{{this}}{{/each}}{{/each}}{{/each}}{{/each}}{{/each}}";

describe("renderPromptInWorker", () => {
  test("renders Foreman's templates, and a repository's, exactly as the in-process render does", async () => {
    const builtins = expectTemplates(await loadTemplates());
    const overridden = expectTemplates(
      await loadTemplates({
        "roles/coder.md.hbs":
          "# Role: Coder (acme)\n\n{{> house-style}}\n\n{{#each issue.labels}}- {{this}}\n{{/each}}",
        "partials/house-style.hbs": '{{#fence "markdown"}}{{issue.body}}{{/fence}} & <kept>',
      }),
    );
    const cases: Array<[PromptTemplates, PromptRole, TaskType]> = [
      [builtins, "coder", "bugfix"],
      [builtins, "reviewer", "docs"],
      [builtins, "planner", "feature"],
      [overridden, "coder", "ready"],
    ];
    for (const [templates, role, taskType] of cases) {
      const context = buildPromptContext({ role, taskType, diff: "+a ``` b", plan: "1. Do it." });
      const inWorker = await renderPromptInWorker(templates, context);
      expect(inWorker).toEqual(renderPrompt(templates, context));
      expectText(inWorker);
    }
  });

  test("a template with nested loops over a long list is stopped at the time limit, naming the file and the limit", async () => {
    const templates = expectTemplates(await loadTemplates({ "tasks/bugfix.md.hbs": NESTED_EACH }));
    const result = await renderPromptInWorker(templates, buildPromptContext({ fileTree: FILE_TREE }), {
      renderLimits: { ...DEFAULT_RENDER_LIMITS, timeMs: 1_000 },
    });
    expect(result).toEqual({
      ok: false,
      error: {
        code: "PROMPT_RENDER_FAILED",
        key: "tasks/bugfix.md.hbs",
        file: ".github/foreman/prompts/tasks/bugfix.md.hbs",
        message:
          ".github/foreman/prompts/tasks/bugfix.md.hbs (or a partial it includes) did not finish rendering within 1000 ms, " +
          "the limit for a prompt, and was stopped. Keep its loops and partials bounded: " +
          "no {{#each}} nested over long lists, no partial that includes itself.",
      },
    });
  });

  test("a loop in a repository partial is stopped too, and named by the section that included it", async () => {
    const templates = expectTemplates(
      await loadTemplates({ "partials/slow.hbs": NESTED_EACH, "partials/constraints.hbs": "Rules: {{> slow}}" }),
    );
    // A second: the sections before constraints render well within it even on a loaded machine.
    const result = await renderPromptInWorker(templates, buildPromptContext({ fileTree: FILE_TREE }), {
      renderLimits: { ...DEFAULT_RENDER_LIMITS, timeMs: 1_000 },
    });
    expect(result.ok || result.error).toMatchObject({
      code: "PROMPT_RENDER_FAILED",
      file: ".github/foreman/prompts/partials/constraints.hbs",
    });
    expect(result.ok || result.error.message).toContain("within 1000 ms");
  });

  test("a partial that includes itself twice is refused, not a crash", async () => {
    const templates = expectTemplates(
      await loadTemplates({ "partials/constraints.hbs": "{{> constraints}}{{> constraints}}" }),
    );
    const result = await renderPromptInWorker(templates, buildPromptContext(), {
      renderLimits: { ...DEFAULT_RENDER_LIMITS, timeMs: 1_000 },
    });
    expect(result.ok || result.error).toMatchObject({
      code: "PROMPT_RENDER_FAILED",
      key: "partials/constraints.hbs",
      file: ".github/foreman/prompts/partials/constraints.hbs",
    });
  });

  test("a prompt over the size limit is refused, naming the template that crossed it and the limit", async () => {
    // A 60,000-character partial included 50 times: 3 million characters from two small files.
    const big = "x".repeat(60_000);
    const templates = expectTemplates(
      await loadTemplates({ "partials/big.hbs": big, "tasks/bugfix.md.hbs": "{{> big}}".repeat(50) }),
    );
    const result = await renderPromptInWorker(templates, buildPromptContext());
    expect(result.ok || result.error).toMatchObject({
      code: "PROMPT_RENDER_FAILED",
      key: "tasks/bugfix.md.hbs",
      file: ".github/foreman/prompts/tasks/bugfix.md.hbs",
    });
    expect(result.ok || result.error.message).toMatch(
      /^\.github\/foreman\/prompts\/tasks\/bugfix\.md\.hbs \(or a partial it includes\) brought the prompt to \d+ characters; the limit is 1000000\. Render less/,
    );
    // The in-process render keeps the same limit.
    expect(renderPrompt(templates, buildPromptContext())).toEqual(result);
  });

  test("a smaller size limit is honoured", async () => {
    const templates = expectTemplates(await loadTemplates());
    const context = buildPromptContext();
    const full = expectText(renderPrompt(templates, context));
    const result = await renderPromptInWorker(templates, context, {
      renderLimits: { ...DEFAULT_RENDER_LIMITS, maxOutputChars: full.length - 100 },
    });
    expect(result.ok || result.error.code).toBe("PROMPT_RENDER_FAILED");
  });

  test("a template that calls a helper Foreman does not define does not compile", async () => {
    for (const source of ["{{shell 'rm -rf /'}}", "{{log issue.title}}", "{{#exec}}x{{/exec}} {{> (dynamic)}}"]) {
      const result = await loadTemplates({ "tasks/bugfix.md.hbs": source });
      expect(result.ok || result.errors[0]).toMatchObject({
        code: "PROMPT_TEMPLATE_INVALID",
        file: ".github/foreman/prompts/tasks/bugfix.md.hbs",
      });
      expect(result.ok || result.errors[0]?.message).toContain("unknown helper");
    }
  });

  test("constructor, __proto__ and prototype lookups render as nothing", async () => {
    const templates = expectTemplates(
      await loadTemplates({
        "tasks/bugfix.md.hbs": [
          "a{{constructor}}",
          "b{{__proto__}}",
          "c{{constructor.name}}",
          "d{{#with constructor}}{{name}}{{constructor}}{{/with}}",
          "e{{lookup this 'constructor'}}",
          "f{{lookup issue '__proto__'}}",
          "g{{issue.constructor.name}}{{issue.title.constructor}}",
          "h{{#each issue.labels}}{{this.constructor.name}}{{this.__proto__}}{{/each}}",
          "i{{#each __proto__}}{{@key}}{{/each}}{{#each constructor}}{{@key}}{{/each}}",
          "j{{issue.hasOwnProperty}}{{toString}}{{valueOf}}",
        ].join("|"),
      }),
    );
    const text = expectText(await renderPromptInWorker(templates, buildPromptContext()));
    expect(text).toContain("\n\na|b|c|d|e|f|g|h|i|j\n\n");
  });
});
