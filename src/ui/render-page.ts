import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";

/** The dashboard's templates and assets (`ui/` at the repository root; beside `dist/` in the image). */
export const UI_DIR = fileURLToPath(new URL("../../ui/", import.meta.url));

/** The dashboard's pages, each rendered inside `layout.hbs`. */
export type PageName = "board" | "reviews" | "queue" | "task" | "kpis" | "compliance" | "settings" | "message";

/** Renders the dashboard's HTML from `ui/templates/`, escaping every value (HTML pages never use `noEscape`). */
export interface PageRenderer {
  /** A whole page: the page's template inside the layout. */
  page(name: PageName, context: Record<string, unknown>): string;
  /** A fragment (a partial) for htmx and the live updates. */
  fragment(name: string, context: Record<string, unknown>): string;
}

/** Compile the templates once: partials are every `_name.hbs`, pages every other file. */
export function createPageRenderer(templatesDir = `${UI_DIR}templates/`): PageRenderer {
  const handlebars = Handlebars.create();
  handlebars.registerHelper("eq", (a: unknown, b: unknown) => a === b);
  handlebars.registerHelper("iso", (value: unknown) =>
    value instanceof Date ? value.toISOString() : String(value ?? ""),
  );
  handlebars.registerHelper("describeAge", (from: unknown, now: unknown) => describeAge(from, now));
  const templates = new Map<string, Handlebars.TemplateDelegate>();
  for (const file of readdirSync(templatesDir)) {
    if (!file.endsWith(".hbs")) continue;
    const source = readFileSync(`${templatesDir}${file}`, "utf8");
    const name = file.slice(0, -4);
    if (name.startsWith("_")) handlebars.registerPartial(name.slice(1), source);
    templates.set(name, handlebars.compile(source, { strict: false }));
  }
  const get = (name: string) => {
    const template = templates.get(name);
    if (!template) throw new Error(`no dashboard template ${name}.hbs in ${templatesDir}`);
    return template;
  };
  return {
    page(name, context) {
      const body = get(name)(context);
      return get("layout")({ ...context, body: new Handlebars.SafeString(body) });
    },
    fragment(name, context) {
      return get(`_${name}`)(context);
    },
  };
}

/** A short age such as "3 h 5 min" or "2 d 4 h" between two times. */
export function describeAge(from: unknown, now: unknown): string {
  const start = from instanceof Date ? from.getTime() : Date.parse(String(from));
  const end = now instanceof Date ? now.getTime() : Date.parse(String(now));
  if (!Number.isFinite(start) || !Number.isFinite(end)) return "";
  const minutes = Math.max(0, Math.floor((end - start) / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}
