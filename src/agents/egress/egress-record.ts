/**
 * The evidence of a job's egress: one record per connection attempt through the proxy, allowed or
 * refused, as the runner returns it and the job outcome carries it (`JobRunFacts.egress`). Pure.
 */

/** Why the proxy let a request through or refused it. */
export const EGRESS_REASONS = Object.freeze({
  /** The job's policy lists the host and port. */
  allowed: "allowed",
  /** A host name the policy does not list, or a listed one on another port. */
  notAllowed: "not-allowed",
  /** An IPv4 or IPv6 address instead of a name (e.g. 169.254.169.254): never allowed. */
  ipLiteral: "ip-literal",
  /** Not a host name at all. */
  invalidHost: "invalid-host",
  /** The request came from a network that has no policy (not a job's, or the job has ended). */
  noPolicy: "no-policy",
  /** An allowed name that resolves to an internal address (this host, a private network, metadata). */
  internalAddress: "internal-address",
  /** Not CONNECT and not plain http:// (ftp://, …). */
  notHttp: "not-http",
  /** The proxy could not parse the request. */
  invalidRequest: "invalid-request",
} as const);

/** One of the egress reasons. */
export type EgressReason = (typeof EGRESS_REASONS)[keyof typeof EGRESS_REASONS];

/** One connection attempt through the egress proxy. */
export interface EgressRecord {
  /** When the proxy received the request (ISO 8601). */
  readonly at: string;
  /** CONNECT for a TLS tunnel, else the plain-HTTP method. */
  readonly method: string;
  readonly host: string;
  readonly port: number | null;
  readonly verdict: "allowed" | "refused";
  readonly reason: EgressReason;
  /** The HTTP status the proxy answered (200 for an open tunnel, 403 when refused, 503 when the host could not be reached). */
  readonly status: number | null;
  /** Bytes the agent sent through the proxy (request and tunnel). */
  readonly bytesUp: number;
  /** Bytes the proxy sent to the agent (response and tunnel). */
  readonly bytesDown: number;
  readonly durationMs: number;
  /** False when the proxy had judged the request but not finished it when the job's records were collected. */
  readonly complete: boolean;
}

/** A record as one `system` line of the job's execution log. */
export function describeEgressRecord(record: EgressRecord): string {
  const target = record.port === null ? record.host : `${record.host}:${record.port}`;
  const facts = [
    record.verdict === "allowed" ? null : record.reason,
    record.status === null ? null : `status ${record.status}`,
    `${record.bytesUp} B up`,
    `${record.bytesDown} B down`,
    `${record.durationMs} ms`,
    record.complete ? null : "still open when the job ended",
  ].filter((fact): fact is string => fact !== null);
  return `[foreman] egress ${record.verdict} ${record.method} ${target} (${facts.join(", ")})`;
}
