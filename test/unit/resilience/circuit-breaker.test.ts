import { describe, expect, test, vi } from "vitest";
import { CircuitOpenError, classifyError } from "../../../src/resilience/errors.js";
import { CircuitBreaker, CircuitBreakers, CircuitState } from "../../../src/resilience/circuit-breaker.js";

const request = { method: "GET", url: "https://api.github.com/repos/acme/api" };
const outage = () => Object.assign(new Error("Bad Gateway"), { status: 502, request });
const notFound = () => Object.assign(new Error("Not Found"), { status: 404, request });

/** A breaker on a fake clock, and a service that fails or answers as told. */
function setUp() {
  const clock = { now: 1_000_000 };
  const changes: string[] = [];
  const breaker = new CircuitBreaker({
    service: "GitHub",
    threshold: 5,
    openMs: 60_000,
    now: () => clock.now,
    onStateChange: (state) => changes.push(state),
  });
  const service = vi.fn<(answer: "ok" | "outage" | "not found") => Promise<string>>(async (answer) => {
    if (answer === "outage") throw outage();
    if (answer === "not found") throw notFound();
    return "ok";
  });
  const call = (answer: "ok" | "outage" | "not found") => breaker.run(() => service(answer));
  const failTimes = async (times: number) => {
    for (let i = 0; i < times; i += 1) await expect(call("outage")).rejects.toMatchObject({ status: 502 });
  };
  return { clock, changes, breaker, service, call, failTimes };
}

describe("CircuitBreaker", () => {
  test("opens after 5 consecutive failures and then fails fast without calling the service", async () => {
    const { breaker, service, call, failTimes, changes } = setUp();
    await failTimes(4);
    expect(breaker.state).toBe(CircuitState.closed);
    await failTimes(1);
    expect(breaker.state).toBe(CircuitState.open);
    expect(changes).toEqual(["open"]);

    const error = await call("ok").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).retryAfterMs).toBe(60_000);
    expect(classifyError(error)).toEqual({
      code: "CIRCUIT_OPEN",
      retryable: true,
      message: "GitHub kept failing, so Foreman paused its calls to it; it tries again in 60 s.",
    });
    expect(service).toHaveBeenCalledTimes(5);
  });

  test("a success or an answer such as 404 resets the count: only consecutive outages open it", async () => {
    const { breaker, call, failTimes } = setUp();
    await failTimes(4);
    await call("ok");
    await failTimes(4);
    await expect(call("not found")).rejects.toMatchObject({ status: 404 });
    await failTimes(4);
    expect(breaker.state).toBe(CircuitState.closed);
  });

  test("404s never open it, however many", async () => {
    const { breaker, call } = setUp();
    for (let i = 0; i < 10; i += 1) await expect(call("not found")).rejects.toMatchObject({ status: 404 });
    expect(breaker.state).toBe(CircuitState.closed);
  });

  test("stays open for 60 s; then exactly one probe goes through while other calls fail fast", async () => {
    const { clock, breaker, service, failTimes } = setUp();
    await failTimes(5);
    clock.now += 59_999;
    await expect(breaker.run(() => service("ok"))).rejects.toMatchObject({ code: "CIRCUIT_OPEN", retryAfterMs: 1 });
    clock.now += 1;
    expect(breaker.state).toBe(CircuitState.halfOpen);

    let answer!: (value: string) => void;
    const probe = breaker.run(() => new Promise<string>((resolve) => (answer = resolve)));
    const others = await Promise.allSettled([breaker.run(() => service("ok")), breaker.run(() => service("ok"))]);
    expect(
      others.map((outcome) =>
        outcome.status === "rejected" ? (outcome.reason as CircuitOpenError).code : outcome.status,
      ),
    ).toEqual(["CIRCUIT_OPEN", "CIRCUIT_OPEN"]);
    expect(service).toHaveBeenCalledTimes(5);
    answer("probed");
    await expect(probe).resolves.toBe("probed");
  });

  test("a successful probe closes it", async () => {
    const { clock, breaker, call, failTimes, changes } = setUp();
    await failTimes(5);
    clock.now += 60_000;
    await expect(call("ok")).resolves.toBe("ok");
    expect(breaker.state).toBe(CircuitState.closed);
    expect(changes).toEqual(["open", "half_open", "closed"]);
    // Closed again means a fresh count.
    await failTimes(4);
    expect(breaker.state).toBe(CircuitState.closed);
  });

  test("a 404 probe closes it too: the service answered", async () => {
    const { clock, breaker, call, failTimes } = setUp();
    await failTimes(5);
    clock.now += 60_000;
    await expect(call("not found")).rejects.toMatchObject({ status: 404 });
    expect(breaker.state).toBe(CircuitState.closed);
  });

  test("a failed probe opens it again for another 60 s", async () => {
    const { clock, breaker, service, call, failTimes, changes } = setUp();
    await failTimes(5);
    clock.now += 60_000;
    await failTimes(1);
    expect(breaker.state).toBe(CircuitState.open);
    clock.now += 59_999;
    await expect(call("ok")).rejects.toBeInstanceOf(CircuitOpenError);
    expect(service).toHaveBeenCalledTimes(6);
    clock.now += 1;
    await expect(call("ok")).resolves.toBe("ok");
    expect(changes).toEqual(["open", "half_open", "open", "half_open", "closed"]);
  });

  test("a probe that never ends is given up on after 60 s, and its late answer does not count", async () => {
    const { clock, breaker, call, failTimes } = setUp();
    await failTimes(5);
    clock.now += 60_000;
    let fail!: (error: unknown) => void;
    const stuck = breaker.run(() => new Promise<string>((_, reject) => (fail = reject)));
    clock.now += 60_000;
    await expect(call("ok")).resolves.toBe("ok");
    fail(outage());
    await expect(stuck).rejects.toMatchObject({ status: 502 });
    expect(breaker.state).toBe(CircuitState.closed);
  });

  test("calls that started before it opened do not count once it has changed state", async () => {
    const { breaker, failTimes } = setUp();
    let answer!: (value: string) => void;
    const slow = breaker.run(() => new Promise<string>((resolve) => (answer = resolve)));
    await failTimes(5);
    answer("late");
    await expect(slow).resolves.toBe("late");
    expect(breaker.state).toBe(CircuitState.open);
  });
});

describe("CircuitBreakers", () => {
  test("one breaker per key: one installation's outage does not stop another's calls", async () => {
    const changes: string[] = [];
    const breakers = new CircuitBreakers({
      service: "GitHub",
      now: () => 0,
      onStateChange: (key, state) => changes.push(`${key}:${state}`),
    });
    for (let i = 0; i < 5; i += 1)
      await expect(breakers.run("1", async () => Promise.reject(outage()))).rejects.toMatchObject({ status: 502 });
    await expect(breakers.run("1", async () => "ok")).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(breakers.run("2", async () => "ok")).resolves.toBe("ok");
    expect(breakers.get("1")).toBe(breakers.get("1"));
    expect(changes).toEqual(["1:open"]);
  });
});
