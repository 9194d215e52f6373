import { describe, expect, test } from "vitest";
import { Registry } from "prom-client";
import { createForemanMetrics } from "../../../src/metrics/foreman-metrics.js";
import { DatabaseHistogram } from "../../../src/metrics/database-histogram.js";
import { foldRoute } from "../../../src/github/octokit.js";
import type { SqlClient } from "../../../src/db/client.js";

// The listeners alone: nothing here reads the database (scrape() does; see the integration test).
function buildMetrics() {
  return createForemanMetrics({ sql: null as unknown as SqlClient, defaultMetrics: false });
}

async function linesOf(registry: Registry, prefix: string): Promise<string[]> {
  return (await registry.metrics()).split("\n").filter((line) => line.startsWith(prefix));
}

describe("the metric listeners", () => {
  test("a GitHub request counts by method, route and status, and its rate limit is kept per installation", async () => {
    const metrics = buildMetrics();
    const request = {
      type: "github.request",
      method: "GET",
      route: "/repos/{owner}/{repo}",
      status: 200,
      installationId: "7",
      rateLimitRemaining: 4999,
    } as const;
    metrics.handle(request);
    metrics.handle({ ...request, rateLimitRemaining: 4998 });
    metrics.handle({ ...request, method: "POST", route: "/graphql", status: 0, rateLimitRemaining: null });
    expect(await linesOf(metrics.registry, "foreman_github_")).toEqual([
      'foreman_github_requests_total{method="GET",route="/repos/{owner}/{repo}",status="200"} 2',
      'foreman_github_requests_total{method="POST",route="/graphql",status="0"} 1',
      'foreman_github_rate_limit_remaining{installation="7"} 4998',
    ]);
  });

  test("a circuit breaker's state is 1 for its current state and 0 for the others", async () => {
    const metrics = buildMetrics();
    metrics.handle({ type: "circuit.changed", service: "GitHub", key: "7", state: "open" });
    metrics.handle({ type: "circuit.changed", service: "GitHub", key: "7", state: "half_open" });
    expect(await linesOf(metrics.registry, "foreman_circuit_breaker_state{")).toEqual([
      'foreman_circuit_breaker_state{service="GitHub",key="7",state="closed"} 0',
      'foreman_circuit_breaker_state{service="GitHub",key="7",state="open"} 0',
      'foreman_circuit_breaker_state{service="GitHub",key="7",state="half_open"} 1',
    ]);
  });

  test("effect failures count by kind, code and finality", async () => {
    const metrics = buildMetrics();
    metrics.handle({ type: "effect.failed", kind: "open_draft_pr", code: "GITHUB_5XX", final: false });
    metrics.handle({ type: "effect.failed", kind: "open_draft_pr", code: "GITHUB_5XX", final: false });
    metrics.handle({ type: "effect.failed", kind: "open_draft_pr", code: "GITHUB_5XX", final: true });
    expect(await linesOf(metrics.registry, "foreman_effect_failures_total{")).toEqual([
      'foreman_effect_failures_total{kind="open_draft_pr",code="GITHUB_5XX",final="false"} 2',
      'foreman_effect_failures_total{kind="open_draft_pr",code="GITHUB_5XX",final="true"} 1',
    ]);
  });

  test("a finished job lands in the duration histogram by repository, role, profile and status", async () => {
    const metrics = buildMetrics();
    metrics.handle({
      type: "agent_job.finished",
      repository: "o/r",
      role: "coder",
      profile: "claude",
      status: "succeeded",
      durationSeconds: 42,
    });
    const labels = 'repository="o/r",role="coder",profile="claude",status="succeeded"';
    const lines = await linesOf(metrics.registry, "foreman_agent_job_duration_seconds");
    expect(lines).toContain(`foreman_agent_job_duration_seconds_bucket{le="30",${labels}} 0`);
    expect(lines).toContain(`foreman_agent_job_duration_seconds_bucket{le="60",${labels}} 1`);
    expect(lines).toContain(`foreman_agent_job_duration_seconds_sum{${labels}} 42`);
    expect(lines).toContain(`foreman_agent_job_duration_seconds_count{${labels}} 1`);
  });

  test("a container's peak memory and CPU seconds are observed by profile; a figure the engine did not send is skipped", async () => {
    const metrics = buildMetrics();
    metrics.handle({ type: "container.finished", profile: "p", peakMemoryBytes: 100 * 1024 * 1024, cpuSeconds: null });
    expect(await linesOf(metrics.registry, "foreman_agent_container_peak_memory_bytes_count")).toEqual([
      'foreman_agent_container_peak_memory_bytes_count{profile="p"} 1',
    ]);
    expect(await linesOf(metrics.registry, "foreman_agent_container_cpu_seconds_count")).toEqual([]);
  });

  test("the last compliance round's result is 1 or 0", async () => {
    const metrics = buildMetrics();
    metrics.handle({ type: "checkpoint.round", ok: false });
    expect(await linesOf(metrics.registry, "foreman_compliance_round_ok")).toEqual(["foreman_compliance_round_ok 0"]);
    metrics.handle({ type: "checkpoint.round", ok: true });
    expect(await linesOf(metrics.registry, "foreman_compliance_round_ok")).toEqual(["foreman_compliance_round_ok 1"]);
  });
});

describe("a histogram read from the database", () => {
  test("renders cumulative buckets, +Inf, sum and count per label set, and replaces them whole", async () => {
    const registry = new Registry();
    const histogram = new DatabaseHistogram("demo_seconds", "Demo.", [1, 10]).registerIn(registry);
    histogram.replace([{ labels: { repository: "o/r" }, counts: [1, 2, 3], sum: 99 }]);
    expect(await linesOf(registry, "demo_seconds")).toEqual([
      'demo_seconds_bucket{repository="o/r",le="1"} 1',
      'demo_seconds_bucket{repository="o/r",le="10"} 3',
      'demo_seconds_bucket{repository="o/r",le="+Inf"} 6',
      'demo_seconds_sum{repository="o/r"} 99',
      'demo_seconds_count{repository="o/r"} 6',
    ]);
    histogram.replace([]);
    expect(await linesOf(registry, "demo_seconds")).toEqual([]);
  });
});

describe("GitHub routes as templates", () => {
  test.each([
    ["/repos/{owner}/{repo}/pulls", "/repos/{owner}/{repo}/pulls"],
    ["/repos/Codertocat/Hello-World/commits/3f2a/check-suites", "/repos/{owner}/{repo}/commits/{ref}/check-suites"],
    ["/repos/o/r/rules/branches/main", "/repos/{owner}/{repo}/rules/branches/{ref}"],
    ["/repos/o/r/pulls/7/reviews?per_page=100", "/repos/{owner}/{repo}/pulls/{number}/reviews"],
    ["https://api.github.com/repos/o/r/git/ref/heads%2Fagent%2F1-x", "/repos/{owner}/{repo}/git/ref/{path}"],
    ["/repos/o/r/contents/.github/foreman.yml", "/repos/{owner}/{repo}/contents/{path}"],
    ["/app/installations/42/access_tokens", "/app/installations/{number}/access_tokens"],
  ])("%s → %s", (url, route) => {
    expect(foldRoute(url)).toBe(route);
  });
});
