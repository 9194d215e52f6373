// Plain JavaScript on purpose: this module is loaded by the render worker (render-worker.mjs),
// which runs without a TypeScript loader under tsx, vitest and from dist/ alike. tsc copies it
// to dist/ (allowJs); render-prompt.ts imports it for the in-process render.
import Handlebars from "handlebars";

/**
 * @typedef {object} RenderSectionsRequest
 * @property {Readonly<Record<string, string>>} sources template sources by key (`roles/coder.md.hbs`)
 * @property {Readonly<Record<string, string>>} partials partial sources by name (`constraints` for `partials/constraints.hbs`)
 * @property {readonly string[]} sectionKeys the templates to render, in prompt order
 * @property {unknown} view what the templates render from
 * @property {Record<string, unknown>} compileOptions Handlebars compile options (buildCompileOptions)
 * @property {number} maxOutputChars the rendered sections together may be at most this long
 */

/**
 * @typedef {{ ok: true, texts: string[] }
 *   | { ok: false, kind: "error", key: string, reason: string }
 *   | { ok: false, kind: "too-large", key: string, chars: number }} RenderSectionsResult
 */

// Templates may read the view's own properties only: never `constructor`, `__proto__` and the like.
const RUNTIME_OPTIONS = Object.freeze({ allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });

/** Wrap text in a Markdown code fence longer than any backtick run inside it, so it cannot close early. */
export function fenceText(text, language = "") {
  let longestRun = 0;
  for (const match of text.matchAll(/`+/g)) longestRun = Math.max(longestRun, match[0].length);
  const fence = "`".repeat(Math.max(3, longestRun + 1));
  return `${fence}${language}\n${text.replace(/^\n+|\n+$/g, "")}\n${fence}`;
}

/**
 * Render each section template in a fresh Handlebars environment (the given partials, `fence` the
 * one helper besides Handlebars' own), trimmed. `onSection(key)` is called before each
 * section, so a caller that has to stop a render knows which template was running.
 *
 * @param {RenderSectionsRequest} request
 * @param {(key: string) => void} [onSection]
 * @returns {RenderSectionsResult}
 */
export function renderSections(request, onSection = () => {}) {
  const handlebars = createPromptEnvironment(request.partials, request.compileOptions);
  /** @type {string[]} */
  const texts = [];
  let chars = 0;
  for (const key of request.sectionKeys) {
    onSection(key);
    let text;
    try {
      const template = handlebars.compile(request.sources[key] ?? "", { ...request.compileOptions });
      text = template(request.view, RUNTIME_OPTIONS).trim();
    } catch (error) {
      return { ok: false, kind: "error", key, reason: error instanceof Error ? error.message : String(error) };
    }
    chars += text.length;
    if (chars > request.maxOutputChars) return { ok: false, kind: "too-large", key, chars };
    texts.push(text);
  }
  return { ok: true, texts };
}

/**
 * @param {Readonly<Record<string, string>>} partials
 * @param {Record<string, unknown>} compileOptions
 */
function createPromptEnvironment(partials, compileOptions) {
  const handlebars = Handlebars.create();
  // `log` writes to the console: a template has nothing to say there.
  handlebars.unregisterHelper("log");
  for (const [name, source] of Object.entries(partials)) {
    handlebars.registerPartial(name, handlebars.compile(source, { ...compileOptions }));
  }
  // {{#fence "diff"}}…{{/fence}}: untrusted text goes in a fence it cannot break out of.
  handlebars.registerHelper("fence", function (...args) {
    const options = args[args.length - 1];
    const language = typeof args[0] === "string" && args.length > 1 ? args[0] : "";
    return fenceText(options.fn(this), language);
  });
  return handlebars;
}
