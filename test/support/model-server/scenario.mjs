// @ts-check
// A scenario is what the scripted "model" does, in neutral terms: an ordered list of turns. Each
// main-conversation request a CLI sends consumes the next turn; the vendor modules translate a turn
// into that vendor's tool names and argument shapes. See README.md beside this file.

/**
 * Token counts the turn reports (the CLI adds them up and prices them).
 * @typedef {object} TurnUsage
 * @property {number} [input] input (prompt) tokens, default 100
 * @property {number} [output] output (completion) tokens, default 10
 * @property {number} [cacheRead] input tokens read from the prompt cache, default 0
 * @property {number} [cacheWrite] input tokens written to the prompt cache (Anthropic only), default 0
 */

/**
 * A tool call in neutral terms. Paths are relative to the CLI's working directory (which the
 * server reads from the request) or absolute.
 * @typedef {{ tool: "write", path: string, content: string }
 *   | { tool: "edit", path: string, old: string, new: string }
 *   | { tool: "delete", path: string }
 *   | { tool: "bash", command: string }
 *   | { tool: "read", path: string }} ToolCall
 */

/**
 * The model calls one tool, optionally saying something first.
 * @typedef {ToolCall & { say?: string, usage?: TurnUsage }} ToolTurn
 */

/**
 * The model answers with text and ends its turn.
 * @typedef {{ say: string, usage?: TurnUsage }} SayTurn
 */

/**
 * The API fails with this HTTP status (the vendor's own error body unless `body` is given), for
 * `times` requests in a row (default 1) or for every request from then on (`"always"`).
 * @typedef {{ status: number, body?: unknown, headers?: Record<string, string>, times?: number | "always" }} StatusTurn
 */

/**
 * The server accepts the request and never answers it.
 * @typedef {{ hang: true, times?: number | "always" }} HangTurn
 */

/** @typedef {ToolTurn | SayTurn | StatusTurn | HangTurn} Turn */

/**
 * A whole scenario. `cwd` overrides the working directory read from the requests.
 * @typedef {object} Scenario
 * @property {Turn[]} turns
 * @property {string} [cwd]
 */

/** The neutral tool names a turn may use. */
export const TOOL_NAMES = /** @type {const} */ (["write", "edit", "delete", "bash", "read"]);

/** Usage a turn reports when it names none. */
export const DEFAULT_USAGE = Object.freeze({ input: 100, output: 10, cacheRead: 0, cacheWrite: 0 });

/**
 * Checks a parsed JSON value and returns it as a scenario, or throws saying which turn is wrong.
 * @param {unknown} value
 * @returns {Scenario}
 */
export function parseScenario(value) {
  if (!isObject(value)) throw new Error("scenario: expected an object with a `turns` array");
  const turns = value["turns"];
  if (!Array.isArray(turns)) throw new Error("scenario: `turns` must be an array");
  if (value["cwd"] !== undefined && typeof value["cwd"] !== "string")
    throw new Error("scenario: `cwd` must be a string");
  return {
    turns: turns.map((turn, index) => parseTurn(turn, `scenario.turns[${index}]`)),
    ...(typeof value["cwd"] === "string" ? { cwd: value["cwd"] } : {}),
  };
}

/**
 * @param {unknown} turn
 * @param {string} where
 * @returns {Turn}
 */
function parseTurn(turn, where) {
  if (!isObject(turn)) throw new Error(`${where}: expected an object`);
  if (turn["usage"] !== undefined) checkUsage(turn["usage"], `${where}.usage`);
  if ("status" in turn) {
    const status = turn["status"];
    if (typeof status !== "number" || !Number.isInteger(status) || status < 400 || status > 599) {
      throw new Error(`${where}.status: expected an HTTP error status (400-599)`);
    }
    checkTimes(turn["times"], where);
    if (turn["headers"] !== undefined && !isStringRecord(turn["headers"])) {
      throw new Error(`${where}.headers: expected an object of strings`);
    }
    return /** @type {StatusTurn} */ (turn);
  }
  if ("hang" in turn) {
    if (turn["hang"] !== true) throw new Error(`${where}.hang: must be true`);
    checkTimes(turn["times"], where);
    return /** @type {HangTurn} */ (turn);
  }
  if ("say" in turn && typeof turn["say"] !== "string") throw new Error(`${where}.say: expected a string`);
  if (!("tool" in turn)) {
    if (typeof turn["say"] !== "string") throw new Error(`${where}: expected one of tool, say, status or hang`);
    return /** @type {SayTurn} */ (turn);
  }
  const tool = turn["tool"];
  switch (tool) {
    case "write":
      requireStrings(turn, ["path", "content"], where);
      break;
    case "edit":
      requireStrings(turn, ["path", "old", "new"], where);
      break;
    case "delete":
    case "read":
      requireStrings(turn, ["path"], where);
      break;
    case "bash":
      requireStrings(turn, ["command"], where);
      break;
    default:
      throw new Error(`${where}.tool: expected one of ${TOOL_NAMES.join(", ")}, got ${JSON.stringify(tool)}`);
  }
  return /** @type {ToolTurn} */ (turn);
}

/**
 * Hands out a scenario's turns in order, honouring `times` on failure turns.
 */
export class TurnQueue {
  /** @param {Scenario} scenario */
  constructor(scenario) {
    /** @type {Scenario} */
    this.scenario = scenario;
    /** Index of the turn the next request gets. */
    this.index = 0;
    /** Requests already answered by the current turn (for `times`). */
    this.usedOfCurrent = 0;
    /** How many requests took a turn. */
    this.consumed = 0;
  }

  /**
   * The next turn and its index, or undefined when the scenario is used up.
   * @returns {{ turn: Turn, index: number } | undefined}
   */
  take() {
    const turn = this.scenario.turns[this.index];
    if (turn === undefined) return undefined;
    const index = this.index;
    const times = "times" in turn ? turn.times : undefined;
    this.usedOfCurrent += 1;
    if (times !== "always" && this.usedOfCurrent >= (times ?? 1)) {
      this.index += 1;
      this.usedOfCurrent = 0;
    }
    this.consumed += 1;
    return { turn, index };
  }

  /** How many turns have not been reached yet (the current one counts while it has uses left). */
  remaining() {
    return this.scenario.turns.length - this.index;
  }
}

/**
 * The turn's usage with defaults filled in.
 * @param {Turn} turn
 * @returns {Required<TurnUsage>}
 */
export function usageOf(turn) {
  const usage = "usage" in turn && turn.usage ? turn.usage : {};
  return { ...DEFAULT_USAGE, ...usage };
}

/**
 * Quotes a string for a POSIX shell.
 * @param {string} value
 */
export function shellQuote(value) {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** @param {unknown} value */
function isStringRecord(value) {
  return isObject(value) && Object.values(value).every((entry) => typeof entry === "string");
}

/**
 * @param {Record<string, unknown>} turn
 * @param {string[]} keys
 * @param {string} where
 */
function requireStrings(turn, keys, where) {
  for (const key of keys) {
    if (typeof turn[key] !== "string") throw new Error(`${where}.${key}: expected a string`);
  }
}

/**
 * @param {unknown} times
 * @param {string} where
 */
function checkTimes(times, where) {
  if (times === undefined || times === "always") return;
  if (typeof times !== "number" || !Number.isInteger(times) || times < 1) {
    throw new Error(`${where}.times: expected a positive integer or "always"`);
  }
}

/**
 * @param {unknown} usage
 * @param {string} where
 */
function checkUsage(usage, where) {
  if (!isObject(usage)) throw new Error(`${where}: expected an object`);
  for (const [key, count] of Object.entries(usage)) {
    if (!["input", "output", "cacheRead", "cacheWrite"].includes(key)) throw new Error(`${where}.${key}: unknown`);
    if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
      throw new Error(`${where}.${key}: expected a non-negative integer`);
    }
  }
}
