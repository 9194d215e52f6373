import { expect, test } from "vitest";
import { emitForemanEvent, subscribeForemanEvents, type ForemanEvent } from "../../../src/events/foreman-events.js";
import { foldContainerStats } from "../../../src/agents/container-stats.js";
import { CircuitBreaker } from "../../../src/resilience/circuit-breaker.js";

test("every listener hears an event until it unsubscribes; one that throws does not stop the others", () => {
  const heard: ForemanEvent[] = [];
  const stopThrowing = subscribeForemanEvents(() => {
    throw new Error("broken listener");
  });
  const stop = subscribeForemanEvents((event) => heard.push(event));
  emitForemanEvent({ type: "checkpoint.round", ok: true });
  stop();
  stopThrowing();
  emitForemanEvent({ type: "checkpoint.round", ok: false });
  expect(heard).toEqual([{ type: "checkpoint.round", ok: true }]);
});

test("a circuit breaker reports each change of state with its service and key", async () => {
  const heard: ForemanEvent[] = [];
  const stop = subscribeForemanEvents((event) => heard.push(event));
  const breaker = new CircuitBreaker({ service: "GitHub", key: "42", threshold: 1, isFailure: () => true });
  await expect(breaker.run(() => Promise.reject(new Error("down")))).rejects.toThrow("down");
  stop();
  expect(heard).toEqual([{ type: "circuit.changed", service: "GitHub", key: "42", state: "open" }]);
});

test("container stats fold into the highest memory use and the CPU time in seconds", () => {
  expect(
    foldContainerStats([
      { memory_stats: { usage: 10 }, cpu_stats: { cpu_usage: { total_usage: 5e8 } } },
      { memory_stats: { usage: 30 }, cpu_stats: { cpu_usage: { total_usage: 2e9 } } },
      { memory_stats: { usage: 20, max_usage: 25 }, cpu_stats: { cpu_usage: { total_usage: 1.5e9 } } },
    ]),
  ).toEqual({ peakMemoryBytes: 30, cpuSeconds: 2 });
  expect(foldContainerStats([{ memory_stats: {}, cpu_stats: {} }])).toEqual({
    peakMemoryBytes: null,
    cpuSeconds: null,
  });
});
