import { afterEach, describe, expect, test } from "vitest";
import type { RenderSectionsRequest } from "../../../src/prompts/render-sections.mjs";
import { RenderWorkerPool } from "../../../src/prompts/render-worker-pool.js";

// The pool's workers are long-lived: reused render after render, replaced when one is stopped
// at a render's time limit or crashes, and every render is answered once.

const pools: RenderWorkerPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

function createPool(options: { size: number; script?: URL }): RenderWorkerPool {
  const pool = new RenderWorkerPool({ heapMb: 64, startMs: 60_000, ...options });
  pools.push(pool);
  return pool;
}

function buildRequest(source: string, view: Record<string, unknown>): RenderSectionsRequest {
  return {
    sources: { "tasks/a.md.hbs": source },
    partials: {},
    sectionKeys: ["tasks/a.md.hbs"],
    view,
    compileOptions: {},
    maxOutputChars: 1_000_000,
  };
}

// 400 items, each loop over all of them: five nested loops are 400^5 iterations, days of work.
const ITEMS = Array.from({ length: 400 }, (_, index) => index);
const NESTED_EACH =
  "{{#each items}}{{#each @root.items}}{{#each @root.items}}{{#each @root.items}}{{#each @root.items}}" +
  "{{this}}{{/each}}{{/each}}{{/each}}{{/each}}{{/each}}";
const CRASHING_WORKER = new URL("./crashing-render-worker.mjs", import.meta.url);

describe("RenderWorkerPool", () => {
  test("renders one after another in the same worker", async () => {
    const pool = createPool({ size: 2 });
    for (const name of ["a", "b", "c"]) {
      await expect(pool.render(buildRequest("Hello {{name}}", { name }), 5_000)).resolves.toEqual({
        ok: true,
        result: { ok: true, texts: [`Hello ${name}`] },
      });
    }
    expect(pool.startedWorkers).toBe(1);
  });

  test("renders at once share at most `size` workers, each answered with its own text", async () => {
    const pool = createPool({ size: 2 });
    const names = Array.from({ length: 8 }, (_, index) => `n${index}`);
    const outcomes = await Promise.all(names.map((name) => pool.render(buildRequest("{{name}}", { name }), 5_000)));
    expect(outcomes).toEqual(names.map((name) => ({ ok: true, result: { ok: true, texts: [name] } })));
    expect(pool.startedWorkers).toBe(2);
  });

  test("a render past its time limit is stopped, its worker replaced, and the renders behind it still answered", async () => {
    const pool = createPool({ size: 1 });
    const slow = pool.render(buildRequest(NESTED_EACH, { items: ITEMS }), 100);
    const next = pool.render(buildRequest("after {{name}}", { name: "slow" }), 5_000);
    await expect(slow).resolves.toEqual({ ok: false, stop: "time", key: "tasks/a.md.hbs" });
    await expect(next).resolves.toEqual({ ok: true, result: { ok: true, texts: ["after slow"] } });
    expect(pool.startedWorkers).toBe(2);
  });

  test("a worker that crashes fails its render only; the next render gets a new worker", async () => {
    const pool = createPool({ size: 1, script: CRASHING_WORKER });
    await expect(pool.render(buildRequest("{{name}}", { name: "first" }), 5_000)).resolves.toMatchObject({ ok: true });
    const crashed = pool.render(buildRequest("{{name}}", { crash: true }), 5_000);
    const next = pool.render(buildRequest("{{name}}", { name: "next" }), 5_000);
    await expect(crashed).rejects.toThrow("The prompt render worker exited with code 7.");
    await expect(next).resolves.toEqual({ ok: true, result: { ok: true, texts: ["next"] } });
    expect(pool.startedWorkers).toBe(2);
  });

  test("closing rejects renders waiting and in flight, and refuses new ones", async () => {
    const pool = createPool({ size: 1 });
    const inFlight = pool.render(buildRequest(NESTED_EACH, { items: ITEMS }), 60_000);
    const waiting = pool.render(buildRequest("{{name}}", { name: "late" }), 5_000);
    const answers = Promise.all([
      expect(inFlight).rejects.toThrow("The prompt render pool was closed."),
      expect(waiting).rejects.toThrow("The prompt render pool was closed."),
    ]);
    await pool.close();
    await answers;
    await expect(pool.render(buildRequest("x", {}), 5_000)).rejects.toThrow("The prompt render pool is closed.");
  });
});
