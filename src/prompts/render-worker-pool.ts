import { Worker } from "node:worker_threads";
import type { RenderSectionsRequest, RenderSectionsResult } from "./render-sections.mjs";

/** A render's end in a worker: its result, or the limit that stopped it (the template, at `key`). */
export type WorkerRenderOutcome =
  { ok: true; result: RenderSectionsResult } | { ok: false; stop: "time" | "memory"; key: string };

/** How many workers a pool keeps, and what each may use. */
export interface RenderWorkerPoolOptions {
  /** Workers at most; each starts when a render needs it and then stays for the next ones. */
  size: number;
  /** Each worker's heap (old generation): a template that builds strings faster than the clock stops it fails here. */
  heapMb: number;
  /** How long a worker may take to load (Node and Handlebars): Foreman's time, bounded apart from a render's. */
  startMs: number;
  /** The worker's module (default `render-worker.mjs`); tests give one that misbehaves. */
  script?: URL;
}

type WorkerMessage =
  | { type: "ready" }
  | { type: "started"; id: number }
  | { type: "section"; id: number; key: string }
  | { type: "done"; id: number; result: RenderSectionsResult };

interface QueuedRender {
  id: number;
  request: RenderSectionsRequest;
  timeMs: number;
  resolve(outcome: WorkerRenderOutcome): void;
  reject(error: Error): void;
}

interface PooledWorker {
  worker: Worker;
  ready: boolean;
  render: QueuedRender | null;
  /** The template the render in flight is at, for the message of a render stopped there. */
  key: string;
  timer: NodeJS.Timeout | undefined;
}

/**
 * A few long-lived prompt render workers (`render-worker.mjs`), each rendering one prompt at a
 * time, renders waiting in order for the first free one (docs/adr/0106). Each render keeps its own
 * limits: one that outlives its time, or a worker that outgrows its heap, is stopped by terminating
 * that worker, which the next render that needs one replaces; every render is answered exactly once.
 */
export class RenderWorkerPool {
  readonly #options: RenderWorkerPoolOptions;
  readonly #workers = new Set<PooledWorker>();
  readonly #queue: QueuedRender[] = [];
  #nextId = 1;
  #started = 0;
  #closed = false;

  constructor(options: RenderWorkerPoolOptions) {
    this.#options = options;
  }

  /** How many workers the pool has started over its life (reuse keeps it low; each replacement adds one). */
  get startedWorkers(): number {
    return this.#started;
  }

  /** Render in the first free worker; the clock starts when the worker begins this render. Rejects when a worker fails (Foreman's trouble). */
  render(request: RenderSectionsRequest, timeMs: number): Promise<WorkerRenderOutcome> {
    if (this.#closed) return Promise.reject(new Error("The prompt render pool is closed."));
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, request, timeMs, resolve, reject });
      this.#dispatch();
    });
  }

  /** Stop every worker; renders waiting or in flight are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    const error = new Error("The prompt render pool was closed.");
    for (const render of this.#queue.splice(0)) render.reject(error);
    await Promise.all([...this.#workers].map((pooled) => this.#retire(pooled, error)));
  }

  #dispatch(): void {
    if (this.#closed) return;
    for (const pooled of this.#workers) {
      if (this.#queue.length === 0) return;
      if (pooled.ready && pooled.render === null) this.#assign(pooled, this.#queue.shift()!);
    }
    // Renders still waiting: start workers for them (each takes the next one once it is ready).
    let starting = [...this.#workers].filter((pooled) => !pooled.ready).length;
    while (this.#workers.size < this.#options.size && this.#queue.length > starting) {
      this.#spawn();
      starting += 1;
    }
  }

  #assign(pooled: PooledWorker, render: QueuedRender): void {
    pooled.render = render;
    pooled.key = render.request.sectionKeys[0] ?? "";
    // Until the worker says it began (it is idle, so at once), the start bound holds.
    pooled.timer = setTimeout(
      () => void this.#retire(pooled, new Error("The prompt render worker did not answer.")),
      this.#options.startMs,
    );
    pooled.worker.postMessage({ id: render.id, request: render.request });
  }

  #spawn(): void {
    const worker = new Worker(this.#options.script ?? new URL("./render-worker.mjs", import.meta.url), {
      // No secrets and no console in the render: the template sees the view, nothing else.
      env: {},
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: this.#options.heapMb },
    });
    worker.stdout.resume();
    worker.stderr.resume();
    // An idle worker does not keep the process alive; a render in flight holds its own timer.
    worker.unref();
    this.#started += 1;
    const pooled: PooledWorker = { worker, ready: false, render: null, key: "", timer: undefined };
    pooled.timer = setTimeout(
      () => void this.#retire(pooled, new Error("The prompt render worker did not start.")),
      this.#options.startMs,
    );
    this.#workers.add(pooled);
    worker.on("message", (message: WorkerMessage) => this.#receive(pooled, message));
    worker.on("error", (error: Error & { code?: string }) => {
      const outcome: WorkerRenderOutcome | Error =
        error.code === "ERR_WORKER_OUT_OF_MEMORY" ? { ok: false, stop: "memory", key: pooled.key } : error;
      void this.#retire(pooled, outcome);
    });
    worker.on(
      "exit",
      (code) => void this.#retire(pooled, new Error(`The prompt render worker exited with code ${code}.`)),
    );
  }

  #receive(pooled: PooledWorker, message: WorkerMessage): void {
    if (message.type === "ready") {
      clearTimeout(pooled.timer);
      pooled.ready = true;
      this.#dispatch();
      return;
    }
    const render = pooled.render;
    if (render === null || message.id !== render.id) return;
    if (message.type === "started") {
      clearTimeout(pooled.timer);
      pooled.timer = setTimeout(
        () => void this.#retire(pooled, { ok: false, stop: "time", key: pooled.key }),
        render.timeMs,
      );
    } else if (message.type === "section") pooled.key = message.key;
    else {
      clearTimeout(pooled.timer);
      pooled.render = null;
      render.resolve({ ok: true, result: message.result });
      this.#dispatch();
    }
  }

  /**
   * Take a worker out of the pool (once: a terminated worker's exit comes back here) and answer for
   * its render: the one in flight, or, for a worker that never became ready, the oldest waiting one
   * it was started for (so a worker that cannot start fails renders one by one, never in a loop).
   */
  async #retire(pooled: PooledWorker, outcome: WorkerRenderOutcome | Error): Promise<void> {
    if (!this.#workers.delete(pooled)) return;
    clearTimeout(pooled.timer);
    const render = pooled.render ?? (pooled.ready ? undefined : this.#queue.shift());
    pooled.render = null;
    if (render) {
      if (outcome instanceof Error) render.reject(outcome);
      else render.resolve(outcome);
    }
    this.#dispatch();
    await pooled.worker.terminate();
  }
}
