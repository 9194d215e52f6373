// @ts-check
// The Anthropic Messages API as Claude Code uses it: POST /v1/messages (streamed or not) and
// POST /v1/messages/count_tokens. Tool calls use Claude Code's own tools: Write, Edit, Read, Bash.
import { TurnError, absolutePath, findInStrings, splitInTwo } from "./common.mjs";
import { shellQuote, usageOf } from "./scenario.mjs";

/**
 * The tool call a neutral turn becomes in Claude Code's terms.
 * @param {import("./scenario.mjs").ToolTurn} turn
 * @param {string | undefined} cwd
 * @returns {{ name: string, input: Record<string, unknown> }}
 */
export function anthropicToolCall(turn, cwd) {
  switch (turn.tool) {
    case "write":
      return { name: "Write", input: { file_path: absolutePath(turn.path, cwd), content: turn.content } };
    case "edit":
      return {
        name: "Edit",
        input: { file_path: absolutePath(turn.path, cwd), old_string: turn.old, new_string: turn.new },
      };
    case "read":
      return { name: "Read", input: { file_path: absolutePath(turn.path, cwd) } };
    case "delete":
      return {
        name: "Bash",
        input: { command: `rm -- ${shellQuote(absolutePath(turn.path, cwd))}`, description: `Delete ${turn.path}` },
      };
    case "bash":
      return { name: "Bash", input: { command: turn.command, description: "Run a shell command" } };
  }
}

/**
 * The working directory Claude Code states ("Primary working directory: …"): in its system prompt
 * (2.1.197), or in the environment reminder of the first user message (2.1.332).
 * @param {any} body
 */
export function anthropicCwd(body) {
  const pattern = /Primary working directory:\s*(\S+)/;
  return findInStrings(body?.system, pattern) ?? findInStrings(body?.messages, pattern);
}

/** @type {Record<number, string>} */
const ERROR_TYPES = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

/** @type {import("./common.mjs").VendorApi} */
export const anthropicApi = {
  name: "anthropic",
  isMain(body) {
    return Array.isArray(body?.tools) && body.tools.length > 0;
  },
  answer(turn, request) {
    const { body, seq } = request;
    /** @type {any[]} */
    const content = [];
    /** @type {import("./common.mjs").MadeCall | undefined} */
    let made;
    if (typeof turn.say === "string") content.push({ type: "text", text: turn.say });
    if ("tool" in turn) {
      const call = anthropicToolCall(turn, request.cwd ?? anthropicCwd(body));
      const offered = (body.tools ?? []).map((/** @type {any} */ tool) => tool?.name);
      if (!offered.includes(call.name)) {
        throw new TurnError(
          `the turn calls ${call.name}, which the request does not offer (offered: ${offered.join(", ")})`,
        );
      }
      made = { id: `toolu_model_server_${seq}`, name: call.name, input: call.input };
      content.push({ type: "tool_use", ...made });
    }
    const stopReason = "tool" in turn ? "tool_use" : "end_turn";
    const reply = buildMessage(content, stopReason, usageOf(turn), request);
    return made ? { reply, call: made } : { reply };
  },
  answerAux(request) {
    // Title, topic and quota checks offer no tools and want a short text; JSON keeps parsers happy.
    return buildMessage([{ type: "text", text: "{}" }], "end_turn", usageOf({ say: "" }), request);
  },
  errorBody(status, message) {
    return { type: "error", error: { type: ERROR_TYPES[status] ?? "api_error", message } };
  },
};

/**
 * @param {any[]} content
 * @param {string} stopReason
 * @param {Required<import("./scenario.mjs").TurnUsage>} usage
 * @param {import("./common.mjs").VendorRequest} request
 * @returns {import("./common.mjs").Reply}
 */
function buildMessage(content, stopReason, usage, request) {
  const id = `msg_model_server_${request.seq}`;
  const model = typeof request.body?.model === "string" ? request.body.model : "model-server";
  const inputUsage = {
    input_tokens: usage.input,
    cache_creation_input_tokens: usage.cacheWrite,
    cache_read_input_tokens: usage.cacheRead,
  };
  if (!request.stream) {
    return {
      kind: "json",
      status: 200,
      body: {
        id,
        type: "message",
        role: "assistant",
        model,
        content,
        stop_reason: stopReason,
        stop_sequence: null,
        usage: { ...inputUsage, output_tokens: usage.output },
      },
    };
  }
  /** @type {import("./common.mjs").SseEvent[]} */
  const events = [
    {
      event: "message_start",
      data: {
        type: "message_start",
        message: {
          id,
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...inputUsage, output_tokens: 1 },
        },
      },
    },
    { event: "ping", data: { type: "ping" } },
  ];
  content.forEach((block, index) => {
    if (block.type === "text") {
      events.push({
        event: "content_block_start",
        data: { type: "content_block_start", index, content_block: { type: "text", text: "" } },
      });
      for (const text of splitInTwo(block.text)) {
        events.push({
          event: "content_block_delta",
          data: { type: "content_block_delta", index, delta: { type: "text_delta", text } },
        });
      }
    } else {
      events.push({
        event: "content_block_start",
        data: {
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
        },
      });
      for (const partial_json of splitInTwo(JSON.stringify(block.input))) {
        events.push({
          event: "content_block_delta",
          data: { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json } },
        });
      }
    }
    events.push({ event: "content_block_stop", data: { type: "content_block_stop", index } });
  });
  events.push(
    {
      event: "message_delta",
      data: {
        type: "message_delta",
        delta: { stop_reason: stopReason, stop_sequence: null },
        usage: { output_tokens: usage.output },
      },
    },
    { event: "message_stop", data: { type: "message_stop" } },
  );
  return { kind: "sse", events };
}

/**
 * A rough token count for POST /v1/messages/count_tokens (four characters a token).
 * @param {unknown} body
 */
export function countAnthropicTokens(body) {
  return { input_tokens: Math.max(1, Math.ceil(JSON.stringify(body ?? {}).length / 4)) };
}
