import { mkdtempSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { DockerRunner, isDockerOutage } from "../../../src/agents/docker-runner.js";
import { RunnerError } from "../../../src/agents/errors.js";
import { CircuitOpenError, TimeoutError } from "../../../src/resilience/errors.js";
import { CircuitBreaker } from "../../../src/resilience/circuit-breaker.js";

// A fake Docker daemon on a Unix socket: it answers, hangs up, or never answers, as each test says.
// The breaker runs on a fake clock; the timeout on fake timers.

type Behaviour = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server;
let socketPath: string;
let behaviour: Behaviour;
let requests: string[];
const handle = { containerId: "abc123", taskId: "task", jobId: "job-1" };

beforeEach(async () => {
  requests = [];
  socketPath = join(mkdtempSync(join(tmpdir(), "foreman-fake-docker-")), "docker.sock");
  server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url?.replace(/\?.*$/, "")}`);
    behaviour(request, response);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});
afterEach(async () => {
  vi.useRealTimers();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const hangUp: Behaviour = (request) => request.socket.destroy();
const answer =
  (status: number, body: unknown = {}): Behaviour =>
  (_request, response) => {
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify(body));
  };

function buildRunner() {
  const clock = { now: 1_000_000 };
  const breaker = new CircuitBreaker({ service: "Docker", isFailure: isDockerOutage, now: () => clock.now });
  return { clock, runner: new DockerRunner({ socketPath }, { timeoutMs: 60_000, breaker }) };
}

async function failureOf(promise: Promise<unknown>): Promise<RunnerError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RunnerError);
  return error as RunnerError;
}

describe("DockerRunner under a timeout and a circuit breaker", () => {
  test("a daemon that does not answer in time: INFRA_DOCKER_UNAVAILABLE, and the request is aborted", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let arrived!: () => void;
    const received = new Promise<void>((resolve) => (arrived = resolve));
    const closed = new Promise<void>((resolve) => {
      behaviour = (request) => {
        request.on("close", () => resolve());
        arrived();
      };
    });
    const { runner } = buildRunner();
    const pending = failureOf(runner.remove(handle));
    await received;
    await vi.advanceTimersByTimeAsync(60_000);
    const error = await pending;
    expect(error.code).toBe("INFRA_DOCKER_UNAVAILABLE");
    expect(error.cause).toBeInstanceOf(TimeoutError);
    expect(error.message).toBe(
      "Docker could not change a job container (is the Docker daemon running and reachable at DOCKER_HOST?): Docker did not answer within 60 s (remove).",
    );
    await closed;
  });

  test("5 calls the daemon hangs up on open the breaker: the 6th fails as INFRA_DOCKER_UNAVAILABLE without reaching the daemon", async () => {
    behaviour = hangUp;
    const { clock, runner } = buildRunner();
    for (let i = 0; i < 5; i += 1)
      expect((await failureOf(runner.listOrphans(new Set()))).code).toBe("INFRA_DOCKER_UNAVAILABLE");
    const error = await failureOf(runner.start({ Image: "foreman-test/busybox:latest", Labels: {} }));
    expect(error.code).toBe("INFRA_DOCKER_UNAVAILABLE");
    expect(error.cause).toBeInstanceOf(CircuitOpenError);
    expect(error.message).toBe(
      "Docker could not create a job container (is the Docker daemon running and reachable at DOCKER_HOST?): Docker kept failing, so Foreman paused its calls to it; it tries again in 60 s.",
    );
    expect(requests).toHaveLength(5);

    // 60 s later one probe reaches the daemon; its answer closes the breaker.
    clock.now += 60_000;
    behaviour = answer(200, []);
    await expect(runner.listOrphans(new Set())).resolves.toEqual([]);
    await expect(runner.listOrphans(new Set())).resolves.toEqual([]);
    expect(requests).toHaveLength(7);
  });

  test("HTTP errors are the daemon answering: 404s and 500s never open the breaker", async () => {
    behaviour = answer(404, { message: "No such image" });
    const { runner } = buildRunner();
    for (let i = 0; i < 6; i += 1) await expect(runner.hasImage("nowhere:latest")).resolves.toBe(false);
    behaviour = answer(500, { message: "driver failed" });
    for (let i = 0; i < 6; i += 1)
      expect((await failureOf(runner.listOrphans(new Set()))).code).toBe("INFRA_CONTAINER_FAILED");
    behaviour = answer(200, { Id: "sha256:1" });
    await expect(runner.hasImage("somewhere:latest")).resolves.toBe(true);
    expect(requests).toHaveLength(13);
  });

  test("a start the daemon does not answer is INFRA_DOCKER_UNAVAILABLE (retried), not a verdict on the container", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let startArrived!: () => void;
    const startReceived = new Promise<void>((resolve) => (startArrived = resolve));
    behaviour = (request, response) => {
      if (request.url?.startsWith("/containers/create")) answer(201, { Id: "abc123" })(request, response);
      else if (request.method === "DELETE") answer(204)(request, response);
      else startArrived(); // The start hangs.
    };
    const { runner } = buildRunner();
    const pending = failureOf(runner.start({ Image: "foreman-test/busybox:latest", Labels: {} }));
    await startReceived;
    await vi.advanceTimersByTimeAsync(60_000);
    const error = await pending;
    expect(error.code).toBe("INFRA_DOCKER_UNAVAILABLE");
    expect(error.cause).toBeInstanceOf(TimeoutError);
    // The half-made container is removed.
    expect(requests).toEqual(["POST /containers/create", "POST /containers/abc123/start", "DELETE /containers/abc123"]);
  });
});

describe("DockerRunner when the daemon goes away and comes back", () => {
  test("a wait whose connection the daemon drops after the headers fails as INFRA_DOCKER_UNAVAILABLE, instead of never settling", async () => {
    behaviour = (request, response) => {
      if (!request.url?.includes("/wait")) return answer(404, { message: "No such container" })(request, response);
      // The daemon answers a wait's headers at once and its body at the exit; here it goes away in between.
      response.writeHead(200, { "content-type": "application/json" });
      response.flushHeaders();
      setTimeout(() => response.socket?.destroy(), 50);
    };
    const { runner } = buildRunner();
    const error = await failureOf(runner.wait(handle, { timeoutMs: 60_000 }));
    expect(error.code).toBe("INFRA_DOCKER_UNAVAILABLE");
    expect(error.message).toContain("the Docker daemon closed the connection before the container exited");
  });

  test("a create that finds no daemon behind the socket waits for it, and the container a removal could not reach goes at that start", async () => {
    const { runner } = buildRunner();
    // The daemon is being restarted: nothing listens on the socket.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(runner.remove({ ...handle, containerId: "lost-1" })).rejects.toBeInstanceOf(RunnerError);
    behaviour = (request, response) => {
      if (request.url?.startsWith("/containers/create")) return answer(201, { Id: "abc123" })(request, response);
      if (request.url?.includes("/json")) return answer(200, { Image: "sha256:1" })(request, response);
      if (request.method === "DELETE" || request.url?.includes("/start")) return answer(204)(request, response);
      answer(200, "OK")(request, response);
    };
    const starting = runner.start({ Image: "foreman-test/busybox:latest", Labels: {} });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(requests).toEqual([]);
    // Back on the same socket.
    server = createServer((request, response) => {
      requests.push(`${request.method} ${request.url?.replace(/\?.*$/, "")}`);
      behaviour(request, response);
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    await expect(starting).resolves.toMatchObject({ containerId: "abc123" });
    expect(requests.filter((request) => !request.endsWith("/_ping"))).toEqual([
      "POST /containers/create",
      "DELETE /containers/lost-1",
      "POST /containers/abc123/start",
      "GET /containers/abc123/json",
    ]);
  });
});
