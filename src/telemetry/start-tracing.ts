import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";

export { buildTracesUrl } from "./build-traces-url.js";

/** Where spans go: an OTLP/HTTP endpoint, or (tests) an exporter of the caller's, which gets each span as it ends. */
export interface TracingOptions {
  /** The OTLP traces URL, e.g. http://collector:4318/v1/traces. */
  tracesUrl?: string | undefined;
  exporter?: SpanExporter;
  serviceName: string;
  serviceVersion?: string;
}

/** Tracing started for the process: flush and stop it on shutdown. */
export interface Tracing {
  shutdown(): Promise<void>;
}

/**
 * Register a tracer provider for the process, so the spans of src/telemetry/tracing.ts are
 * recorded and exported (in batches over OTLP/HTTP, or one by one to a given exporter).
 */
export function startTracing(options: TracingOptions): Tracing {
  const exporter = options.exporter ?? new OTLPTraceExporter(options.tracesUrl ? { url: options.tracesUrl } : {});
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}),
    }),
    spanProcessors: [options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
    },
  };
}
