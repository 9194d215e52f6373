/**
 * The scripted model server as a container on a Docker network, where the agents' egress proxy
 * reaches it by a name (`model.test`) as it would reach the real API. The test drives it over
 * its control API (`/__scenario`, `/__requests`) on a port Docker publishes on 127.0.0.1 (the one
 * address the tests' strict network rules let through). It runs `server.mjs` from this folder,
 * mounted read-only, with the Node of the agent images (`foreman-agents/node`).
 */
import { request } from "node:http";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";

/** The image the server runs in (`npm run images:build`). */
export const MODEL_SERVER_IMAGE = "foreman-agents/node:latest";
/** The server's port inside its container. */
export const MODEL_SERVER_PORT = 8080;

const HERE = dirname(fileURLToPath(import.meta.url));

/** One request the server recorded (see README.md, "What is recorded"). */
export interface RecordedModelRequest {
  readonly seq: number;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  readonly api: "anthropic" | "openai" | "gemini" | null;
  readonly kind: "main" | "aux" | "count_tokens" | "probe" | "unknown";
  readonly turn: number | null;
  readonly outcome: string;
  readonly call: { id: string; name: string; input: unknown } | null;
}

/** A running model server container. */
export interface ModelServerContainer {
  /** Its address on `network` (the proxy's upstream network); the egress policy must allow it. */
  readonly ip: string;
  /** The name agents use, with the port: `model.test:8080`. */
  readonly hostPort: string;
  /** Loads a scenario and clears the record; throws with the server's reason when it is malformed. */
  loadScenario(scenario: unknown): Promise<void>;
  /** Every request since the last load; with `atLeast`, waits until there are that many. */
  requests(atLeast?: number): Promise<RecordedModelRequest[]>;
  /** The scenario's progress. */
  state(): Promise<{ turns: number; consumed: number; remaining: number; hanging: number }>;
  /** Removes the container; idempotent. */
  remove(): Promise<void>;
}

/** Starts the server in a container named `name` on `network`, known there as `alias`. */
export async function startModelServerContainer(
  docker: Docker,
  options: { name: string; network: string; alias: string; labels?: Record<string, string> },
): Promise<ModelServerContainer> {
  const container = await docker.createContainer({
    name: options.name,
    Image: MODEL_SERVER_IMAGE,
    User: "1000:1000",
    Entrypoint: ["node", "/model-server/server.mjs", "--port", String(MODEL_SERVER_PORT), "--host", "0.0.0.0"],
    Labels: options.labels ?? {},
    ExposedPorts: { [`${MODEL_SERVER_PORT}/tcp`]: {} },
    HostConfig: {
      NetworkMode: options.network,
      // HostPort "0": Docker picks a free port (no pick-then-bind race), read back below.
      PortBindings: { [`${MODEL_SERVER_PORT}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: "0" }] },
      Binds: [`${HERE}:/model-server:ro`],
      AutoRemove: false,
    },
    NetworkingConfig: { EndpointsConfig: { [options.network]: { Aliases: [options.alias] } } },
  });
  const remove = () => container.remove({ force: true }).catch(() => undefined);
  try {
    await container.start();
    const settings = (await container.inspect()).NetworkSettings;
    const ip = settings.Networks[options.network]?.IPAddress ?? "";
    const published = settings.Ports[`${MODEL_SERVER_PORT}/tcp`]?.[0]?.HostPort ?? "";
    if (ip === "" || published === "")
      throw new Error(`the model server container got no address on ${options.network} or no published port`);
    const base = `http://127.0.0.1:${published}`;
    await waitForHealth(base);
    const call = async (path: string, body?: unknown) => {
      const response = await send(`${base}${path}`, body);
      if (response.status !== 200) throw new Error(`model server ${path}: HTTP ${response.status}: ${response.text}`);
      return JSON.parse(response.text) as Record<string, unknown>;
    };
    return {
      ip,
      hostPort: `${options.alias}:${MODEL_SERVER_PORT}`,
      async loadScenario(scenario) {
        await call("/__scenario", scenario);
      },
      async requests(atLeast) {
        const answer = await call(`/__requests${atLeast === undefined ? "" : `?atLeast=${atLeast}`}`);
        return answer.requests as RecordedModelRequest[];
      },
      async state() {
        return (await call("/__state")) as Awaited<ReturnType<ModelServerContainer["state"]>>;
      },
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

async function waitForHealth(base: string): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      const response = await send(`${base}/__health`);
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the model server at ${base} did not answer within 10 s: ${String(last)}`);
}

// node:http rather than fetch: the tests' nock lets loopback through, and its fetch interceptor
// cannot pass a request body through.
function send(url: string, body?: unknown): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: payload === undefined ? "GET" : "POST",
        headers: payload === undefined ? {} : { "content-type": "application/json" },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(payload);
  });
}
