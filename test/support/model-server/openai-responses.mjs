// @ts-check
// The OpenAI Responses API as the Codex CLI uses it: POST /v1/responses, streamed. Codex offers
// `exec_command` (a shell command string; older versions: `shell`, an argv array) and `apply_patch`
// (a freeform "custom" tool whose input is a patch; some models get it as a JSON function instead).
import { TurnError, findInStrings, splitInTwo } from "./common.mjs";
import { shellQuote, usageOf } from "./scenario.mjs";

/**
 * A tool Codex offers, by name.
 * @param {any} body
 * @param {string} name
 * @returns {any}
 */
function offeredTool(body, name) {
  return (Array.isArray(body?.tools) ? body.tools : []).find((/** @type {any} */ tool) => tool?.name === name);
}

/**
 * The patch text apply_patch takes for a neutral write or edit.
 * @param {import("./scenario.mjs").ToolTurn} turn
 */
export function applyPatchText(turn) {
  const lines = (/** @type {string} */ text) => text.replace(/\n$/, "").split("\n");
  if (turn.tool === "write") {
    const added = lines(turn.content).map((line) => `+${line}`);
    return ["*** Begin Patch", `*** Add File: ${turn.path}`, ...added, "*** End Patch", ""].join("\n");
  }
  if (turn.tool === "edit") {
    const removed = lines(turn.old).map((line) => `-${line}`);
    const added = lines(turn.new).map((line) => `+${line}`);
    return ["*** Begin Patch", `*** Update File: ${turn.path}`, "@@", ...removed, ...added, "*** End Patch", ""].join(
      "\n",
    );
  }
  throw new TurnError(`apply_patch does not express ${turn.tool}`);
}

/**
 * The output item (function_call or custom_tool_call) a neutral turn becomes in Codex's terms.
 * @param {import("./scenario.mjs").ToolTurn} turn
 * @param {any} body
 * @param {string} callId
 * @returns {Record<string, unknown>}
 */
export function codexToolItem(turn, body, callId) {
  if (turn.tool === "write" || turn.tool === "edit") {
    const patch = offeredTool(body, "apply_patch");
    if (patch?.type === "custom") {
      return { type: "custom_tool_call", call_id: callId, name: "apply_patch", input: applyPatchText(turn) };
    }
    if (patch?.type === "function") {
      return functionCall(callId, "apply_patch", { input: applyPatchText(turn) });
    }
    if (turn.tool === "edit") throw new TurnError("an edit needs apply_patch, which the request does not offer");
    return shellCall(body, callId, `printf '%s' ${shellQuote(turn.content)} > ${shellQuote(turn.path)}`);
  }
  if (turn.tool === "delete") return shellCall(body, callId, `rm -- ${shellQuote(turn.path)}`);
  if (turn.tool === "read") return shellCall(body, callId, `cat -- ${shellQuote(turn.path)}`);
  return shellCall(body, callId, turn.command);
}

/**
 * @param {any} body
 * @param {string} callId
 * @param {string} command
 */
function shellCall(body, callId, command) {
  if (offeredTool(body, "exec_command")) return functionCall(callId, "exec_command", { cmd: command });
  if (offeredTool(body, "shell")) return functionCall(callId, "shell", { command: ["bash", "-lc", command] });
  if (offeredTool(body, "shell_command")) return functionCall(callId, "shell_command", { command });
  const names = (Array.isArray(body?.tools) ? body.tools : []).map(
    (/** @type {any} */ tool) => tool?.name ?? tool?.type,
  );
  throw new TurnError(`no shell tool offered (offered: ${names.join(", ")})`);
}

/**
 * @param {string} callId
 * @param {string} name
 * @param {unknown} args
 */
function functionCall(callId, name, args) {
  return { type: "function_call", call_id: callId, name, arguments: JSON.stringify(args) };
}

/**
 * The working directory Codex states in its environment context (`<cwd>…</cwd>`).
 * @param {any} body
 */
export function codexCwd(body) {
  return findInStrings(body?.input, /<cwd>([^<]+)<\/cwd>/);
}

/** @type {Record<number, string>} */
const ERROR_TYPES = { 400: "invalid_request_error", 401: "invalid_request_error", 429: "rate_limit_exceeded" };

/** @type {import("./common.mjs").VendorApi} */
export const openaiResponsesApi = {
  name: "openai",
  isMain(body) {
    return Array.isArray(body?.tools) && body.tools.length > 0;
  },
  answer(turn, request) {
    /** @type {Record<string, unknown>[]} */
    const items = [];
    if (typeof turn.say === "string") {
      items.push({
        type: "message",
        id: `msg_model_server_${request.seq}`,
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: turn.say, annotations: [] }],
      });
    }
    /** @type {import("./common.mjs").MadeCall | undefined} */
    let made;
    if ("tool" in turn) {
      const item = codexToolItem(turn, request.body, `call_model_server_${request.seq}`);
      items.push({ id: `fc_model_server_${request.seq}`, status: "completed", ...item });
      const input = item["type"] === "function_call" ? JSON.parse(String(item["arguments"])) : item["input"];
      made = { id: String(item["call_id"]), name: String(item["name"]), input };
    }
    const reply = buildResponse(items, usageOf(turn), request);
    return made ? { reply, call: made } : { reply };
  },
  answerAux(request) {
    const item = {
      type: "message",
      id: `msg_model_server_${request.seq}`,
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: "{}", annotations: [] }],
    };
    return buildResponse([item], usageOf({ say: "" }), request);
  },
  errorBody(status, message) {
    const type = ERROR_TYPES[status] ?? "server_error";
    return { error: { message, type, code: status === 429 ? "rate_limit_exceeded" : null, param: null } };
  },
};

/**
 * @param {Record<string, unknown>[]} items
 * @param {Required<import("./scenario.mjs").TurnUsage>} usage
 * @param {import("./common.mjs").VendorRequest} request
 * @returns {import("./common.mjs").Reply}
 */
function buildResponse(items, usage, request) {
  const id = `resp_model_server_${request.seq}`;
  const model = typeof request.body?.model === "string" ? request.body.model : "model-server";
  const base = { id, object: "response", created_at: 0, model };
  const responseUsage = {
    input_tokens: usage.input,
    input_tokens_details: { cached_tokens: usage.cacheRead },
    output_tokens: usage.output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.input + usage.output,
  };
  const completed = { ...base, status: "completed", output: items, usage: responseUsage };
  if (!request.stream) return { kind: "json", status: 200, body: completed };
  /** @type {import("./common.mjs").SseEvent[]} */
  const events = [];
  const push = (/** @type {string} */ type, /** @type {Record<string, unknown>} */ data) =>
    events.push({ event: type, data: { type, sequence_number: events.length, ...data } });
  push("response.created", { response: { ...base, status: "in_progress", output: [] } });
  push("response.in_progress", { response: { ...base, status: "in_progress", output: [] } });
  items.forEach((item, output_index) => {
    push("response.output_item.added", { output_index, item: { ...item, status: "in_progress" } });
    if (item["type"] === "message") {
      const content = /** @type {{ text: string }[]} */ (item["content"]);
      const text = content[0]?.text ?? "";
      const part = { item_id: item["id"], output_index, content_index: 0 };
      push("response.content_part.added", { ...part, part: { type: "output_text", text: "", annotations: [] } });
      for (const delta of splitInTwo(text)) push("response.output_text.delta", { ...part, delta });
      push("response.output_text.done", { ...part, text });
      push("response.content_part.done", { ...part, part: content[0] });
    } else if (item["type"] === "function_call") {
      const args = /** @type {string} */ (item["arguments"]);
      for (const delta of splitInTwo(args)) {
        push("response.function_call_arguments.delta", { item_id: item["id"], output_index, delta });
      }
      push("response.function_call_arguments.done", { item_id: item["id"], output_index, arguments: args });
    } else if (item["type"] === "custom_tool_call") {
      const input = /** @type {string} */ (item["input"]);
      for (const delta of splitInTwo(input)) {
        push("response.custom_tool_call_input.delta", { item_id: item["id"], output_index, delta });
      }
      push("response.custom_tool_call_input.done", { item_id: item["id"], output_index, input });
    }
    push("response.output_item.done", { output_index, item });
  });
  push("response.completed", { response: completed });
  return { kind: "sse", events };
}
