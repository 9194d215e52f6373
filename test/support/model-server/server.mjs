#!/usr/bin/env node
// @ts-check
// The scripted model server: answers the model APIs the agent CLIs call (Anthropic Messages, OpenAI
// Responses, Gemini) from a scenario, and records every request. No dependencies: it runs with
// `node` alone inside a container, and tests import it. See README.md beside this file.
//
//   node test/support/model-server/server.mjs [--port 0] [--host 127.0.0.1] [--scenario file.json]
import { Buffer } from "node:buffer";
import http from "node:http";
import { readFileSync } from "node:fs";
import process from "node:process";
import { URL, pathToFileURL } from "node:url";
import zlib from "node:zlib";
import { anthropicApi, anthropicCwd, countAnthropicTokens } from "./anthropic.mjs";
import { TurnError } from "./common.mjs";
import { countGeminiTokens, geminiApi, geminiCwd } from "./gemini.mjs";
import { codexCwd, openaiResponsesApi } from "./openai-responses.mjs";
import { TurnQueue, parseScenario } from "./scenario.mjs";

/**
 * One request as the server saw it, secrets removed.
 * @typedef {object} RecordedRequest
 * @property {number} seq 1 for the first request after a load or reset
 * @property {string} method
 * @property {string} path the path without the query string
 * @property {Record<string, string>} query
 * @property {Record<string, string>} headers lower-case names; credentials replaced by "[redacted]"
 * @property {unknown} body the parsed JSON body, the raw text when it is not JSON, null when empty
 * @property {"anthropic" | "openai" | "gemini" | null} api
 * @property {"main" | "aux" | "count_tokens" | "probe" | "unknown"} kind main requests consume turns
 * @property {number | null} turn the index of the scenario turn a main request consumed
 * @property {string} outcome "answered", "status 429", "hang", "exhausted", "turn error: …", "not found"
 * @property {import("./common.mjs").MadeCall | null} call the tool call the answer made (vendor's name and input)
 */

/**
 * The running server.
 * @typedef {object} ModelServer
 * @property {string} url e.g. http://127.0.0.1:40123 (what ANTHROPIC_BASE_URL and friends point at)
 * @property {number} port
 * @property {(scenario: unknown) => void} loadScenario replaces the scenario and clears the record
 * @property {() => RecordedRequest[]} requests every request since the last load or reset
 * @property {(predicate: (request: RecordedRequest) => boolean) => Promise<RecordedRequest>} waitForRequest
 *   resolves with the first recorded request (past or future) that satisfies the predicate
 * @property {() => { turns: number, consumed: number, remaining: number, hanging: number }} state
 * @property {() => void} reset clears the scenario and the record
 * @property {() => Promise<void>} close stops listening and drops every connection, hanging ones too
 */

/** Header names whose values are never recorded. */
const SECRET_HEADERS =
  /^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-goog-api-key)$|key|token|secret/i;

/**
 * Starts the server. Port 0 (the default) lets the system choose; read `port` back.
 * @param {{ port?: number, host?: string, scenario?: unknown }} [options]
 * @returns {Promise<ModelServer>}
 */
export async function startModelServer(options = {}) {
  const host = options.host ?? "127.0.0.1";
  let queue = new TurnQueue({ turns: [] });
  /** @type {string | undefined} */
  let scenarioCwd;
  /** @type {RecordedRequest[]} */
  let recorded = [];
  /** @type {{ predicate: (request: RecordedRequest) => boolean, resolve: (request: RecordedRequest) => void }[]} */
  let waiters = [];
  /** @type {Set<http.ServerResponse>} */
  const hanging = new Set();

  /** @param {unknown} value */
  const loadScenario = (value) => {
    const scenario = parseScenario(value);
    queue = new TurnQueue(scenario);
    scenarioCwd = scenario.cwd;
    recorded = [];
  };
  if (options.scenario !== undefined) loadScenario(options.scenario);

  /** @param {RecordedRequest} entry */
  const record = (entry) => {
    recorded.push(entry);
    const still = [];
    for (const waiter of waiters) {
      if (waiter.predicate(entry)) waiter.resolve(entry);
      else still.push(waiter);
    }
    waiters = still;
  };

  /** @param {(request: RecordedRequest) => boolean} predicate */
  const waitForRequest = (predicate) => {
    const found = recorded.find(predicate);
    if (found) return Promise.resolve(found);
    return /** @type {Promise<RecordedRequest>} */ (new Promise((resolve) => waiters.push({ predicate, resolve })));
  };

  const state = () => ({
    turns: queue.scenario.turns.length,
    consumed: queue.consumed,
    remaining: queue.remaining(),
    hanging: hanging.size,
  });

  const server = http.createServer((req, res) => {
    readBody(req).then(
      (raw) => {
        handle(req, res, raw);
      },
      (error) => {
        sendJson(res, 400, { error: { message: `model-server: unreadable body: ${String(error)}` } });
      },
    );
  });

  /**
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   * @param {Buffer} raw
   */
  function handle(req, res, raw) {
    const url = new URL(req.url ?? "/", "http://model-server");
    const method = req.method ?? "GET";
    if (url.pathname.startsWith("/__")) {
      handleControl(method, url, raw, res);
      return;
    }
    const body = parseBody(raw);
    /** @type {RecordedRequest} */
    const entry = {
      seq: recorded.length + 1,
      method,
      path: url.pathname,
      query: redactQuery(url.searchParams),
      headers: redactHeaders(req.headers),
      body,
      api: null,
      kind: "unknown",
      turn: null,
      outcome: "not found",
      call: null,
    };
    const route = routeOf(method, url.pathname);
    entry.api = route?.api.name ?? null;
    if (!route) {
      if (method === "HEAD" || (method === "GET" && url.pathname === "/")) {
        entry.kind = "probe";
        entry.outcome = "answered";
        record(entry);
        res.writeHead(200, { "content-type": "text/plain" }).end(method === "HEAD" ? undefined : "model-server\n");
        return;
      }
      record(entry);
      sendJson(res, 404, { error: { message: `model-server: no route for ${method} ${url.pathname}` } });
      return;
    }
    const { api } = route;
    if (route.kind === "count_tokens") {
      entry.kind = "count_tokens";
      entry.outcome = "answered";
      record(entry);
      sendJson(res, 200, api.name === "gemini" ? countGeminiTokens(body) : countAnthropicTokens(body));
      return;
    }
    /** @type {import("./common.mjs").VendorRequest} */
    const request = {
      body,
      stream: route.stream ?? (typeof body === "object" && body !== null && /** @type {any} */ (body).stream === true),
      cwd: scenarioCwd,
      seq: entry.seq,
      ...(route.model ? { model: route.model } : {}),
    };
    if (!api.isMain(body)) {
      entry.kind = "aux";
      entry.outcome = "answered";
      record(entry);
      writeReply(res, api.answerAux(request));
      return;
    }
    entry.kind = "main";
    const taken = queue.take();
    if (!taken) {
      entry.outcome = "exhausted";
      record(entry);
      const message = `model-server: the scenario has no turn left for this request (${queue.scenario.turns.length} turns, all used)`;
      sendJson(res, 400, api.errorBody(400, message));
      return;
    }
    const { turn, index } = taken;
    entry.turn = index;
    if ("status" in turn) {
      entry.outcome = `status ${turn.status}`;
      record(entry);
      const message = `model-server: scripted ${turn.status} (scenario turn ${index})`;
      sendJson(res, turn.status, turn.body ?? api.errorBody(turn.status, message), turn.headers);
      return;
    }
    if ("hang" in turn) {
      entry.outcome = "hang";
      hanging.add(res);
      res.on("close", () => hanging.delete(res));
      record(entry);
      return;
    }
    try {
      const { reply, call } = api.answer(turn, request);
      entry.outcome = "answered";
      entry.call = call ?? null;
      record(entry);
      writeReply(res, reply);
    } catch (error) {
      if (!(error instanceof TurnError)) throw error;
      entry.outcome = `turn error: ${error.message}`;
      record(entry);
      sendJson(res, 400, api.errorBody(400, `model-server: scenario turn ${index}: ${error.message}`));
    }
  }

  /**
   * The control API, under /__ (no CLI calls paths starting with two underscores).
   * @param {string} method
   * @param {URL} url
   * @param {Buffer} raw
   * @param {http.ServerResponse} res
   */
  function handleControl(method, url, raw, res) {
    const route = `${method} ${url.pathname}`;
    if (route === "POST /__scenario") {
      try {
        loadScenario(JSON.parse(raw.toString("utf8")));
        sendJson(res, 200, state());
      } catch (error) {
        sendJson(res, 400, { error: { message: error instanceof Error ? error.message : String(error) } });
      }
    } else if (route === "GET /__requests") {
      // ?atLeast=N waits until N requests have been recorded (a long poll, for tests in another container).
      const atLeast = Number(url.searchParams.get("atLeast") ?? "0");
      const reply = () => sendJson(res, 200, { requests: recorded, state: state() });
      if (recorded.length >= atLeast) reply();
      else void waitForRequest((entry) => entry.seq >= atLeast).then(reply);
    } else if (route === "GET /__state" || route === "GET /__health") {
      sendJson(res, 200, state());
    } else if (route === "POST /__reset") {
      reset();
      sendJson(res, 200, state());
    } else {
      sendJson(res, 404, { error: { message: `model-server: no control route ${route}` } });
    }
  }

  const reset = () => {
    queue = new TurnQueue({ turns: [] });
    scenarioCwd = undefined;
    recorded = [];
  };

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve(undefined));
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("model-server: no TCP address");
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    loadScenario,
    requests: () => [...recorded],
    waitForRequest,
    state,
    reset,
    close: () =>
      new Promise((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Which API a path belongs to, or undefined.
 * @param {string} method
 * @param {string} pathname
 * @returns {{ api: import("./common.mjs").VendorApi, kind: "generate" | "count_tokens", stream?: boolean, model?: string } | undefined}
 */
function routeOf(method, pathname) {
  if (method !== "POST") return undefined;
  if (/^(\/v1)?\/messages\/count_tokens$/.test(pathname)) return { api: anthropicApi, kind: "count_tokens" };
  if (/^(\/v1)?\/messages$/.test(pathname)) return { api: anthropicApi, kind: "generate" };
  if (/^(\/v1)?\/responses$/.test(pathname)) return { api: openaiResponsesApi, kind: "generate" };
  const gemini = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(streamGenerateContent|generateContent|countTokens)$/.exec(
    pathname,
  );
  if (gemini) {
    const [, model, verb] = gemini;
    if (verb === "countTokens") return { api: geminiApi, kind: "count_tokens", ...(model ? { model } : {}) };
    return { api: geminiApi, kind: "generate", stream: verb === "streamGenerateContent", ...(model ? { model } : {}) };
  }
  return undefined;
}

/**
 * The working directory a request states, per API (exported for tests and diagnostics).
 * @param {RecordedRequest} request
 */
export function requestCwd(request) {
  if (request.api === "anthropic") return anthropicCwd(request.body);
  if (request.api === "openai") return codexCwd(request.body);
  if (request.api === "gemini") return geminiCwd(request.body);
  return undefined;
}

/**
 * @param {http.IncomingMessage} req
 * @returns {Promise<Buffer>}
 */
function readBody(req) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("error", reject);
    req.on("end", () => {
      try {
        resolve(decode(Buffer.concat(chunks), String(req.headers["content-encoding"] ?? "")));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

/**
 * @param {Buffer} raw
 * @param {string} encoding
 */
function decode(raw, encoding) {
  if (encoding === "gzip") return zlib.gunzipSync(raw);
  if (encoding === "deflate") return zlib.inflateSync(raw);
  if (encoding === "br") return zlib.brotliDecompressSync(raw);
  if (encoding === "zstd") {
    const zstd = /** @type {any} */ (zlib).zstdDecompressSync;
    if (typeof zstd !== "function") throw new Error("zstd request bodies need Node 22.15 or later");
    return /** @type {Buffer} */ (zstd(raw));
  }
  return raw;
}

/** @param {Buffer} raw */
function parseBody(raw) {
  if (raw.length === 0) return null;
  const text = raw.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** @param {http.IncomingHttpHeaders} headers */
function redactHeaders(headers) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = SECRET_HEADERS.test(name) ? "[redacted]" : Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** @param {URLSearchParams} params */
function redactQuery(params) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [name, value] of params) out[name] = SECRET_HEADERS.test(name) ? "[redacted]" : value;
  return out;
}

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 * @param {Record<string, string>} [headers]
 */
function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}

/**
 * @param {http.ServerResponse} res
 * @param {import("./common.mjs").Reply} reply
 */
function writeReply(res, reply) {
  if (reply.kind === "hang") return;
  if (reply.kind === "json") {
    sendJson(res, reply.status, reply.body, reply.headers);
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  for (const event of reply.events) {
    const head = event.event ? `event: ${event.event}\n` : "";
    res.write(`${head}data: ${JSON.stringify(event.data)}\n\n`);
  }
  res.end();
}

/**
 * The command line: --port, --host, --scenario. Prints the URL once listening; stops on SIGTERM.
 * @param {string[]} argv
 */
export async function runModelServerCli(argv) {
  /** @type {Record<string, string>} */
  const flags = {};
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i] ?? "";
    const value = argv[i + 1];
    if (!["--port", "--host", "--scenario"].includes(flag) || value === undefined) {
      throw new Error(`usage: server.mjs [--port N] [--host ADDRESS] [--scenario FILE] (bad argument ${flag})`);
    }
    flags[flag.slice(2)] = value;
    i += 1;
  }
  const server = await startModelServer({
    port: Number(flags["port"] ?? "0"),
    host: flags["host"] ?? "127.0.0.1",
    ...(flags["scenario"] ? { scenario: JSON.parse(readFileSync(flags["scenario"], "utf8")) } : {}),
  });
  process.stdout.write(`model-server listening on ${server.url} (port ${server.port})\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  return server;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runModelServerCli(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  });
}
