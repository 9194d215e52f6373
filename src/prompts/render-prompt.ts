import { createHash } from "node:crypto";
import Handlebars from "handlebars";
import { buildPromptView, DEFAULT_PROMPT_LIMITS, type PromptLimits, type PromptView } from "./build-prompt-view.js";
import type { PromptContext } from "./prompt-context.js";
import {
  buildCompileOptions,
  buildRoleTemplateKey,
  buildTaskTemplateKey,
  describeTemplateFile,
  findPartialName,
  type PromptTemplateError,
  type PromptTemplates,
} from "./prompt-templates.js";

/** A rendered prompt: the text written to `/foreman/prompt.md`, its hash, and what it was built from. */
export interface RenderedPrompt {
  ok: true;
  text: string;
  /** Hex sha256 of `text` (UTF-8), the artifact hash in the compliance record. */
  sha256: string;
  /** Template keys rendered, in prompt order, then the other partials they could include, sorted. */
  templateNames: string[];
}

/** A prompt, or the template that could not render it. */
export type RenderPromptResult = RenderedPrompt | { ok: false; error: PromptTemplateError };

// The prompt's sections, in order. The role and task say what to do; the partials carry the
// thread (as data), the repo's own guidance, and the rules and contract, last so they are freshest.
const SECTION_PARTIALS = ["issue-thread", "repo-guidance", "file-tree", "constraints", "output-contract"] as const;

/**
 * Render the prompt for one agent step: sanitise and cap the context, then render role, task and
 * section partials in a fresh Handlebars environment. The same input always gives the same text.
 */
export function renderPrompt(
  templates: PromptTemplates,
  context: PromptContext,
  limits: PromptLimits = DEFAULT_PROMPT_LIMITS,
): RenderPromptResult {
  const view = buildPromptView(context, limits);
  const sectionKeys = [
    buildRoleTemplateKey(context.role),
    buildTaskTemplateKey(context.taskType),
    ...SECTION_PARTIALS.map((name) => `partials/${name}.hbs`),
  ];
  const missing = sectionKeys.find((key) => !Object.hasOwn(templates.sources, key));
  if (missing !== undefined) {
    const file = describeTemplateFile(templates, missing);
    return {
      ok: false,
      error: { code: "PROMPT_TEMPLATE_MISSING", key: missing, file, message: `No template ${file} for this step.` },
    };
  }
  // A fresh environment per render: repo partials and helpers never leak into another repo's prompt.
  const handlebars = createPromptEnvironment(templates);
  const sections: string[] = [];
  for (const key of sectionKeys) {
    const rendered = renderTemplate(handlebars, templates, key, view);
    if (!rendered.ok) return rendered;
    if (rendered.text !== "") sections.push(rendered.text);
  }
  const text = `${sections.join("\n\n")}\n`;
  const partialKeys = Object.keys(templates.sources).filter(
    (key) => findPartialName(key) !== null && !sectionKeys.includes(key),
  );
  return {
    ok: true,
    text,
    sha256: createHash("sha256").update(text, "utf8").digest("hex"),
    templateNames: [...sectionKeys, ...partialKeys.sort()],
  };
}

/** Wrap text in a Markdown code fence longer than any backtick run inside it, so it cannot close early. */
export function fenceText(text: string, language = ""): string {
  let longestRun = 0;
  for (const match of text.matchAll(/`+/g)) longestRun = Math.max(longestRun, match[0].length);
  const fence = "`".repeat(Math.max(3, longestRun + 1));
  return `${fence}${language}\n${text.replace(/^\n+|\n+$/g, "")}\n${fence}`;
}

function createPromptEnvironment(templates: PromptTemplates): typeof Handlebars {
  const handlebars = Handlebars.create();
  for (const [key, source] of Object.entries(templates.sources)) {
    const name = findPartialName(key);
    if (name !== null) handlebars.registerPartial(name, handlebars.compile(source, buildCompileOptions()));
  }
  // {{#fence "diff"}}…{{/fence}}: untrusted text goes in a fence it cannot break out of.
  handlebars.registerHelper("fence", function (this: unknown, ...args: unknown[]) {
    const options = args[args.length - 1] as Handlebars.HelperOptions;
    const language = typeof args[0] === "string" && args.length > 1 ? args[0] : "";
    return fenceText(options.fn(this), language);
  });
  return handlebars;
}

function renderTemplate(
  handlebars: typeof Handlebars,
  templates: PromptTemplates,
  key: string,
  view: PromptView,
): { ok: true; text: string } | { ok: false; error: PromptTemplateError } {
  try {
    const template = handlebars.compile(templates.sources[key] ?? "", buildCompileOptions());
    return { ok: true, text: template(view).trim() };
  } catch (error) {
    const file = describeTemplateFile(templates, key);
    const reason = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      error: { code: "PROMPT_RENDER_FAILED", key, file, message: `${file} failed to render: ${reason}` },
    };
  }
}
