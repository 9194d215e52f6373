import { spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { toolResults, userTexts } from "./inspect.mjs";
import { type ModelServer, startModelServer } from "./server.mjs";

// The model server on its own, over HTTP: control API, turn consumption, auxiliary requests,
// redaction, failure turns and the vendor wire formats. The real CLIs are driven in
// test/integration/model-server/.
const server: ModelServer = await startModelServer();
afterAll(() => server.close());
beforeEach(() => server.reset());

const CLAUDE_TOOLS = [{ name: "Bash" }, { name: "Read" }, { name: "Write" }, { name: "Edit" }];
const CLAUDE_SYSTEM = [{ type: "text", text: "Env:\n - Primary working directory: /work/repo\n - Platform: linux" }];

/** A response read whole (node:http, which the strict nock setup lets through to loopback). */
interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): Promise<unknown>;
}

function send(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { "content-type": "application/json", ...headers } }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json: () => Promise.resolve(JSON.parse(text)),
        }),
      );
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function post(pathname: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return send(`${server.url}${pathname}`, "POST", body, headers);
}

function get(url: string): Promise<Reply> {
  return send(url, "GET");
}

/** Parses a server-sent event stream into { event, data } pairs. */
async function readSse(response: Reply): Promise<{ event: string | undefined; data: any }[]> {
  const text = await Promise.resolve(response.text);
  return text
    .split("\n\n")
    .filter((chunk) => chunk.trim() !== "")
    .map((chunk) => {
      const event = /^event: (.*)$/m.exec(chunk)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(chunk)?.[1] ?? "null") as unknown;
      return { event, data };
    });
}

describe("model server", () => {
  it("loads a scenario over the control API, records requests and serves them back", async () => {
    const loaded = await post("/__scenario", { turns: [{ say: "hi" }] });
    expect(await loaded.json()).toEqual({ turns: 1, consumed: 0, remaining: 1, hanging: 0 });
    const answer = await post(
      "/v1/messages?beta=true",
      { model: "m", tools: CLAUDE_TOOLS, messages: [{ role: "user", content: "the prompt" }] },
      { "x-api-key": "sk-secret", authorization: "Bearer sk-secret" },
    );
    expect(await answer.json()).toMatchObject({ content: [{ type: "text", text: "hi" }], stop_reason: "end_turn" });
    const listed = (await (await get(`${server.url}/__requests`)).json()) as { requests: any[]; state: unknown };
    expect(listed.state).toEqual({ turns: 1, consumed: 1, remaining: 0, hanging: 0 });
    expect(listed.requests).toHaveLength(1);
    expect(listed.requests[0]).toMatchObject({
      seq: 1,
      method: "POST",
      path: "/v1/messages",
      query: { beta: "true" },
      api: "anthropic",
      kind: "main",
      turn: 0,
      outcome: "answered",
      call: null,
    });
    expect(listed.requests[0].headers).toMatchObject({ "x-api-key": "[redacted]", authorization: "[redacted]" });
    expect(JSON.stringify(listed.requests)).not.toContain("sk-secret");
    expect(userTexts(listed.requests[0])).toEqual(["the prompt"]);

    await post("/__reset", {});
    expect(server.requests()).toEqual([]);
    expect(server.state()).toEqual({ turns: 0, consumed: 0, remaining: 0, hanging: 0 });
  });

  it("rejects a malformed scenario, saying which turn is wrong", async () => {
    const response = await post("/__scenario", { turns: [{ say: "ok" }, { tool: "move", path: "a" }] });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { message: 'scenario.turns[1].tool: expected one of write, edit, delete, bash, read, got "move"' },
    });
  });

  it("answers auxiliary requests (no tools offered) without consuming a turn", async () => {
    server.loadScenario({ turns: [{ say: "main answer" }] });
    const aux = await post("/v1/messages", { model: "haiku", messages: [{ role: "user", content: "title?" }] });
    expect(await aux.json()).toMatchObject({ content: [{ type: "text", text: "{}" }] });
    const router = await post("/v1beta/models/flash-lite:generateContent", {
      contents: [{ role: "user", parts: [{ text: "route" }] }],
      generationConfig: {
        responseJsonSchema: {
          type: "OBJECT",
          properties: { reasoning: { type: "STRING" }, score: { type: "INTEGER" }, next: { enum: ["user", "model"] } },
        },
      },
    });
    const routed = (await router.json()) as any;
    expect(JSON.parse(routed.candidates[0].content.parts[0].text)).toEqual({ reasoning: "", score: 1, next: "user" });
    const count = await post("/v1/messages/count_tokens", { messages: [{ role: "user", content: "12345678" }] });
    expect(await count.json()).toEqual({ input_tokens: expect.any(Number) });
    const head = await send(server.url, "HEAD");
    expect(head.status).toBe(200);
    expect(server.state().consumed).toBe(0);
    expect(server.requests().map((request) => [request.kind, request.turn])).toEqual([
      ["aux", null],
      ["aux", null],
      ["count_tokens", null],
      ["probe", null],
    ]);
  });

  it("streams a Claude Code tool call with input_json_delta fragments and usage", async () => {
    server.loadScenario({
      turns: [{ tool: "write", path: "a.txt", content: "x\n", say: "Writing.", usage: { input: 7, output: 3 } }],
    });
    const events = await readSse(
      await post("/v1/messages", {
        model: "m",
        stream: true,
        tools: CLAUDE_TOOLS,
        system: CLAUDE_SYSTEM,
        messages: [],
      }),
    );
    expect(events.map((event) => event.event)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(events[0]!.data.message.usage).toMatchObject({ input_tokens: 7 });
    expect(events[6]!.data.content_block).toEqual({
      type: "tool_use",
      id: "toolu_model_server_1",
      name: "Write",
      input: {},
    });
    const json = events
      .filter((event) => event.data.delta?.type === "input_json_delta")
      .map((event) => event.data.delta.partial_json as string)
      .join("");
    expect(JSON.parse(json)).toEqual({ file_path: "/work/repo/a.txt", content: "x\n" });
    expect(events[10]!.data).toEqual({
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { output_tokens: 3 },
    });
    expect(server.requests()[0]!.call).toEqual({
      id: "toolu_model_server_1",
      name: "Write",
      input: { file_path: "/work/repo/a.txt", content: "x\n" },
    });
  });

  it("gives Codex apply_patch for writes and edits and exec_command for the rest", async () => {
    server.loadScenario({
      turns: [
        { tool: "edit", path: "a.txt", old: "one\ntwo\n", new: "three\n" },
        { tool: "delete", path: "it's.txt" },
        { tool: "write", path: "b.txt", content: "b\n" },
      ],
    });
    const codexTools = [
      { type: "function", name: "exec_command" },
      { type: "custom", name: "apply_patch" },
    ];
    const events = await readSse(await post("/v1/responses", { stream: true, tools: codexTools, input: [] }));
    expect(events.map((event) => event.event)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.custom_tool_call_input.delta",
      "response.custom_tool_call_input.delta",
      "response.custom_tool_call_input.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events[6]!.data.item).toMatchObject({
      type: "custom_tool_call",
      call_id: "call_model_server_1",
      name: "apply_patch",
      input: "*** Begin Patch\n*** Update File: a.txt\n@@\n-one\n-two\n+three\n*** End Patch\n",
    });
    expect(events[7]!.data.response.usage).toMatchObject({ input_tokens: 100, output_tokens: 10, total_tokens: 110 });
    await post("/v1/responses", { stream: true, tools: codexTools, input: [] });
    expect(server.requests()[1]!.call).toEqual({
      id: "call_model_server_2",
      name: "exec_command",
      input: { cmd: "rm -- 'it'\\''s.txt'" },
    });
    // Without apply_patch, a write falls back to the shell.
    await post("/v1/responses", { stream: true, tools: [codexTools[0]], input: [] });
    expect(server.requests()[2]!.call?.input).toEqual({ cmd: "printf '%s' 'b\n' > 'b.txt'" });
  });

  it("reads tool results back in each vendor's shape", () => {
    const base = { seq: 1, method: "POST", path: "/", query: {}, headers: {}, kind: "main", turn: 0 } as const;
    const extra = { outcome: "answered", call: null };
    expect(
      toolResults({
        ...base,
        ...extra,
        api: "anthropic",
        body: { messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "out" }] }] },
      }),
    ).toEqual([{ id: "t1", output: "out", isError: false }]);
    expect(
      toolResults({
        ...base,
        ...extra,
        api: "openai",
        body: { input: [{ type: "custom_tool_call_output", call_id: "c1", output: "done" }] },
      }),
    ).toEqual([{ id: "c1", output: "done", isError: false }]);
    expect(
      toolResults({
        ...base,
        ...extra,
        api: "gemini",
        body: { contents: [{ role: "user", parts: [{ functionResponse: { id: "g1", response: { output: "ok" } } }] }] },
      }),
    ).toEqual([{ id: "g1", output: "ok", isError: false }]);
  });

  it("answers a turn whose tool is not offered with a 400 naming it, and an exhausted scenario likewise", async () => {
    server.loadScenario({ turns: [{ tool: "read", path: "a.txt" }] });
    const refused = await post("/v1/messages", { tools: [{ name: "Bash" }], system: CLAUDE_SYSTEM, messages: [] });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      type: "error",
      error: {
        type: "invalid_request_error",
        message: "model-server: scenario turn 0: the turn calls Read, which the request does not offer (offered: Bash)",
      },
    });
    const exhausted = await post("/v1/messages", { tools: [{ name: "Bash" }], messages: [] });
    expect(exhausted.status).toBe(400);
    expect(server.requests().map((request) => request.outcome)).toEqual([
      "turn error: the turn calls Read, which the request does not offer (offered: Bash)",
      "exhausted",
    ]);
  });

  it("fails with scripted statuses for `times` requests, then moves on", async () => {
    server.loadScenario({
      turns: [{ status: 429, times: 2, headers: { "retry-after": "0" } }, { say: "ok" }],
    });
    const gemini = (body: unknown) => post("/v1beta/models/g:streamGenerateContent?alt=sse&key=sekrit", body);
    const tools = [{ functionDeclarations: [{ name: "run_shell_command" }] }];
    const first = await gemini({ tools, contents: [] });
    expect(first.status).toBe(429);
    expect(first.headers["retry-after"]).toBe("0");
    expect(await first.json()).toEqual({
      error: { code: 429, message: "model-server: scripted 429 (scenario turn 0)", status: "RESOURCE_EXHAUSTED" },
    });
    expect((await gemini({ tools, contents: [] })).status).toBe(429);
    const third = await readSse(await gemini({ tools, contents: [] }));
    expect(third).toEqual([
      {
        event: undefined,
        data: {
          candidates: [{ content: { role: "model", parts: [{ text: "ok" }] }, index: 0, finishReason: "STOP" }],
          usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 10, totalTokenCount: 110 },
          modelVersion: "g",
          responseId: "resp_model_server_3",
        },
      },
    ]);
    expect(server.requests()[0]!.query).toEqual({ alt: "sse", key: "[redacted]" });
  });

  it("holds a hanging request open, long-polls /__requests for it, and drops it on close", async () => {
    const own = await startModelServer({ scenario: { turns: [{ hang: true }] } });
    const polled = get(`${own.url}/__requests?atLeast=1`).then((response) => response.json());
    const hung = send(`${own.url}/v1/messages`, "POST", { tools: [{ name: "Bash" }], messages: [] });
    const settled = hung.then(
      () => "answered",
      () => "dropped",
    );
    expect(((await polled) as { requests: { outcome: string }[] }).requests.map((r) => r.outcome)).toEqual(["hang"]);
    expect(own.state().hanging).toBe(1);
    await own.close();
    expect(await settled).toBe("dropped");
  });

  it("runs from the command line and stops on SIGTERM", async () => {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "server.mjs");
    const child = spawn(process.execPath, [script, "--port", "0", "--host", "127.0.0.1"], { stdio: "pipe" });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const url = await new Promise<string>((resolve) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (\S+)/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
    });
    expect(await (await get(`${url}/__health`)).json()).toEqual({ turns: 0, consumed: 0, remaining: 0, hanging: 0 });
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
