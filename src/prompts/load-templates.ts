import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";
import {
  buildCompileOptions,
  REPO_PROMPTS_DIRECTORY,
  describeTemplateFile,
  isTemplateKey,
  type PromptTemplateError,
  type PromptTemplates,
} from "./prompt-templates.js";

/** Templates ready to render, or every reason they are not. */
export type LoadTemplatesResult =
  { ok: true; templates: PromptTemplates } | { ok: false; errors: PromptTemplateError[] };

/** A repo template larger than this is refused: a prompt template is instructions, not data. */
export const MAX_REPO_TEMPLATE_CHARS = 64_000;

const TEMPLATE_DIRECTORIES = ["roles", "tasks", "partials"] as const;

/**
 * Load Foreman's templates and apply a repo's overrides, keyed by path under
 * `.github/foreman/prompts/` (`{ "roles/coder.md.hbs": "…" }`; the caller fetches them).
 */
export async function loadTemplates(
  overrides: Readonly<Record<string, string>> = {},
  promptsDirectory: string = findPromptsDirectory(),
): Promise<LoadTemplatesResult> {
  const builtins = await readBuiltinTemplatesOnce(promptsDirectory);
  return applyTemplateOverrides(builtins, overrides);
}

// The built-in templates ship with Foreman and change only with a new release (a restart): read once
// per directory and process, not 20 file reads per job (each a trip through libuv's thread pool,
// 10–20 ms apiece with 10 jobs starting at once on 2 busy cores). A failed read is tried again next time.
const builtinReads = new Map<string, Promise<Record<string, string>>>();

function readBuiltinTemplatesOnce(promptsDirectory: string): Promise<Record<string, string>> {
  let read = builtinReads.get(promptsDirectory);
  if (read === undefined) {
    read = loadBuiltinTemplates(promptsDirectory);
    builtinReads.set(promptsDirectory, read);
    read.catch(() => builtinReads.delete(promptsDirectory));
  }
  return read;
}

/** Read the built-in templates (`roles/`, `tasks/`, `partials/`) from a prompts directory. */
export async function loadBuiltinTemplates(promptsDirectory: string): Promise<Record<string, string>> {
  // All at once: the order of the keys is fixed by the sorted names, not by which read ends first.
  const listed = await Promise.all(
    TEMPLATE_DIRECTORIES.map(async (directory) =>
      (await readdir(join(promptsDirectory, directory)))
        .filter((name) => name.endsWith(".hbs"))
        .sort()
        .map((name) => `${directory}/${name}`),
    ),
  );
  const keys = listed.flat();
  const texts = await Promise.all(keys.map((key) => readFile(join(promptsDirectory, key), "utf8")));
  return Object.fromEntries(keys.map((key, index) => [key, texts[index] ?? ""]));
}

/**
 * Lay a repo's templates over the built-ins (pure). Every template is compiled once here, so a
 * broken repo template comes back as an error naming its file instead of failing a render later.
 */
export function applyTemplateOverrides(
  builtins: Readonly<Record<string, string>>,
  overrides: Readonly<Record<string, string>>,
): LoadTemplatesResult {
  const errors: PromptTemplateError[] = [];
  const sources: Record<string, string> = { ...builtins };
  const overridden: string[] = [];
  for (const key of Object.keys(overrides).sort()) {
    const source = overrides[key] ?? "";
    const file = `${REPO_PROMPTS_DIRECTORY}/${key}`;
    const problem = findOverrideProblem(key, source);
    if (problem !== null) {
      errors.push({ code: "PROMPT_TEMPLATE_INVALID", key, file, message: problem });
      continue;
    }
    sources[key] = source;
    overridden.push(key);
  }
  for (const key of Object.keys(sources).sort()) {
    const compileError = findCompileError(sources[key] ?? "");
    if (compileError === null) continue;
    const file = describeTemplateFile({ sources, overridden }, key);
    errors.push({ code: "PROMPT_TEMPLATE_INVALID", key, file, message: `${file} does not compile: ${compileError}` });
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, templates: { sources: sortKeys(sources), overridden } };
}

/** Find the `prompts/` directory of the Foreman package, from `src/` (tsx) or `dist/` alike. */
export function findPromptsDirectory(fromUrl: string = import.meta.url): string {
  let directory = dirname(fileURLToPath(fromUrl));
  for (;;) {
    if (existsSync(join(directory, "package.json")) && existsSync(join(directory, "prompts", "roles"))) {
      return join(directory, "prompts");
    }
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`No prompts/ directory above ${fileURLToPath(fromUrl)}`);
    directory = parent;
  }
}

function findOverrideProblem(key: string, source: unknown): string | null {
  if (!isTemplateKey(key)) {
    return (
      `${REPO_PROMPTS_DIRECTORY}/${key} is not a prompt template: use roles/<role>.md.hbs, ` +
      "tasks/<type>.md.hbs or partials/<name>.hbs (lower-case letters, digits, - and _)."
    );
  }
  if (typeof source !== "string") return `${REPO_PROMPTS_DIRECTORY}/${key} is not text.`;
  if (source.length > MAX_REPO_TEMPLATE_CHARS) {
    return `${REPO_PROMPTS_DIRECTORY}/${key} is ${source.length} characters; the limit is ${MAX_REPO_TEMPLATE_CHARS}.`;
  }
  return null;
}

// The compile check's verdict per template text: the built-ins are the same text for every job, so
// each is compiled once per process, not once per job (about 25 ms of the main thread per job).
// Bounded, as repositories' overrides vary: when full it starts again.
const compileVerdicts = new Map<string, string | null>();
const MAX_COMPILE_VERDICTS = 500;

function findCompileError(source: string): string | null {
  const known = compileVerdicts.get(source);
  if (known !== undefined) return known;
  const verdict = compileTemplateForErrors(source);
  if (compileVerdicts.size >= MAX_COMPILE_VERDICTS) compileVerdicts.clear();
  compileVerdicts.set(source, verdict);
  return verdict;
}

function compileTemplateForErrors(source: string): string | null {
  try {
    // precompile parses and compiles eagerly; compile() would defer errors to the first render.
    Handlebars.create().precompile(source, buildCompileOptions());
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, record[key] ?? ""]),
  );
}
