import type { Metric, Registry } from "prom-client";

/**
 * A gauge without labels that is absent until it has a value (prom-client's own prints 0), so an
 * alert on `== 0` does not fire for something that never happened (no verify, no checkpoint yet).
 */
export class OptionalGauge {
  readonly type = "gauge" as const;
  readonly aggregator = "first" as const;
  #value: number | null = null;

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** Add this gauge to a registry (prom-client renders anything with its metric shape). */
  registerIn(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  /** Set the value, or clear it with null. */
  set(value: number | null): void {
    this.#value = value;
  }

  /** The gauge in prom-client's shape: one line, or none while it has no value. */
  get(): Promise<{
    name: string;
    help: string;
    type: "gauge";
    values: Array<{ labels: Record<string, never>; value: number }>;
    aggregator: "first";
  }> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: "gauge",
      values: this.#value === null ? [] : [{ labels: {}, value: this.#value }],
      aggregator: this.aggregator,
    });
  }
}
