// @ts-check
// What the vendor modules share: the reply a handler returns (the server writes it), the error a
// turn that cannot be translated raises, and helpers to read the working directory from a request.
import path from "node:path";

/**
 * One server-sent event. `event` is omitted for APIs that send bare `data:` lines (Gemini).
 * @typedef {{ event?: string, data: unknown }} SseEvent
 */

/**
 * What the server writes back: a JSON body, a stream of server-sent events, or nothing ever.
 * @typedef {{ kind: "json", status: number, body: unknown, headers?: Record<string, string> }
 *   | { kind: "sse", events: SseEvent[] }
 *   | { kind: "hang" }} Reply
 */

/**
 * A vendor API: how to tell its main-conversation requests from auxiliary ones, and how to answer.
 * @typedef {object} VendorApi
 * @property {"anthropic" | "openai" | "gemini"} name
 * @property {(body: any) => boolean} isMain true when the request offers the agent's tools
 * @property {(turn: import("./scenario.mjs").ToolTurn | import("./scenario.mjs").SayTurn, request: VendorRequest) => Answer} answer
 * @property {(request: VendorRequest) => Reply} answerAux
 * @property {(status: number, message: string) => unknown} errorBody the vendor's own error JSON
 */

/**
 * The tool call a reply made, in the vendor's terms (tests match tool results to it by `id`).
 * @typedef {{ id: string, name: string, input: unknown }} MadeCall
 */

/**
 * A main-conversation reply and the tool call it made, if any.
 * @typedef {{ reply: Reply, call?: MadeCall }} Answer
 */

/**
 * What a vendor module knows about the request it answers.
 * @typedef {object} VendorRequest
 * @property {any} body the parsed JSON body
 * @property {boolean} stream whether the client asked for server-sent events
 * @property {string | undefined} cwd the scenario's `cwd`, which wins over the request's
 * @property {number} seq the request's sequence number (ids are derived from it)
 * @property {string} [model] the model named in the path (Gemini)
 */

/** A scenario turn that cannot be expressed in the request's terms (a tool it does not offer…). */
export class TurnError extends Error {}

/**
 * Every string inside a JSON value, in document order (to search prompts for the working directory).
 * @param {unknown} value
 * @returns {string[]}
 */
export function collectStrings(value) {
  /** @type {string[]} */
  const out = [];
  /** @param {unknown} node */
  const walk = (node) => {
    if (typeof node === "string") out.push(node);
    else if (Array.isArray(node)) node.forEach(walk);
    else if (typeof node === "object" && node !== null) Object.values(node).forEach(walk);
  };
  walk(value);
  return out;
}

/**
 * The first capture of `pattern` in any string of the body, or undefined.
 * @param {unknown} body
 * @param {RegExp} pattern
 */
export function findInStrings(body, pattern) {
  for (const text of collectStrings(body)) {
    const match = pattern.exec(text);
    if (match?.[1]) return match[1].trim();
  }
  return undefined;
}

/**
 * An absolute path for the tool call: absolute paths as they are, relative ones against the
 * working directory, or a TurnError when that is unknown.
 * @param {string} file
 * @param {string | undefined} cwd
 */
export function absolutePath(file, cwd) {
  if (path.isAbsolute(file)) return file;
  if (!cwd) {
    throw new TurnError(
      `cannot resolve ${JSON.stringify(file)}: no working directory in the request; give an absolute path or the scenario's cwd`,
    );
  }
  return path.join(cwd, file);
}

/**
 * Splits a string into two pieces (to exercise the client's reassembly of streamed fragments).
 * @param {string} text
 * @returns {string[]}
 */
export function splitInTwo(text) {
  if (text.length < 2) return [text];
  const middle = Math.floor(text.length / 2);
  return [text.slice(0, middle), text.slice(middle)];
}
