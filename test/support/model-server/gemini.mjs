// @ts-check
// Gemini's API as the Gemini CLI uses it: POST /v1beta/models/{model}:streamGenerateContent?alt=sse
// and :generateContent (auxiliary JSON calls such as the model router), :countTokens. Tool calls
// are `functionCall` parts naming the CLI's tools: write_file, replace, read_file, run_shell_command.
import { TurnError, absolutePath, findInStrings } from "./common.mjs";
import { shellQuote, usageOf } from "./scenario.mjs";

/**
 * The function declarations the request offers, by name.
 * @param {any} body
 * @returns {Map<string, any>}
 */
function declarations(body) {
  const found = new Map();
  for (const tool of Array.isArray(body?.tools) ? body.tools : []) {
    for (const declaration of Array.isArray(tool?.functionDeclarations) ? tool.functionDeclarations : []) {
      if (typeof declaration?.name === "string") found.set(declaration.name, declaration);
    }
  }
  return found;
}

/**
 * The parameter names a declaration has (parametersJsonSchema or the older parameters).
 * @param {any} declaration
 * @returns {string[]}
 */
function parameterNames(declaration) {
  const schema = declaration?.parametersJsonSchema ?? declaration?.parameters ?? {};
  return Object.keys(schema.properties ?? {});
}

/**
 * The first of `candidates` the declaration has, or the first candidate.
 * @param {any} declaration
 * @param {string[]} candidates
 */
function pickParameter(declaration, candidates) {
  const names = parameterNames(declaration);
  return candidates.find((name) => names.includes(name)) ?? /** @type {string} */ (candidates[0]);
}

/**
 * The function call a neutral turn becomes in the Gemini CLI's terms.
 * @param {import("./scenario.mjs").ToolTurn} turn
 * @param {any} body
 * @param {string | undefined} cwd
 * @returns {{ name: string, args: Record<string, unknown> }}
 */
export function geminiFunctionCall(turn, body, cwd) {
  const offered = declarations(body);
  /** @param {string} name */
  const need = (name) => {
    const declaration = offered.get(name);
    if (!declaration) {
      throw new TurnError(
        `the turn calls ${name}, which the request does not offer (offered: ${[...offered.keys()].join(", ")})`,
      );
    }
    return declaration;
  };
  /** @param {string} command @param {string} description */
  const shell = (command, description) => {
    need("run_shell_command");
    return { name: "run_shell_command", args: { command, description } };
  };
  switch (turn.tool) {
    case "write": {
      const declaration = need("write_file");
      const file = pickParameter(declaration, ["file_path", "absolute_path", "path"]);
      return { name: "write_file", args: { [file]: absolutePath(turn.path, cwd), content: turn.content } };
    }
    case "edit": {
      const declaration = need("replace");
      const file = pickParameter(declaration, ["file_path", "absolute_path", "path"]);
      /** @type {Record<string, unknown>} */
      const args = { [file]: absolutePath(turn.path, cwd), old_string: turn.old, new_string: turn.new };
      if (parameterNames(declaration).includes("instruction")) args["instruction"] = `Replace text in ${turn.path}.`;
      return { name: "replace", args };
    }
    case "read": {
      const declaration = need("read_file");
      const file = pickParameter(declaration, ["file_path", "absolute_path", "path"]);
      return { name: "read_file", args: { [file]: absolutePath(turn.path, cwd) } };
    }
    case "delete":
      return shell(`rm -- ${shellQuote(absolutePath(turn.path, cwd))}`, `Delete ${turn.path}`);
    case "bash":
      return shell(turn.command, "Run a shell command");
  }
}

/**
 * The working directory the Gemini CLI states in its session context ("Workspace Directories").
 * @param {any} body
 */
export function geminiCwd(body) {
  return (
    findInStrings(body?.contents, /Workspace Directories:\**\s*\n\s*-\s*(\S+)/) ??
    findInStrings(body?.contents, /I'm currently working in the directory:\s*(\S+)/)
  );
}

/** @type {Record<number, string>} */
const STATUSES = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
};

/** @type {import("./common.mjs").VendorApi} */
export const geminiApi = {
  name: "gemini",
  isMain(body) {
    return declarations(body).size > 0;
  },
  answer(turn, request) {
    /** @type {any[]} */
    const parts = [];
    if (typeof turn.say === "string") parts.push({ text: turn.say });
    /** @type {import("./common.mjs").MadeCall | undefined} */
    let made;
    if ("tool" in turn) {
      const call = geminiFunctionCall(turn, request.body, request.cwd ?? geminiCwd(request.body));
      made = { id: `call_model_server_${request.seq}`, name: call.name, input: call.args };
      parts.push({ functionCall: { id: made.id, name: call.name, args: call.args } });
    }
    const reply = buildResponse(parts, usageOf(turn), request);
    return made ? { reply, call: made } : { reply };
  },
  answerAux(request) {
    const config = request.body?.generationConfig ?? {};
    const schema = config.responseJsonSchema ?? config.responseSchema;
    const text = schema ? JSON.stringify(sampleFromSchema(schema)) : "{}";
    return buildResponse([{ text }], usageOf({ say: "" }), request);
  },
  errorBody(status, message) {
    return { error: { code: status, message, status: STATUSES[status] ?? "UNKNOWN" } };
  },
};

/**
 * @param {any[]} parts
 * @param {Required<import("./scenario.mjs").TurnUsage>} usage
 * @param {import("./common.mjs").VendorRequest} request
 * @returns {import("./common.mjs").Reply}
 */
function buildResponse(parts, usage, request) {
  const usageMetadata = {
    promptTokenCount: usage.input,
    candidatesTokenCount: usage.output,
    totalTokenCount: usage.input + usage.output,
    ...(usage.cacheRead > 0 ? { cachedContentTokenCount: usage.cacheRead } : {}),
  };
  const chunk = (/** @type {any[]} */ chunkParts, /** @type {boolean} */ last) => ({
    candidates: [
      {
        content: { role: "model", parts: chunkParts },
        index: 0,
        ...(last ? { finishReason: "STOP" } : {}),
      },
    ],
    ...(last ? { usageMetadata } : {}),
    modelVersion: request.model ?? "model-server",
    responseId: `resp_model_server_${request.seq}`,
  });
  if (!request.stream) return { kind: "json", status: 200, body: chunk(parts, true) };
  // Text first, then the function call with the finish reason and usage, as the real API streams.
  const texts = parts.filter((part) => "text" in part);
  const calls = parts.filter((part) => !("text" in part));
  /** @type {import("./common.mjs").SseEvent[]} */
  const events = [];
  if (texts.length > 0 && calls.length > 0) events.push({ data: chunk(texts, false) });
  events.push({ data: chunk(texts.length > 0 && calls.length > 0 ? calls : parts, true) });
  return { kind: "sse", events };
}

/**
 * A minimal value that satisfies a JSON schema (first enum value, empty strings, the minimum
 * number, required properties only), for auxiliary calls that ask for JSON.
 * @param {any} schema
 * @returns {unknown}
 */
export function sampleFromSchema(schema) {
  if (!schema || typeof schema !== "object") return null;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const type = String(Array.isArray(schema.type) ? schema.type[0] : (schema.type ?? "object")).toLowerCase();
  switch (type) {
    case "string":
      return "";
    case "integer":
    case "number":
      return typeof schema.minimum === "number" ? schema.minimum : 1;
    case "boolean":
      return false;
    case "array":
      return [];
    case "null":
      return null;
    default: {
      /** @type {Record<string, unknown>} */
      const out = {};
      const properties = schema.properties ?? {};
      const required = Array.isArray(schema.required) ? schema.required : Object.keys(properties);
      for (const key of required) out[key] = sampleFromSchema(properties[key]);
      return out;
    }
  }
}

/**
 * A rough token count for :countTokens (four characters a token).
 * @param {unknown} body
 */
export function countGeminiTokens(body) {
  return { totalTokens: Math.max(1, Math.ceil(JSON.stringify(body ?? {}).length / 4)) };
}
