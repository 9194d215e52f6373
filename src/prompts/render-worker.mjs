// The prompt render worker (node:worker_threads): renders one prompt off the event loop, so a
// repository's template that loops for minutes or grows without end costs this thread, which
// renderPromptInWorker (render-prompt.ts) terminates at its time limit. Plain JavaScript, so it
// starts the same under tsx, vitest and from dist/. Messages: "started" (the render begins),
// "section" (the template about to render) and "done" (the result of renderSections).
import { parentPort, workerData } from "node:worker_threads";
import Handlebars from "handlebars";
import { renderSections } from "./render-sections.mjs";

// Handlebars reports denied prototype access (`{{constructor}}`) on the console; a template's
// attempt is not the operator's business, and the access renders as nothing anyway. Levels go
// from 0 (debug) to 3 (error): 4 is above them all.
Handlebars.logger.level = 4;

if (parentPort === null) throw new Error("render-worker.mjs runs as a worker thread only");
const port = parentPort;
port.postMessage({ type: "started" });
const result = renderSections(workerData, (key) => port.postMessage({ type: "section", key }));
port.postMessage({ type: "done", result });
