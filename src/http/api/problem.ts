import type { IncomingMessage, ServerResponse } from "node:http";

/** The base of the `type` URIs of Foreman's problem documents (RFC 9457). */
export const PROBLEM_TYPE_BASE = "https://foreman.dev/problems/";

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  413: "Payload too large",
  415: "Unsupported media type",
  422: "Unprocessable content",
  429: "Too many requests",
  500: "Internal server error",
  502: "Bad gateway",
};

/** Answer with an RFC 9457 problem document (`application/problem+json`: type, title, status, detail). */
export function sendProblem(
  res: ServerResponse,
  status: number,
  slug: string,
  detail: string,
  headers: Record<string, string> = {},
): true {
  const body = { type: `${PROBLEM_TYPE_BASE}${slug}`, title: TITLES[status] ?? "Error", status, detail };
  res.writeHead(status, { "content-type": "application/problem+json", ...headers }).end(JSON.stringify(body));
  return true;
}

/** Answer with JSON. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): true {
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
  return true;
}

/** A request body that is not what the route takes: answered 400/415 with this detail. */
export class BadRequestError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 415 = 400,
  ) {
    super(message);
    this.name = "BadRequestError";
  }
}

/** Read a JSON request body (the body limit in front of every route bounds its size); empty is `{}`. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/json\b/i.test(type))
    throw new BadRequestError(`Send the body as JSON with Content-Type: application/json (got "${type}").`, 415);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequestError("The body is not valid JSON.");
  }
}
