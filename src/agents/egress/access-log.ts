/**
 * Reads the egress proxy's log back into records for one job. Pure.
 *
 * The proxy writes two kinds of lines (formats in squid-config.ts):
 *   stdout  `foreman-egress v1 <xaction> <start> <ms> <tag> <helper log> <proxy addr> <client addr>
 *            <method> <scheme> <host> <port> <status> <squid status> <bytes in> <bytes out>`
 *           once a request is finished (for a tunnel: when it closes);
 *   stderr  `foreman-egress-check v1 <xaction> <job> <proxy addr> <host> <port> <reason>`
 *           from the policy helper, as soon as a request is judged.
 * A job's records are its access lines (tagged with its id, or untagged from its network); a check
 * without an access line is a request still in flight, which the runner waits for a little.
 */
import { EGRESS_LOG_TAGS } from "./squid-config.js";
import { EGRESS_REASONS, type EgressReason, type EgressRecord } from "./egress-record.js";

/** One access-log line, parsed. */
export interface AccessLogEntry {
  readonly xaction: string;
  readonly at: string;
  readonly durationMs: number;
  readonly tag: string | null;
  readonly helperLog: string | null;
  readonly proxyAddress: string;
  readonly clientAddress: string;
  readonly method: string;
  readonly scheme: string | null;
  readonly host: string;
  readonly port: number | null;
  readonly status: number | null;
  readonly squidStatus: string;
  readonly bytesUp: number;
  readonly bytesDown: number;
}

/** One check line of the policy helper, parsed. */
export interface PolicyCheckEntry {
  readonly xaction: string;
  readonly jobId: string | null;
  readonly proxyAddress: string;
  readonly host: string;
  readonly port: number | null;
  readonly reason: string;
}

/** A line of the proxy's output with the engine's timestamp, as the runner reads it. */
export interface ProxyLogLine {
  readonly t: string | null;
  readonly line: string;
}

/** Which job's records to collect. */
export interface JobEgressKey {
  readonly jobId: string;
  /** The proxy's address on the job's network: untagged lines from it are the job's too. */
  readonly proxyAddress: string;
}

/** A job's records, and the requests judged but not finished yet. */
export interface JobEgress {
  readonly records: readonly EgressRecord[];
  /** Transactions the helper judged for this job that have no access line yet. */
  readonly pending: readonly string[];
}

const KNOWN_REASONS = new Set<string>(Object.values(EGRESS_REASONS));

/** Parses an access-log line; null for any other line. */
export function parseAccessLogLine(line: string): AccessLogEntry | null {
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== EGRESS_LOG_TAGS.access || fields[1] !== "v1" || fields.length !== 17) return null;
  const [, , xaction, start, took, tag, helperLog, proxyAddress, clientAddress, method, scheme, host, port, status] =
    fields as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
  const startedMs = Math.round(Number(start) * 1000);
  if (!Number.isFinite(startedMs)) return null;
  return {
    xaction,
    at: new Date(startedMs).toISOString(),
    durationMs: toCount(took),
    tag: orNull(decode(tag)),
    helperLog: orNull(decode(helperLog)),
    proxyAddress,
    clientAddress,
    method: decode(method),
    scheme: orNull(decode(scheme)),
    host: decode(host),
    port: toPort(port),
    status: toStatus(status),
    squidStatus: fields[14] ?? "",
    bytesUp: toCount(fields[15] ?? ""),
    bytesDown: toCount(fields[16] ?? ""),
  };
}

/** Parses a helper check line; null for any other line. */
export function parsePolicyCheckLine(line: string): PolicyCheckEntry | null {
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== EGRESS_LOG_TAGS.check || fields[1] !== "v1" || fields.length !== 8) return null;
  const [, , xaction, jobId, proxyAddress, host, port, reason] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { xaction, jobId: orNull(jobId), proxyAddress, host: decode(host), port: toPort(port), reason };
}

/** Turns an access-log entry into the record of the attempt. */
export function toEgressRecord(entry: AccessLogEntry): EgressRecord {
  const denied = entry.squidStatus.includes("DENIED");
  const judged = entry.helperLog === null ? null : entry.helperLog;
  let reason: EgressReason;
  if (judged !== null && judged !== EGRESS_REASONS.allowed && KNOWN_REASONS.has(judged)) {
    reason = judged as EgressReason;
  } else if (judged === EGRESS_REASONS.allowed && !denied) {
    reason = EGRESS_REASONS.allowed;
  } else if (judged === EGRESS_REASONS.allowed) {
    // The helper allowed it, so squid's later rules refused it: the scheme, else the address.
    reason =
      entry.method !== "CONNECT" && entry.scheme !== "http" ? EGRESS_REASONS.notHttp : EGRESS_REASONS.internalAddress;
  } else {
    // Never judged by the helper: squid could not parse the request.
    reason = EGRESS_REASONS.invalidRequest;
  }
  return {
    at: entry.at,
    method: entry.method,
    host: entry.host,
    port: entry.port,
    verdict: reason === EGRESS_REASONS.allowed ? "allowed" : "refused",
    reason,
    status: entry.status,
    bytesUp: entry.bytesUp,
    bytesDown: entry.bytesDown,
    durationMs: entry.durationMs,
    complete: true,
  };
}

/** Collects one job's records from the proxy's log lines, oldest first. */
export function collectJobEgress(lines: readonly ProxyLogLine[], key: JobEgressKey): JobEgress {
  const finished = new Map<string, EgressRecord>();
  const checks = new Map<string, { entry: PolicyCheckEntry; t: string | null }>();
  for (const { t, line } of lines) {
    const access = parseAccessLogLine(line);
    if (access !== null) {
      const ours = access.tag === key.jobId || (access.tag === null && access.proxyAddress === key.proxyAddress);
      if (ours) finished.set(access.xaction, toEgressRecord(access));
      continue;
    }
    const check = parsePolicyCheckLine(line);
    if (check !== null && check.jobId === key.jobId && !checks.has(check.xaction)) {
      checks.set(check.xaction, { entry: check, t });
    }
  }
  const pending = [...checks.keys()].filter((xaction) => !finished.has(xaction));
  const unfinished = pending.map((xaction) => toUnfinishedRecord(checks.get(xaction)!));
  const records = [...finished.values(), ...unfinished].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return { records, pending };
}

function toUnfinishedRecord({ entry, t }: { entry: PolicyCheckEntry; t: string | null }): EgressRecord {
  const reason = KNOWN_REASONS.has(entry.reason) ? (entry.reason as EgressReason) : EGRESS_REASONS.notAllowed;
  return {
    at: t === null ? new Date(0).toISOString() : new Date(Date.parse(t)).toISOString(),
    method: "?",
    host: entry.host,
    port: entry.port,
    verdict: reason === EGRESS_REASONS.allowed ? "allowed" : "refused",
    reason,
    status: null,
    bytesUp: 0,
    bytesDown: 0,
    durationMs: 0,
    complete: false,
  };
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function orNull(value: string): string | null {
  return value === "-" || value === "" ? null : value;
}

function toCount(value: string): number {
  const count = Number(value);
  return Number.isFinite(count) && count >= 0 ? count : 0;
}

function toPort(value: string): number | null {
  const port = Number(value);
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : null;
}

function toStatus(value: string): number | null {
  const status = Number(value);
  return Number.isInteger(status) && status > 0 ? status : null;
}
