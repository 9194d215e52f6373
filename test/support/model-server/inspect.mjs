// @ts-check
// Reading recorded requests in vendor-neutral terms, for assertions: what the user said (the
// prompt Foreman rendered arrives as user text) and which tool results the CLI sent back.

/**
 * A tool result the CLI sent back, matched to the call by `id`.
 * @typedef {{ id: string, output: string, isError: boolean }} ToolResult
 */

/**
 * The user-role text of a recorded main request (the prompt, system reminders and context included).
 * @param {import("./server.mjs").RecordedRequest} request
 * @returns {string[]}
 */
export function userTexts(request) {
  const body = /** @type {any} */ (request.body);
  /** @type {string[]} */
  const texts = [];
  if (request.api === "anthropic") {
    for (const message of arrayOf(body?.messages)) {
      if (message?.role !== "user") continue;
      if (typeof message.content === "string") texts.push(message.content);
      for (const block of arrayOf(message.content)) if (block?.type === "text") texts.push(String(block.text));
    }
  } else if (request.api === "openai") {
    for (const item of arrayOf(body?.input)) {
      if (item?.type !== "message" || item.role !== "user") continue;
      if (typeof item.content === "string") texts.push(item.content);
      for (const part of arrayOf(item.content)) if (part?.type === "input_text") texts.push(String(part.text));
    }
  } else if (request.api === "gemini") {
    for (const content of arrayOf(body?.contents)) {
      if (content?.role !== "user") continue;
      for (const part of arrayOf(content.parts)) if (typeof part?.text === "string") texts.push(part.text);
    }
  }
  return texts;
}

/**
 * The tool results in a recorded main request (the whole history the CLI sent, oldest first).
 * @param {import("./server.mjs").RecordedRequest} request
 * @returns {ToolResult[]}
 */
export function toolResults(request) {
  const body = /** @type {any} */ (request.body);
  /** @type {ToolResult[]} */
  const results = [];
  if (request.api === "anthropic") {
    for (const message of arrayOf(body?.messages)) {
      for (const block of arrayOf(message?.content)) {
        if (block?.type !== "tool_result") continue;
        results.push({
          id: String(block.tool_use_id),
          output: textOf(block.content),
          isError: block.is_error === true,
        });
      }
    }
  } else if (request.api === "openai") {
    for (const item of arrayOf(body?.input)) {
      if (item?.type !== "function_call_output" && item?.type !== "custom_tool_call_output") continue;
      const output = typeof item.output === "object" && item.output !== null ? item.output : { content: item.output };
      const text = textOf(output.content ?? output.output ?? output);
      results.push({ id: String(item.call_id), output: text, isError: output.success === false });
    }
  } else if (request.api === "gemini") {
    for (const content of arrayOf(body?.contents)) {
      for (const part of arrayOf(content?.parts)) {
        const response = part?.functionResponse;
        if (!response) continue;
        const error = response.response?.error;
        results.push({
          id: String(response.id ?? response.name),
          output: textOf(response.response?.output ?? error ?? response.response),
          isError: error !== undefined,
        });
      }
    }
  }
  return results;
}

/**
 * The names of the tools a recorded request offers.
 * @param {import("./server.mjs").RecordedRequest} request
 * @returns {string[]}
 */
export function offeredTools(request) {
  const body = /** @type {any} */ (request.body);
  if (request.api === "gemini") {
    return arrayOf(body?.tools).flatMap((tool) => arrayOf(tool?.functionDeclarations).map((fn) => String(fn?.name)));
  }
  return arrayOf(body?.tools).map((tool) => String(tool?.name ?? tool?.type));
}

/**
 * @param {unknown} value
 * @returns {any[]}
 */
function arrayOf(value) {
  return Array.isArray(value) ? value : [];
}

/**
 * Text from a string, an array of text blocks, or any JSON value.
 * @param {unknown} value
 * @returns {string}
 */
function textOf(value) {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    return value
      .map((/** @type {any} */ part) => (typeof part === "string" ? part : (part?.text ?? JSON.stringify(part))))
      .join("\n");
  }
  return JSON.stringify(value ?? null);
}
