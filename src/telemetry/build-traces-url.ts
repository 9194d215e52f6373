// Apart from start-tracing.ts, so `foreman serve` reads the setting without loading the OpenTelemetry SDK.

/** The OTLP traces URL from the standard variables: the traces endpoint as given, or `/v1/traces` under the base endpoint. */
export function buildTracesUrl(endpoint: string | undefined, tracesEndpoint: string | undefined): string | undefined {
  if (tracesEndpoint) return tracesEndpoint;
  if (!endpoint) return undefined;
  return `${endpoint.replace(/\/+$/, "")}/v1/traces`;
}
