// A prompt render worker (node:worker_threads) of RenderWorkerPool (render-worker-pool.ts):
// renders prompts off the event loop, one at a time, so a repository's template that loops for
// minutes or grows without end costs this thread, which the pool terminates at the render's time
// limit. Long-lived: it loads Handlebars once, then renders each request it is sent, each in a
// fresh Handlebars environment (renderSections). Plain JavaScript, so it starts the same under
// tsx, vitest and from dist/. Messages out: "ready" (loaded), and per render "started", "section"
// (the template about to render) and "done" (the result of renderSections), with the render's id.
import { parentPort } from "node:worker_threads";
import Handlebars from "handlebars";
import { renderSections } from "./render-sections.mjs";

// Handlebars reports denied prototype access (`{{constructor}}`) on the console; a template's
// attempt is not the operator's business, and the access renders as nothing anyway. Levels go
// from 0 (debug) to 3 (error): 4 is above them all.
Handlebars.logger.level = 4;

if (parentPort === null) throw new Error("render-worker.mjs runs as a worker thread only");
const port = parentPort;
port.on("message", ({ id, request }) => {
  port.postMessage({ type: "started", id });
  const result = renderSections(request, (key) => port.postMessage({ type: "section", id, key }));
  port.postMessage({ type: "done", id, result });
});
port.postMessage({ type: "ready" });
