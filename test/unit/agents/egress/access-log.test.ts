import { describe, expect, it } from "vitest";
import {
  collectJobEgress,
  parseAccessLogLine,
  parsePolicyCheckLine,
} from "../../../../src/agents/egress/access-log.js";

// Lines as squid 5.7 writes them with the rendered logformat (taken from a run of the proxy).
const tunnel =
  "foreman-egress v1 55 1796188738.273 1023 job-A allowed 172.19.0.2 172.19.0.3 CONNECT - api.allowed.test 443 200 TCP_TUNNEL 67 5120";
const plain =
  "foreman-egress v1 53 1796188738.251 20 job-A allowed 172.19.0.2 172.19.0.3 GET http api.allowed.test 80 200 TCP_MISS 102 311";
const refused =
  "foreman-egress v1 56 1796188738.300 0 job-A not-allowed 172.19.0.2 172.19.0.3 CONNECT - other.test 443 403 TCP_DENIED 41 3423";
const metadata =
  "foreman-egress v1 57 1796188738.301 0 job-A ip-literal 172.19.0.2 172.19.0.3 GET http 169.254.169.254 80 403 TCP_DENIED 117 3446";
const ipv6 =
  "foreman-egress v1 58 1796188738.302 0 job-A ip-literal 172.19.0.2 172.19.0.3 CONNECT - %5B::1%5D 443 403 TCP_DENIED 30 3401";
const internal =
  "foreman-egress v1 59 1796188738.303 2 job-A allowed 172.19.0.2 172.19.0.3 CONNECT - rebind.allowed.test 443 403 TCP_DENIED 60 3400";
const ftp =
  "foreman-egress v1 60 1796188738.304 0 job-A allowed 172.19.0.2 172.19.0.3 GET ftp api.allowed.test 21 403 TCP_DENIED 60 3400";
const garbage = "foreman-egress v1 61 1796188738.305 1 - - 172.19.0.2 172.19.0.3 - - - - 400 NONE_NONE 18 3558";
const otherJob =
  "foreman-egress v1 70 1796188738.400 1 job-B allowed 172.30.0.2 172.30.0.3 CONNECT - api.allowed.test 443 200 TCP_TUNNEL 67 99";

describe("parseAccessLogLine", () => {
  it("reads every field of a tunnel", () => {
    expect(parseAccessLogLine(tunnel)).toEqual({
      xaction: "55",
      at: "2026-12-02T05:18:58.273Z",
      durationMs: 1023,
      tag: "job-A",
      helperLog: "allowed",
      proxyAddress: "172.19.0.2",
      clientAddress: "172.19.0.3",
      method: "CONNECT",
      scheme: null,
      host: "api.allowed.test",
      port: 443,
      status: 200,
      squidStatus: "TCP_TUNNEL",
      bytesUp: 67,
      bytesDown: 5120,
    });
  });

  it("ignores squid's own messages and other formats", () => {
    expect(parseAccessLogLine("2026/12/02 05:17:07| Accepting HTTP Socket connections at conn6")).toBeNull();
    expect(parseAccessLogLine("foreman-egress v2 1 2 3")).toBeNull();
    expect(parsePolicyCheckLine(tunnel)).toBeNull();
  });

  it("reads the helper's check lines", () => {
    expect(parsePolicyCheckLine("foreman-egress-check v1 55 job-A 172.19.0.2 api.allowed.test 443 allowed")).toEqual({
      xaction: "55",
      jobId: "job-A",
      proxyAddress: "172.19.0.2",
      host: "api.allowed.test",
      port: 443,
      reason: "allowed",
    });
  });
});

describe("collectJobEgress", () => {
  const at = (line: string) => ({ t: "2026-12-02T05:18:59.000000000Z", line });

  it("gives one record per attempt of this job, with verdict, reason and bytes, oldest first", () => {
    const { records, pending } = collectJobEgress(
      [tunnel, plain, refused, metadata, ipv6, internal, ftp, garbage, otherJob].map(at),
      { jobId: "job-A", proxyAddress: "172.19.0.2" },
    );
    expect(pending).toEqual([]);
    expect(
      records.map((record) => [record.method, record.host, record.port, record.verdict, record.reason, record.status]),
    ).toEqual([
      ["GET", "api.allowed.test", 80, "allowed", "allowed", 200],
      ["CONNECT", "api.allowed.test", 443, "allowed", "allowed", 200],
      ["CONNECT", "other.test", 443, "refused", "not-allowed", 403],
      ["GET", "169.254.169.254", 80, "refused", "ip-literal", 403],
      ["CONNECT", "[::1]", 443, "refused", "ip-literal", 403],
      ["CONNECT", "rebind.allowed.test", 443, "refused", "internal-address", 403],
      ["GET", "api.allowed.test", 21, "refused", "not-http", 403],
      ["-", "-", null, "refused", "invalid-request", 400],
    ]);
    expect(records[1]).toMatchObject({ bytesUp: 67, bytesDown: 5120, durationMs: 1023, complete: true });
  });

  it("never mixes in another job's lines, even from a reused proxy address", () => {
    const reused = otherJob.replace("172.30.0.2", "172.19.0.2");
    const { records } = collectJobEgress([at(reused), at(tunnel)], { jobId: "job-A", proxyAddress: "172.19.0.2" });
    expect(records.map((record) => record.bytesDown)).toEqual([5120]);
  });

  it("reports what the helper judged but the proxy has not finished as pending, then as an incomplete record", () => {
    const check = "foreman-egress-check v1 80 job-A 172.19.0.2 api.allowed.test 443 allowed";
    const other = "foreman-egress-check v1 81 job-B 172.30.0.2 api.allowed.test 443 allowed";
    const done = "foreman-egress-check v1 55 job-A 172.19.0.2 api.allowed.test 443 allowed";
    const { records, pending } = collectJobEgress([at(check), at(other), at(done), at(tunnel)], {
      jobId: "job-A",
      proxyAddress: "172.19.0.2",
    });
    expect(pending).toEqual(["80"]);
    expect(records.find((record) => !record.complete)).toEqual({
      at: "2026-12-02T05:18:59.000Z",
      method: "?",
      host: "api.allowed.test",
      port: 443,
      verdict: "allowed",
      reason: "allowed",
      status: null,
      bytesUp: 0,
      bytesDown: 0,
      durationMs: 0,
      complete: false,
    });
  });
});
