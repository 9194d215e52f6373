// deploy/docker-compose.yml and the Prometheus and Grafana provisioning it mounts: parsed, images
// pinned, every repository file it names present, and the containers' paths wired to each other.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { checkCompose, hostPathOf, isPinnedImage, type ComposeFile } from "./compose-checks.js";

const deployDir = resolve(import.meta.dirname, "../../../deploy");
const readYaml = (path: string): unknown => parse(readFileSync(path, "utf8"));
const compose = readYaml(join(deployDir, "docker-compose.yml")) as ComposeFile;

interface PrometheusConfig {
  rule_files: string[];
  scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
}

describe("the Compose checks", () => {
  it("tells pinned images from floating ones", () => {
    for (const image of [
      "postgres:16.10",
      "prom/prometheus:v3.5.0",
      "grafana/grafana:12.1.1",
      "node:24.11.1-bookworm-slim",
    ]) {
      expect(isPinnedImage(image), image).toBe(true);
    }
    expect(isPinnedImage(`postgres@sha256:${"a".repeat(64)}`)).toBe(true);
    for (const image of ["postgres", "postgres:16", "postgres:latest", "grafana/grafana:main", "localhost:5000/x"]) {
      expect(isPinnedImage(image), image).toBe(false);
    }
  });

  it("reports an unpinned image, a missing mounted file and a missing build context, but not host paths", () => {
    const problems = checkCompose(
      {
        services: {
          a: {
            image: "redis:latest",
            volumes: ["./no-such-folder:/x:ro", "/var/run/docker.sock:/var/run/docker.sock", "data:/data"],
          },
          b: { build: { context: "./no-such-context" } },
          c: { image: "redis:7.4.1", volumes: ["./docker-compose.yml:/compose.yml:ro"] },
        },
      },
      deployDir,
    );
    expect(problems).toEqual([
      "a: image redis:latest is not pinned",
      "b: build context ./no-such-context is missing",
      "b: Dockerfile Dockerfile is missing",
      `a: mounted path ${join(deployDir, "no-such-folder")} is missing`,
    ]);
  });
});

describe("deploy/docker-compose.yml", () => {
  it("runs Foreman, PostgreSQL, Prometheus and Grafana", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["foreman", "grafana", "postgres", "prometheus"]);
  });

  it("pins every image and names only files that exist", () => {
    expect(checkCompose(compose, deployDir)).toEqual([]);
  });

  it("has Prometheus scrape Foreman's /metrics on the port Foreman listens on", () => {
    const configPath = hostPathOf(compose, deployDir, "prometheus", "/etc/prometheus/prometheus.yml");
    expect(configPath).toBe(join(deployDir, "prometheus/prometheus.yml"));
    const config = readYaml(configPath!) as PrometheusConfig;
    const job = config.scrape_configs.find((entry) => entry.job_name === "foreman");
    expect(job?.metrics_path).toBe("/metrics");
    const foremanEnv = (compose.services.foreman as { environment: Record<string, string> }).environment;
    expect(job?.static_configs.flatMap((entry) => entry.targets)).toEqual([`foreman:${foremanEnv.PORT}`]);
  });

  it("has Grafana provisioned from the mounted folder, with the Prometheus service as its data source", () => {
    const provisioning = hostPathOf(compose, deployDir, "grafana", "/etc/grafana/provisioning");
    expect(provisioning).toBe(join(deployDir, "grafana/provisioning"));
    const datasources = readdirSync(join(provisioning!, "datasources")).flatMap(
      (file) =>
        (readYaml(join(provisioning!, "datasources", file)) as { datasources: { type: string; url: string }[] })
          .datasources,
    );
    expect(datasources.map((source) => [source.type, source.url])).toEqual([["prometheus", "http://prometheus:9090"]]);
    expect(Object.keys(compose.services)).toContain(new URL(datasources[0]!.url).hostname);

    const providers = readdirSync(join(provisioning!, "dashboards")).flatMap(
      (file) =>
        (
          readYaml(join(provisioning!, "dashboards", file)) as {
            providers: { type: string; options: { path: string } }[];
          }
        ).providers,
    );
    expect(providers.map((provider) => [provider.type, provider.options.path])).toEqual([
      ["file", "/var/lib/grafana/dashboards"],
    ]);
    expect(hostPathOf(compose, deployDir, "grafana", "/var/lib/grafana/dashboards")).toBe(join(deployDir, "grafana"));
  });

  // deploy/prometheus/alerts.yml and deploy/grafana/foreman-dashboard.json come with the metrics
  // (issue #13, part 1): this checks that what the provisioning points at is there.
  it("mounts the alert rules Prometheus loads and the dashboard Grafana loads", () => {
    const config = readYaml(join(deployDir, "prometheus/prometheus.yml")) as PrometheusConfig;
    expect(config.rule_files).toEqual(["/etc/prometheus/alerts.yml"]);
    const rules = hostPathOf(compose, deployDir, "prometheus", config.rule_files[0]!)!;
    expect(rules).toBe(join(deployDir, "prometheus/alerts.yml"));
    expect(existsSync(rules), `${rules} is missing`).toBe(true);
    const groups = (readYaml(rules) as { groups: { rules: { alert?: string }[] }[] }).groups;
    expect(groups.flatMap((group) => group.rules).filter((rule) => rule.alert).length).toBeGreaterThan(0);

    const dashboard = join(
      hostPathOf(compose, deployDir, "grafana", "/var/lib/grafana/dashboards")!,
      "foreman-dashboard.json",
    );
    expect(existsSync(dashboard), `${dashboard} is missing`).toBe(true);
    expect(JSON.parse(readFileSync(dashboard, "utf8"))).toHaveProperty("panels");
  });

  it("has a runbook section in docs/operations.md naming each alert of deploy/prometheus/alerts.yml", () => {
    const rules = join(deployDir, "prometheus/alerts.yml");
    expect(existsSync(rules), `${rules} is missing`).toBe(true);
    const alerts = (readYaml(rules) as { groups: { rules: { alert?: string }[] }[] }).groups
      .flatMap((group) => group.rules)
      .flatMap((rule) => (rule.alert ? [rule.alert] : []));
    const operations = readFileSync(resolve(deployDir, "../docs/operations.md"), "utf8");
    const section = operations.slice(operations.indexOf("\n## Alerts\n"), operations.indexOf("\n## Troubleshooting\n"));
    const headings = section.split("\n").filter((line) => line.startsWith("### "));
    const named = new Set(
      headings.flatMap((heading) => [...heading.matchAll(/`([A-Za-z]+)`/g)].map((match) => match[1])),
    );
    expect(alerts.filter((alert) => !named.has(alert))).toEqual([]);
    expect([...named].filter((name) => !alerts.includes(name!))).toEqual([]);
  });
});
