import { describe, expect, it } from "vitest";
import {
  isEgressRuleCovered,
  matchesEgressRule,
  parseEgressEntry,
  parseEgressList,
} from "../../../../src/agents/egress/egress-rule.js";

const HINT = 'write a DNS name and a port, e.g. "api.example.com:443" (or "*.example.com:443" for its subdomains)';

describe("parseEgressEntry", () => {
  it.each([
    ["api.anthropic.com:443", { host: "api.anthropic.com", port: 443 }],
    [" Registry.NPMJS.org:443 ", { host: "registry.npmjs.org", port: 443 }],
    ["*.githubusercontent.com:443", { host: "*.githubusercontent.com", port: 443 }],
    ["a-b.c9.example:8080", { host: "a-b.c9.example", port: 8080 }],
  ])("accepts %j", (entry, rule) => {
    expect(parseEgressEntry(entry)).toEqual({ ok: true, value: rule });
  });

  it.each([
    ["169.254.169.254:80", "it is an IP address, and egress is allowed to host names only"],
    ["10.0.0.1:443", "it is an IP address, and egress is allowed to host names only"],
    ["example.123:443", "it is an IP address, and egress is allowed to host names only"],
    ["[::1]:443", "it is an IPv6 address, and egress is allowed to host names only"],
    ["fe80::1:443", "it is an IPv6 address, and egress is allowed to host names only"],
    ["api.example.com", "it has no port"],
    ["api.example.com:0", '"0" is not a TCP port (1-65535)'],
    ["api.example.com:65536", '"65536" is not a TCP port (1-65535)'],
    ["api.example.com:https", '"https" is not a TCP port (1-65535)'],
    ["localhost:8080", '"localhost" is not a fully qualified name'],
    ["*.com:443", '"com" is not a fully qualified name: the wildcard would cover a whole top-level domain'],
    ["*:443", 'a wildcard may only be a leading "*." before a name'],
    ["api.*.example.com:443", 'a wildcard may only be a leading "*." before a name'],
    ["**.example.com:443", 'a wildcard may only be a leading "*." before a name'],
    [
      "under_score.example.com:443",
      '"under_score.example.com" is not a DNS name (letters, digits and inner hyphens, separated by dots)',
    ],
    [
      "-bad.example.com:443",
      '"-bad.example.com" is not a DNS name (letters, digits and inner hyphens, separated by dots)',
    ],
    ["http://api.example.com:443", "it is a URL or a path, not host:port"],
  ])("refuses %j, saying why", (entry, reason) => {
    expect(parseEgressEntry(entry)).toEqual({
      ok: false,
      error: `"${entry}" is not an allowed egress entry: ${reason}; ${HINT}`,
    });
  });
});

describe("matching", () => {
  const exact = { host: "api.example.com", port: 443 };
  const wildcard = { host: "*.example.com", port: 443 };

  it("matches a name exactly, and a wildcard on subdomains only (never the bare name or a look-alike)", () => {
    expect(matchesEgressRule(exact, "api.example.com", 443)).toBe(true);
    expect(matchesEgressRule(exact, "API.example.com", 443)).toBe(true);
    expect(matchesEgressRule(exact, "api.example.com", 80)).toBe(false);
    expect(matchesEgressRule(exact, "x.api.example.com", 443)).toBe(false);
    expect(matchesEgressRule(wildcard, "a.b.example.com", 443)).toBe(true);
    expect(matchesEgressRule(wildcard, "example.com", 443)).toBe(false);
    expect(matchesEgressRule(wildcard, "evilexample.com", 443)).toBe(false);
    expect(matchesEgressRule(wildcard, "example.com.evil.io", 443)).toBe(false);
  });

  it("covers what a narrower rule asks, never more", () => {
    expect(isEgressRuleCovered(exact, [wildcard])).toBe(true);
    expect(isEgressRuleCovered({ host: "*.api.example.com", port: 443 }, [wildcard])).toBe(true);
    expect(isEgressRuleCovered(wildcard, [wildcard])).toBe(true);
    expect(isEgressRuleCovered(wildcard, [exact])).toBe(false);
    expect(isEgressRuleCovered({ host: "*.com", port: 443 }, [wildcard])).toBe(false);
    expect(isEgressRuleCovered({ host: "api.example.com", port: 80 }, [wildcard])).toBe(false);
  });
});

describe("parseEgressList", () => {
  it("splits on commas and spaces, without repeats", () => {
    expect(parseEgressList("registry.npmjs.org:443, pypi.org:443  registry.npmjs.org:443,")).toEqual({
      ok: true,
      value: [
        { host: "registry.npmjs.org", port: 443 },
        { host: "pypi.org", port: 443 },
      ],
    });
    expect(parseEgressList("")).toEqual({ ok: true, value: [] });
  });

  it("names every bad entry", () => {
    const parsed = parseEgressList("ok.example.com:443,1.2.3.4:80,nope");
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error.map((problem) => problem.split(":")[0])).toEqual([
      '"1.2.3.4',
      '"nope" is not an allowed egress entry',
    ]);
  });
});
