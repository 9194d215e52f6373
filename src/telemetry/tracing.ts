/**
 * Foreman's trace spans, through the OpenTelemetry API only. Without a tracer provider (tracing is
 * off unless configured, see start-tracing.ts) the API's no-op tracer makes every wrapper here a
 * plain call. Each wrapper also sets the log correlation (src/logging/correlation.ts), so a span
 * and the log lines written inside it name the same delivery, task and job.
 */
import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
} from "@opentelemetry/api";
import { addCorrelation, readCorrelation, runCorrelated, type Correlation } from "../logging/correlation.js";

/** The instrumentation scope of every Foreman span. */
export const TRACER_NAME = "foreman";

/** What a span of work is about: its log correlation, its attributes, and where it continues from. */
export interface Work {
  correlation?: Correlation;
  attributes?: Attributes;
  /**
   * The W3C traceparent stored with the row this work comes from (an inbox event, an effect, a
   * job): the span continues that trace. Unset: a child of the current span. Null: the row kept
   * none, so the work starts a trace of its own.
   */
  parent?: string | null;
  kind?: "server" | "client" | "consumer" | "internal";
}

/** What a row Foreman stores remembers of the work that stored it: the delivery and the span. */
export interface Cause {
  deliveryId: string | null;
  traceparent: string | null;
}

const KINDS = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
} as const;

/** Run `fn` in a span named `name`, with the work's log correlation; a throw marks the span failed and goes on. */
export function traceWork<T>(name: string, work: Work, fn: () => Promise<T>): Promise<T> {
  const parent = work.parent === undefined ? context.active() : contextFromTraceparent(work.parent);
  const attributes = { ...describeCorrelation(work.correlation ?? {}), ...work.attributes };
  return runCorrelated(work.correlation ?? {}, () =>
    trace
      .getTracer(TRACER_NAME)
      .startActiveSpan(name, { kind: KINDS[work.kind ?? "internal"], attributes }, parent, async (span) => {
        try {
          return await fn();
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) });
          throw error;
        } finally {
          span.end();
        }
      }),
  );
}

/** Name what the current work turned out to be about (the task an event is for), on its span and its later log lines. */
export function annotateWork(fields: Correlation, attributes: Attributes = {}): void {
  addCorrelation(fields);
  trace.getActiveSpan()?.setAttributes({ ...describeCorrelation(fields), ...attributes });
}

/** Put attributes on the current span (an HTTP status once the answer is in). */
export function setWorkAttributes(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** The delivery and span of the current work, for a row it stores (the next work continues from it). */
export function captureCause(): Cause {
  return { deliveryId: readCorrelation().deliveryId ?? null, traceparent: captureTraceparent() };
}

/** The W3C traceparent of the current span, or null outside a valid one. */
export function captureTraceparent(): string | null {
  const span = trace.getActiveSpan()?.spanContext();
  if (!span || !isSpanContextValid(span)) return null;
  const sampled = (span.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
  return `00-${span.traceId}-${span.spanId}-${sampled ? "01" : "00"}`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A context whose parent is the span a traceparent names; the root context for null or a malformed one. */
export function contextFromTraceparent(traceparent: string | null): Context {
  const match = traceparent === null ? null : TRACEPARENT.exec(traceparent);
  if (!match) return ROOT_CONTEXT;
  const spanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16),
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}

function describeCorrelation(fields: Correlation): Attributes {
  const attributes: Attributes = {};
  if (fields.deliveryId) attributes["foreman.delivery_id"] = fields.deliveryId;
  if (fields.taskId) attributes["foreman.task_id"] = fields.taskId;
  if (fields.jobId) attributes["foreman.job_id"] = fields.jobId;
  return attributes;
}
