import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { createForemanMetrics } from "../../../src/metrics/foreman-metrics.js";
import type { SqlClient } from "../../../src/db/client.js";

// The dashboard and the alert rules stay true: every metric they use is one Foreman exports.
const exported = new Set(createForemanMetrics({ sql: null as unknown as SqlClient }).names());
const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

function namesIn(expressions: readonly string[]): string[] {
  const names = expressions.flatMap((expr) => [...expr.matchAll(/\bforeman_[a-z0-9_]+/g)].map((match) => match[0]));
  return [...new Set(names)].sort();
}

function isExported(name: string): boolean {
  return exported.has(name) || (HISTOGRAM_SUFFIX.test(name) && exported.has(name.replace(HISTOGRAM_SUFFIX, "")));
}

interface Panel {
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

describe("deploy files use only metrics Foreman exports", () => {
  test("the Grafana dashboard", () => {
    const dashboard = JSON.parse(readFileSync("deploy/grafana/foreman-dashboard.json", "utf8")) as {
      panels: Panel[];
      templating: { list: Array<{ query?: unknown }> };
    };
    const flatten = (panels: Panel[]): Panel[] => panels.flatMap((panel) => [panel, ...flatten(panel.panels ?? [])]);
    const expressions = [
      ...flatten(dashboard.panels).flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? "")),
      ...dashboard.templating.list.map((variable) => JSON.stringify(variable.query ?? "")),
    ];
    const names = namesIn(expressions);
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((name) => !isExported(name))).toEqual([]);
  });

  test("the Prometheus alert rules", () => {
    const rules = parse(readFileSync("deploy/prometheus/alerts.yml", "utf8")) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
    };
    const all = rules.groups.flatMap((group) => group.rules);
    for (const rule of all) expect(namesIn([rule.expr]), rule.alert).not.toEqual([]);
    const names = namesIn(all.map((rule) => rule.expr));
    expect(names.filter((name) => !isExported(name))).toEqual([]);
  });

  test("the names a check rejects: one Foreman does not export is found", () => {
    expect(isExported("foreman_inbox_lag_seconds")).toBe(true);
    expect(isExported("foreman_task_label_to_draft_pr_seconds_bucket")).toBe(true);
    expect(isExported("foreman_inbox_lag_minutes")).toBe(false);
  });
});
