/**
 * The dashboard's static assets under `/ui/assets/`: htmx, its SSE extension and uPlot from
 * `node_modules`, and the dashboard's own stylesheet and KPI script from `ui/assets/`. Only these
 * names are served.
 */
import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { UI_DIR } from "./render-page.js";

const require = createRequire(import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  "htmx.min.js": { file: require.resolve("htmx.org/dist/htmx.min.js"), type: "text/javascript" },
  "sse.js": { file: require.resolve("htmx-ext-sse/dist/sse.min.js"), type: "text/javascript" },
  "uPlot.iife.min.js": { file: require.resolve("uplot/dist/uPlot.iife.min.js"), type: "text/javascript" },
  "uPlot.min.css": { file: require.resolve("uplot/dist/uPlot.min.css"), type: "text/css" },
  "ui.css": { file: `${UI_DIR}assets/ui.css`, type: "text/css" },
  "kpis.js": { file: `${UI_DIR}assets/kpis.js`, type: "text/javascript" },
};

/** Answers with the named asset (cached for an hour), or 404 for any other name. */
export function sendAsset(res: ServerResponse, name: string): true {
  const asset = ASSETS[name];
  if (!asset) {
    res.writeHead(404, { "content-type": "text/plain" }).end("No such asset.");
    return true;
  }
  res
    .writeHead(200, {
      "content-type": `${asset.type}; charset=utf-8`,
      "cache-control": "public, max-age=3600",
      "x-content-type-options": "nosniff",
    })
    .end(readFileSync(asset.file));
  return true;
}
