import { describe, expect, it } from "vitest";
import {
  buildEgressLogLines,
  buildJobEgressFacts,
  mergeLogLinesByTime,
} from "../../../../src/agents/egress/egress-log.js";
import type { EgressRecord } from "../../../../src/agents/egress/egress-record.js";
import type { EgressSession, LogLine } from "../../../../src/agents/runner.js";

const session: EgressSession = {
  jobId: "j1",
  network: "foreman-egress-job-j1",
  proxyUrl: "http://foreman-egress-proxy:3128",
  proxyAddress: "172.19.0.2",
  proxyContainerId: "c0ffee",
  dns: ["192.0.2.1"],
  rules: ["api.anthropic.com:443"],
  openedAt: "2030-01-01T00:00:00.000Z",
};
const allowed: EgressRecord = {
  at: "2030-01-01T00:00:02.000Z",
  method: "CONNECT",
  host: "api.anthropic.com",
  port: 443,
  verdict: "allowed",
  reason: "allowed",
  status: 200,
  bytesUp: 1200,
  bytesDown: 5400,
  durationMs: 830,
  complete: true,
};
const refused: EgressRecord = {
  ...allowed,
  at: "2030-01-01T00:00:04.000Z",
  host: "169.254.169.254",
  port: 80,
  method: "GET",
  verdict: "refused",
  reason: "ip-literal",
  status: 403,
  bytesUp: 90,
  bytesDown: 3400,
  durationMs: 0,
};

describe("egress in the execution log", () => {
  const facts = buildJobEgressFacts(
    session,
    {
      records: [allowed, refused],
      notes: ["1 egress request(s) had not finished when the job ended: their byte counts are missing."],
    },
    [{ entry: "pypi.org:443", message: "Egress to pypi.org:443, asked for by … is refused: …" }],
  );

  it("keeps the policy, the refusals and every record as the job's egress facts", () => {
    expect(facts).toMatchObject({
      network: "foreman-egress-job-j1",
      allowed: ["api.anthropic.com:443"],
      refusedByPolicy: [{ entry: "pypi.org:443" }],
      records: [allowed, refused],
    });
  });

  it("writes one system line per fact, each at its time", () => {
    expect(buildEgressLogLines(facts, session.openedAt, "2030-01-01T00:00:09.000Z")).toEqual([
      {
        t: "2030-01-01T00:00:00.000Z",
        stream: "system",
        line: "[foreman] egress: this job may reach api.anthropic.com:443, through the proxy only",
      },
      {
        t: "2030-01-01T00:00:00.000Z",
        stream: "system",
        line: "[foreman] Egress to pypi.org:443, asked for by … is refused: …",
      },
      {
        t: "2030-01-01T00:00:02.000Z",
        stream: "system",
        line: "[foreman] egress allowed CONNECT api.anthropic.com:443 (status 200, 1200 B up, 5400 B down, 830 ms)",
      },
      {
        t: "2030-01-01T00:00:04.000Z",
        stream: "system",
        line: "[foreman] egress refused GET 169.254.169.254:80 (ip-literal, status 403, 90 B up, 3400 B down, 0 ms)",
      },
      {
        t: "2030-01-01T00:00:09.000Z",
        stream: "system",
        line: "[foreman] 1 egress request(s) had not finished when the job ended: their byte counts are missing.",
      },
    ]);
  });

  it("merges them among the agent's output by time, keeping each stream's order", () => {
    const output: LogLine[] = [
      { t: "2030-01-01T00:00:01.000000001Z", stream: "stdout", line: "a" },
      { t: "2030-01-01T00:00:03.5Z", stream: "stdout", line: "b" },
      { t: null, stream: "system", line: "gap" },
      { t: "2030-01-01T00:00:05.000Z", stream: "stderr", line: "c" },
    ];
    const extra: LogLine[] = [
      { t: "2030-01-01T00:00:00.000Z", stream: "system", line: "0" },
      { t: "2030-01-01T00:00:02.000Z", stream: "system", line: "2" },
      { t: "2030-01-01T00:00:04.000Z", stream: "system", line: "4" },
      { t: "2030-01-01T00:00:09.000Z", stream: "system", line: "9" },
    ];
    expect(mergeLogLinesByTime(output, extra).map((line) => line.line)).toEqual([
      "0",
      "a",
      "2",
      "b",
      "gap",
      "4",
      "c",
      "9",
    ]);
  });
});
