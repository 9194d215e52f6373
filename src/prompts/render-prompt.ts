import { createHash } from "node:crypto";
import { buildPromptView, DEFAULT_PROMPT_LIMITS, type PromptLimits } from "./build-prompt-view.js";
import type { PromptContext } from "./prompt-context.js";
import { renderSections, type RenderSectionsRequest, type RenderSectionsResult } from "./render-sections.mjs";
import { RenderWorkerPool, type WorkerRenderOutcome } from "./render-worker-pool.js";
import {
  buildCompileOptions,
  buildRoleTemplateKey,
  buildTaskTemplateKey,
  describeTemplateFile,
  findPartialName,
  type PromptTemplateError,
  type PromptTemplates,
} from "./prompt-templates.js";

export { fenceText } from "./render-sections.mjs";

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

/** How long a render may take and how long its text may be. */
export interface PromptRenderLimits {
  /** From the start of the render; a worker still rendering then is terminated. */
  timeMs: number;
  /** The rendered prompt's length, in characters. */
  maxOutputChars: number;
}

/**
 * The render limits Foreman uses: a prompt renders in milliseconds, and Foreman's own sections
 * at their caps (`DEFAULT_PROMPT_LIMITS`) come to well under half a million characters.
 */
export const DEFAULT_RENDER_LIMITS: PromptRenderLimits = Object.freeze({ timeMs: 5_000, maxOutputChars: 1_000_000 });

// The worker's heap: a template that builds strings faster than the clock stops it fails here.
const WORKER_HEAP_MB = 256;
// Loading the worker (Node and Handlebars) is Foreman's, not the template's: bounded apart.
const WORKER_START_MS = 60_000;

/** What renderPrompt and renderPromptInWorker take besides the templates and the context. */
export interface RenderPromptOptions {
  limits?: PromptLimits;
  renderLimits?: PromptRenderLimits;
  /** The workers to render in (Foreman's, from createRenderWorkerPool); without one, a worker of its own for this render. */
  pool?: RenderWorkerPool;
}

/** A pool of `size` long-lived render workers with Foreman's heap and start bounds; close it when done. */
export function createRenderWorkerPool(size: number): RenderWorkerPool {
  return new RenderWorkerPool({ size, heapMb: WORKER_HEAP_MB, startMs: WORKER_START_MS });
}

/**
 * Render the prompt for one agent step in this thread: sanitise and cap the context, then render
 * role, task and section partials in a fresh Handlebars environment. The same input always gives
 * the same text. Nothing stops a slow template here: a repository's templates go through
 * renderPromptInWorker.
 */
export function renderPrompt(
  templates: PromptTemplates,
  context: PromptContext,
  limits: PromptLimits = DEFAULT_PROMPT_LIMITS,
  renderLimits: PromptRenderLimits = DEFAULT_RENDER_LIMITS,
): RenderPromptResult {
  const prepared = prepareRender(templates, context, limits, renderLimits);
  if (!prepared.ok) return prepared;
  return finishRender(templates, prepared.request, renderSections(prepared.request), renderLimits);
}

/**
 * Render the prompt as renderPrompt does, in a worker thread (`render-worker.mjs`, of `pool` or
 * one of its own) that is terminated when the render outlives `renderLimits.timeMs` or outgrows
 * its heap, so a repository's template cannot block the event loop. A template that is too slow
 * or renders too much is the repository's error (`PROMPT_RENDER_FAILED`, naming the template and
 * the limit); a worker that cannot start or crashes rejects (Foreman's trouble).
 */
export async function renderPromptInWorker(
  templates: PromptTemplates,
  context: PromptContext,
  { limits = DEFAULT_PROMPT_LIMITS, renderLimits = DEFAULT_RENDER_LIMITS, pool }: RenderPromptOptions = {},
): Promise<RenderPromptResult> {
  const prepared = prepareRender(templates, context, limits, renderLimits);
  if (!prepared.ok) return prepared;
  const outcome = pool
    ? await pool.render(prepared.request, renderLimits.timeMs)
    : await renderInOwnWorker(prepared.request, renderLimits.timeMs);
  if (outcome.ok) return finishRender(templates, prepared.request, outcome.result, renderLimits);
  const file = describeTemplateFile(templates, outcome.key);
  const message =
    outcome.stop === "time"
      ? `${file} (or a partial it includes) did not finish rendering within ${renderLimits.timeMs} ms, ` +
        "the limit for a prompt, and was stopped. Keep its loops and partials bounded: " +
        "no {{#each}} nested over long lists, no partial that includes itself."
      : `${file} (or a partial it includes) used more than ${WORKER_HEAP_MB} MB while rendering, ` +
        "the limit for a prompt, and was stopped. Render less: no partial included over and over, " +
        "no {{#each}} nested over long lists.";
  return { ok: false, error: { code: "PROMPT_RENDER_FAILED", key: outcome.key, file, message } };
}

type PreparedRender = { ok: true; request: RenderSectionsRequest } | { ok: false; error: PromptTemplateError };

function prepareRender(
  templates: PromptTemplates,
  context: PromptContext,
  limits: PromptLimits,
  renderLimits: PromptRenderLimits,
): PreparedRender {
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
  const partials: Record<string, string> = {};
  for (const [key, source] of Object.entries(templates.sources)) {
    const name = findPartialName(key);
    if (name !== null) partials[name] = source;
  }
  // A fresh environment per render: repo partials and helpers never leak into another repo's prompt.
  return {
    ok: true,
    request: {
      sources: templates.sources,
      partials,
      sectionKeys,
      view: buildPromptView(context, limits),
      compileOptions: { ...buildCompileOptions() },
      maxOutputChars: renderLimits.maxOutputChars,
    },
  };
}

function finishRender(
  templates: PromptTemplates,
  request: RenderSectionsRequest,
  result: RenderSectionsResult,
  renderLimits: PromptRenderLimits,
): RenderPromptResult {
  if (!result.ok) {
    const file = describeTemplateFile(templates, result.key);
    const message =
      result.kind === "error"
        ? `${file} failed to render: ${result.reason}`
        : `${file} (or a partial it includes) brought the prompt to ${result.chars} characters; the limit is ` +
          `${renderLimits.maxOutputChars}. Render less: no partial included over and over, no {{#each}} nested over long lists.`;
    return { ok: false, error: { code: "PROMPT_RENDER_FAILED", key: result.key, file, message } };
  }
  const text = `${result.texts.filter((section) => section !== "").join("\n\n")}\n`;
  const partialKeys = Object.keys(templates.sources).filter(
    (key) => findPartialName(key) !== null && !request.sectionKeys.includes(key),
  );
  return {
    ok: true,
    text,
    sha256: createHash("sha256").update(text, "utf8").digest("hex"),
    templateNames: [...request.sectionKeys, ...partialKeys.sort()],
  };
}

async function renderInOwnWorker(request: RenderSectionsRequest, timeMs: number): Promise<WorkerRenderOutcome> {
  const own = createRenderWorkerPool(1);
  try {
    return await own.render(request, timeMs);
  } finally {
    await own.close();
  }
}
