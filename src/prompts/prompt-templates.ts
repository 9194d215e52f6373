import type { JobFailureCode } from "../workflow/job-failure.js";
/** Where a repo keeps its own prompt templates; override keys are relative to it. */
export const REPO_PROMPTS_DIRECTORY = ".github/foreman/prompts";

/** Handlebars' compile options for prompt templates. */
export interface PromptCompileOptions {
  noEscape: true;
  strict: false;
  knownHelpers: Record<string, boolean>;
  knownHelpersOnly: true;
}

/**
 * Handlebars options for every prompt template: Markdown, so nothing is HTML-escaped; and only
 * the helpers Foreman knows (Handlebars' own but `log`, and `fence`), so a template that calls
 * any other does not compile. A fresh object per call, because Handlebars writes into the options
 * it is given.
 */
export function buildCompileOptions(): PromptCompileOptions {
  return { noEscape: true, strict: false, knownHelpers: { fence: true, log: false }, knownHelpersOnly: true };
}

/**
 * The template sources a prompt is rendered from, keyed by path under `prompts/`
 * (`roles/coder.md.hbs`, `tasks/bugfix.md.hbs`, `partials/constraints.hbs`).
 */
export interface PromptTemplates {
  readonly sources: Readonly<Record<string, string>>;
  /** Keys whose source came from the repo (`.github/foreman/prompts/<key>`), sorted. */
  readonly overridden: readonly string[];
}

/** Why templates could not be loaded or rendered, in words a repo maintainer can act on. */
export interface PromptTemplateError {
  code: Extract<JobFailureCode, "PROMPT_TEMPLATE_INVALID" | "PROMPT_TEMPLATE_MISSING" | "PROMPT_RENDER_FAILED">;
  /** The template's key, e.g. `roles/coder.md.hbs`. */
  key: string;
  /** The file a person would open: `.github/foreman/prompts/…` for a repo template, `prompts/…` for a built-in. */
  file: string;
  message: string;
}

// roles/<name>.md.hbs, tasks/<name>.md.hbs, partials/<name>.hbs — names a handlebars partial can use.
const TEMPLATE_KEY = /^(?:(?:roles|tasks)\/[a-z0-9][a-z0-9_-]*\.md\.hbs|partials\/[a-z0-9][a-z0-9_-]*\.hbs)$/;

/** Whether a key names a template Foreman knows where to put. */
export function isTemplateKey(key: string): boolean {
  return TEMPLATE_KEY.test(key);
}

/** The key of a role's template. */
export function buildRoleTemplateKey(role: string): string {
  return `roles/${role}.md.hbs`;
}

/** The key of a task type's template. */
export function buildTaskTemplateKey(taskType: string): string {
  return `tasks/${taskType}.md.hbs`;
}

/** The partial name a `partials/<name>.hbs` key registers as, or null for other keys. */
export function findPartialName(key: string): string | null {
  const match = /^partials\/([a-z0-9][a-z0-9_-]*)\.hbs$/.exec(key);
  return match?.[1] ?? null;
}

/** The file behind a template key, as a maintainer would look for it. */
export function describeTemplateFile(templates: PromptTemplates | null, key: string): string {
  return templates?.overridden.includes(key) ? `${REPO_PROMPTS_DIRECTORY}/${key}` : `prompts/${key}`;
}
