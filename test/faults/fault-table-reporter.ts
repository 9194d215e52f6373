import type { Reporter, TestModule } from "vitest/node";
import type { FaultRow } from "./fault-run.js";

/** Print the fault table: one row per test that recorded a `faultRow` in its meta. */
export default class FaultTableReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const rows: FaultRow[] = [];
    for (const module of testModules)
      for (const testCase of module.children.allTests()) {
        const row = testCase.meta().faultRow;
        if (row) rows.push(row);
      }
    if (rows.length > 0) process.stdout.write(`\n${formatFaultTable(rows)}\n`);
  }
}

/** The rows as a Markdown table (what docs/reliability.md quotes). */
export function formatFaultTable(rows: FaultRow[]): string {
  const ms = (value: number | null) => (value === null ? "-" : `${value} ms`);
  const lines = [
    "| fault | injected | tasks | finished | duplicates | lost | p95 | added p95 |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (row) =>
        `| ${row.fault} | ${row.injected} | ${row.tasks} | ${row.finished} | ${row.duplicates} | ${row.lost} | ${ms(row.p95Ms)} | ${ms(row.addedP95Ms)} |`,
    ),
  ];
  return lines.join("\n");
}
