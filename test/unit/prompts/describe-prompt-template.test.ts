import { describe, expect, test } from "vitest";
import { describePromptTemplate } from "../../../src/prompts/describe-prompt-template.js";
import { loadTemplates } from "../../../src/prompts/load-templates.js";
import { renderPrompt } from "../../../src/prompts/render-prompt.js";
import { buildPromptContext } from "./build-prompt-context.js";

async function describeRender(overrides: Record<string, string>, role: "coder" | "reviewer" = "coder") {
  const loaded = await loadTemplates(overrides);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const rendered = renderPrompt(loaded.templates, buildPromptContext({ role, taskType: "bugfix" }));
  if (!rendered.ok) throw new Error(rendered.error.message);
  return describePromptTemplate(loaded.templates, rendered.templateNames, role, "bugfix");
}

describe("describePromptTemplate", () => {
  test("the built-in templates give the same identity every time, with no overrides", async () => {
    const first = await describeRender({});
    expect(first).toEqual({
      role: "coder",
      taskType: "bugfix",
      overrides: [],
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await describeRender({})).toEqual(first);
  });

  test("a repository override of a rendered template is named and changes the hash", async () => {
    const builtIn = await describeRender({});
    const overridden = await describeRender({ "roles/coder.md.hbs": "# Role: Coder\nOur own words.\n" });
    expect(overridden.overrides).toEqual(["roles/coder.md.hbs"]);
    expect(overridden.sha256).not.toBe(builtIn.sha256);
  });

  test("an override of a template the prompt does not render changes nothing", async () => {
    const builtIn = await describeRender({});
    const other = await describeRender({ "roles/planner.md.hbs": "# Role: Planner\nElsewhere.\n" });
    expect(other).toEqual(builtIn);
  });

  test("another role is another template", async () => {
    const coder = await describeRender({});
    const reviewer = await describeRender({}, "reviewer");
    expect(reviewer.role).toBe("reviewer");
    expect(reviewer.sha256).not.toBe(coder.sha256);
  });
});
