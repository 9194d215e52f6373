// A render worker for render-worker-pool.test.ts: the real one (render-worker.mjs), except that it
// exits, as a crashed thread does, when it is sent a render whose view says `crash`.
import process from "node:process";
import { parentPort } from "node:worker_threads";

parentPort?.on("message", ({ request }) => {
  if (request.view?.crash === true) process.exit(7);
});
await import("../../../src/prompts/render-worker.mjs");
