import type { Metric, Registry } from "prom-client";

/** One line of a metric as prom-client's registry renders it. */
interface MetricLine {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** One label set's bucket counts (not cumulative; the last is above every bound), count and sum. */
export interface HistogramSeries {
  labels: Record<string, string>;
  /** Count per bound, plus one for +Inf: `bounds.length + 1` entries. */
  counts: number[];
  sum: number;
}

/**
 * A histogram whose buckets are computed elsewhere (by SQL at scrape time) and replaced whole:
 * prom-client's own Histogram only counts observations made in this process. Registered in a
 * prom-client Registry like any metric (it has `name`, `help`, `type` and `get()`).
 */
export class DatabaseHistogram {
  readonly type = "histogram" as const;
  readonly aggregator = "first" as const;
  #series: HistogramSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {}

  /** Add this histogram to a registry (prom-client renders anything with its metric shape). */
  registerIn(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  /** Replace every series with the ones just read. */
  replace(series: HistogramSeries[]): void {
    this.#series = series;
  }

  /** The series in prom-client's shape: cumulative `_bucket` lines with `le`, then `_sum` and `_count`. */
  get(): Promise<{ name: string; help: string; type: "histogram"; values: MetricLine[]; aggregator: "first" }> {
    const values: MetricLine[] = [];
    for (const series of this.#series) {
      let cumulative = 0;
      this.bounds.forEach((bound, index) => {
        cumulative += series.counts[index] ?? 0;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...series.labels, le: bound }, value: cumulative });
      });
      cumulative += series.counts[this.bounds.length] ?? 0;
      values.push({ metricName: `${this.name}_bucket`, labels: { ...series.labels, le: "+Inf" }, value: cumulative });
      values.push({ metricName: `${this.name}_sum`, labels: series.labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: series.labels, value: cumulative });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: "histogram",
      values,
      aggregator: this.aggregator,
    });
  }
}
