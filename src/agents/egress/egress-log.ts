/**
 * A job's egress as `system` lines of its execution log, placed in time among the agent's own
 * output: the policy when the network opened, what the repository asked for in vain, one line per
 * connection attempt, and anything the records cannot say. Pure.
 */
import type { EgressReport, EgressSession, LogLine } from "../runner.js";
import type { EgressRefusal } from "./egress-policy.js";
import { describeEgressRecord } from "./egress-record.js";

/** Everything about one job's egress, for its log and its outcome (`JobRunFacts.egress`). */
export interface JobEgressFacts {
  /** The job's network. */
  readonly network: string;
  /** The policy: the `host:port` entries the job could reach. */
  readonly allowed: readonly string[];
  /** Entries the repository asked for that the operator does not allow (the job ran without them). */
  readonly refusedByPolicy: readonly EgressRefusal[];
  /** Every connection attempt through the proxy, oldest first. */
  readonly records: EgressReport["records"];
  readonly notes: readonly string[];
}

/** Builds the facts of a closed egress session. */
export function buildJobEgressFacts(
  session: EgressSession,
  report: EgressReport,
  refusedByPolicy: readonly EgressRefusal[],
): JobEgressFacts {
  return {
    network: session.network,
    allowed: session.rules,
    refusedByPolicy,
    records: report.records,
    notes: report.notes,
  };
}

/** The facts as `system` log lines, timestamped where they happened. */
export function buildEgressLogLines(facts: JobEgressFacts, openedAt: string, closedAt: string): LogLine[] {
  const allowed = facts.allowed.length > 0 ? facts.allowed.join(", ") : "nothing";
  return [
    { t: openedAt, stream: "system", line: `[foreman] egress: this job may reach ${allowed}, through the proxy only` },
    ...facts.refusedByPolicy.map((refusal): LogLine => ({
      t: openedAt,
      stream: "system",
      line: `[foreman] ${refusal.message}`,
    })),
    ...facts.records.map((record): LogLine => ({ t: record.at, stream: "system", line: describeEgressRecord(record) })),
    ...facts.notes.map((note): LogLine => ({ t: closedAt, stream: "system", line: `[foreman] ${note}` })),
  ];
}

/**
 * Merges `extra` into `lines` by time, both kept in their own order; a line without a time keeps
 * its place after the line before it.
 */
export function mergeLogLinesByTime(lines: readonly LogLine[], extra: readonly LogLine[]): LogLine[] {
  const merged: LogLine[] = [];
  let next = 0;
  let lastTime = Number.NEGATIVE_INFINITY;
  for (const line of lines) {
    const time = line.t === null ? lastTime : Date.parse(line.t);
    lastTime = Number.isNaN(time) ? lastTime : time;
    while (next < extra.length && timeOf(extra[next]!) < lastTime) merged.push(extra[next++]!);
    merged.push(line);
  }
  while (next < extra.length) merged.push(extra[next++]!);
  return merged;
}

function timeOf(line: LogLine): number {
  const time = line.t === null ? Number.NEGATIVE_INFINITY : Date.parse(line.t);
  return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
}

/** The destinations (`host:port`, or the host when the request named no port) the proxy refused, in order. */
export function listRefusedDestinations(facts: JobEgressFacts | undefined): string[] {
  return (facts?.records ?? [])
    .filter((record) => record.verdict === "refused")
    .map((record) => (record.port === null ? record.host : `${record.host}:${record.port}`));
}
