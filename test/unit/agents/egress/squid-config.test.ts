import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { matchesEgressRule } from "../../../../src/agents/egress/egress-rule.js";
import {
  buildPolicyFileName,
  readPolicyJobId,
  renderPolicyFile,
  renderPolicyHelper,
  renderSquidConfig,
} from "../../../../src/agents/egress/squid-config.js";

describe("renderSquidConfig", () => {
  const config = renderSquidConfig({ internalAllow: [] });
  const lines = config.split("\n");

  it("judges every request by the job's policy first, then the scheme, then internal addresses, and refuses the rest", () => {
    expect(lines.filter((line) => line.startsWith("http_access"))).toEqual([
      "http_access deny !foreman_policy",
      "http_access deny !CONNECT !foreman_http",
      "http_access deny foreman_internal_dst",
      "http_access allow foreman_policy",
      "http_access deny all",
    ]);
  });

  it("asks the helper about every request (no result cache) and logs each one with its tag and bytes", () => {
    expect(lines).toContain(
      "external_acl_type foreman_policy ttl=0 negative_ttl=0 children-max=16 children-startup=2 %master_xaction %>la %>a %>rd %>rP %>rm /bin/sh /etc/foreman-egress/policy-helper.sh /etc/foreman-egress/policies",
    );
    expect(lines).toContain(
      "logformat foreman_egress foreman-egress v1 %master_xaction %tS %tr %#et %#ea %>la %>a %#>rm %#>rs %#>rd %>rP %>Hs %Ss %>st %<st",
    );
    expect(lines).toContain("access_log stdio:/dev/stdout foreman_egress");
  });

  it("refuses this host, private networks, link-local metadata and reserved ranges; caches nothing; leaks no client address", () => {
    const internal = lines
      .find((line) => line.startsWith("acl foreman_internal_dst dst "))!
      .split(" ")
      .slice(3);
    expect(internal).toEqual(
      expect.arrayContaining([
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "::1/128",
        "fe80::/10",
        "fc00::/7",
      ]),
    );
    expect(lines).toEqual(
      expect.arrayContaining(["cache deny all", "via off", "forwarded_for delete", "http_port 3128"]),
    );
  });

  it("lets an operator allow named internal ranges, and only those", () => {
    const allowed = renderSquidConfig({ internalAllow: ["10.20.0.0/16", "fd00:1::/64"] }).split("\n");
    expect(allowed).toContain("acl foreman_internal_allowed dst 10.20.0.0/16 fd00:1::/64");
    expect(allowed).toContain("http_access deny foreman_internal_dst !foreman_internal_allowed");
  });
});

describe("policy files", () => {
  it("writes the job id and one allow line per rule, and reads the id back", () => {
    const text = renderPolicyFile("job-1-2", [
      { host: "api.example.com", port: 443 },
      { host: "*.cdn.example.com", port: 443 },
    ]);
    expect(text).toBe(
      "# Foreman egress policy v1\njob job-1-2\nallow api.example.com 443\nallow *.cdn.example.com 443\n",
    );
    expect(readPolicyJobId(text)).toBe("job-1-2");
    expect(() => renderPolicyFile("job 1; rm -rf /", [])).toThrow(/cannot be written/);
    expect(buildPolicyFileName("172.19.0.2")).toBe("172.19.0.2.policy");
    expect(() => buildPolicyFileName("../etc/passwd")).toThrow(/not an IP address/);
  });
});

describe("the policy helper (run with the host's /bin/sh, as squid runs it)", () => {
  const dir = mkdtempSync(join(tmpdir(), "foreman-egress-helper-"));
  const policies = join(dir, "policies");
  mkdirSync(policies);
  writeFileSync(join(dir, "helper.sh"), renderPolicyHelper());
  const rules = [
    { host: "api.example.com", port: 443 },
    { host: "*.cdn.example.com", port: 443 },
    { host: "plain.example.com", port: 80 },
  ];
  writeFileSync(join(policies, buildPolicyFileName("172.19.0.2")), renderPolicyFile("job-a", rules));
  writeFileSync(join(policies, buildPolicyFileName("172.20.0.2")), renderPolicyFile("job-b", []));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function ask(requests: string[]): { answers: string[]; checks: string[] } {
    const run = spawnSync("/bin/sh", [join(dir, "helper.sh"), policies], { input: `${requests.join("\n")}\n` });
    return {
      answers: run.stdout.toString().trim().split("\n"),
      checks: run.stderr.toString().trim().split("\n"),
    };
  }

  it("answers for the job whose network the request came in on, and tags it with the job id", () => {
    const { answers, checks } = ask([
      "1 172.19.0.2 172.19.0.3 api.example.com 443 CONNECT",
      "2 172.19.0.2 172.19.0.3 x.y.cdn.example.com 443 CONNECT",
      "3 172.19.0.2 172.19.0.3 plain.example.com 80 GET",
      "4 172.19.0.2 172.19.0.3 api.example.com 80 GET",
      "5 172.19.0.2 172.19.0.3 cdn.example.com 443 CONNECT",
      "6 172.19.0.2 172.19.0.3 evil.example.org 443 CONNECT",
      "7 172.19.0.2 172.19.0.3 169.254.169.254 80 GET",
      "8 172.19.0.2 172.19.0.3 %5B::1%5D 443 CONNECT",
      "9 172.19.0.2 172.19.0.3 a_b.example.com 443 CONNECT",
      "10 172.20.0.2 172.20.0.3 api.example.com 443 CONNECT",
      "11 172.21.0.2 172.21.0.3 api.example.com 443 CONNECT",
      "12 ../../etc 172.21.0.3 api.example.com 443 CONNECT",
    ]);
    expect(answers).toEqual([
      "OK tag=job-a log=allowed",
      "OK tag=job-a log=allowed",
      "OK tag=job-a log=allowed",
      "ERR tag=job-a log=not-allowed",
      "ERR tag=job-a log=not-allowed",
      "ERR tag=job-a log=not-allowed",
      "ERR tag=job-a log=ip-literal",
      "ERR tag=job-a log=ip-literal",
      "ERR tag=job-a log=invalid-host",
      "ERR tag=job-b log=not-allowed",
      "ERR log=no-policy",
      "ERR log=no-policy",
    ]);
    expect(checks[0]).toBe("foreman-egress-check v1 1 job-a 172.19.0.2 api.example.com 443 allowed");
    expect(checks[10]).toBe("foreman-egress-check v1 11 - 172.21.0.2 api.example.com 443 no-policy");
    expect(checks).toHaveLength(12);
  });

  it("agrees with matchesEgressRule on names and ports", () => {
    const cases: [string, number][] = [
      ["api.example.com", 443],
      ["API.example.com", 443],
      ["a.cdn.example.com", 443],
      ["cdn.example.com", 443],
      ["evilcdn.example.com", 443],
      ["plain.example.com", 80],
      ["plain.example.com", 8080],
    ];
    // Squid lower-cases host names before it asks; so does matchesEgressRule.
    const { answers } = ask(
      cases.map(([host, port], index) => `${index} 172.19.0.2 c ${host.toLowerCase()} ${port} GET`),
    );
    expect(answers.map((answer) => answer.startsWith("OK"))).toEqual(
      cases.map(([host, port]) => rules.some((rule) => matchesEgressRule(rule, host, port))),
    );
  });
});
