import { Writable } from "node:stream";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { createLogger } from "../../../src/logging/create-logger.js";
import { startTracing, buildTracesUrl, type Tracing } from "../../../src/telemetry/start-tracing.js";
import { captureCause, contextFromTraceparent, traceWork } from "../../../src/telemetry/tracing.js";
import { trace } from "@opentelemetry/api";

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
beforeAll(() => {
  tracing = startTracing({ exporter, serviceName: "foreman-unit" });
});
afterAll(() => tracing.shutdown());
beforeEach(() => exporter.reset());

function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(chunk.toString("utf8"));
      lines.push(JSON.parse(chunk.toString("utf8")) as Record<string, unknown>);
      callback();
    },
  });
  return { log: createLogger({ level: "info", secrets: [], destination }), lines, raw };
}

describe("traceWork", () => {
  test("a job continues the trace stored with its row; its container is its child; both log lines name the job", async () => {
    const { log, lines, raw } = captureLogs();
    const stored = await traceWork("transition step_dispatched", { correlation: { deliveryId: "d-1" } }, async () =>
      captureCause(),
    );
    expect(stored.deliveryId).toBe("d-1");
    await traceWork(
      "job coder",
      { correlation: { jobId: "job-1", taskId: "task-1", deliveryId: stored.deliveryId! }, parent: stored.traceparent },
      () => traceWork("container", {}, async () => log.child({ taskId: "task-1" }).info("container ran")),
    );
    const spans = exporter.getFinishedSpans();
    const byName = new Map(spans.map((span) => [span.name, span]));
    const transition = byName.get("transition step_dispatched")!;
    const job = byName.get("job coder")!;
    const container = byName.get("container")!;
    expect(job.parentSpanContext?.spanId).toBe(transition.spanContext().spanId);
    expect(container.parentSpanContext?.spanId).toBe(job.spanContext().spanId);
    expect(job.attributes).toMatchObject({ "foreman.job_id": "job-1", "foreman.task_id": "task-1" });
    expect(lines).toEqual([expect.objectContaining({ jobId: "job-1", taskId: "task-1", deliveryId: "d-1" })]);
    expect(raw[0]!.match(/"taskId"/g)).toHaveLength(1);
  });

  test("a throw marks the span failed and reaches the caller; outside any work nothing is correlated", async () => {
    const { log, lines } = captureLogs();
    await expect(
      traceWork("effect open_draft_pr", {}, async () => {
        throw new Error("GitHub said no");
      }),
    ).rejects.toThrow("GitHub said no");
    expect(exporter.getFinishedSpans()[0]!.status).toMatchObject({ code: 2, message: "GitHub said no" });
    log.info({ deliveryId: "explicit" }, "outside");
    expect(lines[0]).toMatchObject({ deliveryId: "explicit" });
    expect(lines[0]).not.toHaveProperty("taskId");
    expect(captureCause()).toEqual({ deliveryId: null, traceparent: null });
  });

  test("a malformed or absent traceparent starts a trace of its own", () => {
    for (const bad of [null, "", "00-xyz", `00-${"0".repeat(32)}-${"1".repeat(16)}-01`]) {
      expect(trace.getSpanContext(contextFromTraceparent(bad))).toBeUndefined();
    }
    const good = `00-${"a".repeat(32)}-${"b".repeat(16)}-01`;
    expect(trace.getSpanContext(contextFromTraceparent(good))).toMatchObject({
      traceId: "a".repeat(32),
      isRemote: true,
    });
  });

  test("the OTLP traces URL follows the standard variables", () => {
    expect(buildTracesUrl(undefined, undefined)).toBeUndefined();
    expect(buildTracesUrl("http://collector:4318/", undefined)).toBe("http://collector:4318/v1/traces");
    expect(buildTracesUrl("http://a:4318", "http://b:4318/custom")).toBe("http://b:4318/custom");
  });
});
