/**
 * A size limit on every request body, applied before any route reads it. Probot's webhook
 * middleware buffers the whole body before it checks the signature, so without this a
 * stranger's 400 MB POST grows the process by gigabytes before its 400. GitHub never sends a
 * webhook over 25 MB (it drops larger payloads). The one other route that takes a body, the
 * Kubernetes jobs' file upload (src/http/job-archive-route.ts), may be given its own larger limit.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";

/** GitHub's cap on a webhook payload: https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap */
export const MAX_REQUEST_BODY_BYTES = 25 * 1024 * 1024;

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

const guarded = new WeakSet<Server>();

/** A route that takes larger bodies than webhooks (the Kubernetes jobs' file uploads), by path. */
export interface LargerBodies {
  readonly path: RegExp;
  readonly maxBytes: number;
}

/**
 * Puts the limit in front of the server's request handlers (those registered so far: Probot's).
 * A body declared larger than `maxBytes` is answered 413, one without a declared length 411,
 * a malformed length 400; each without reading the body, and the connection is closed. Node's
 * parser never delivers more body than the declared length, so the declared length bounds what
 * a route can be made to read. A POST to `larger.path` may declare up to `larger.maxBytes`. Idempotent.
 */
export function guardRequestBodies(
  server: Server,
  maxBytes = MAX_REQUEST_BODY_BYTES,
  larger: LargerBodies | null = null,
): void {
  if (guarded.has(server)) return;
  guarded.add(server);
  const handlers = server.listeners("request") as RequestListener[];
  server.removeAllListeners("request");
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    const limit = larger !== null && request.method === "POST" && larger.path.test(path) ? larger.maxBytes : maxBytes;
    const refusal = judgeBody(request, limit);
    if (refusal === null) {
      for (const handler of handlers) handler.call(server, request, response);
      return;
    }
    const text = JSON.stringify({ error: refusal.error, message: refusal.message });
    response.writeHead(refusal.status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      connection: "close",
    });
    response.end(text);
    // Whatever the client still sends is not read: the socket goes once the answer is out.
    response.on("finish", () => request.socket.destroy());
  });
}

interface Refusal {
  status: 400 | 411 | 413;
  error: string;
  message: string;
}

function judgeBody(request: IncomingMessage, maxBytes: number): Refusal | null {
  const declared = request.headers["content-length"];
  const chunked = request.headers["transfer-encoding"] !== undefined;
  if (declared === undefined) {
    if (!chunked) return null; // no body at all
    return {
      status: 411,
      error: "length_required",
      message:
        "A request body must declare its Content-Length (GitHub's webhooks do); chunked bodies are not accepted.",
    };
  }
  if (!/^\d{1,15}$/.test(declared)) {
    return {
      status: 400,
      error: "bad_content_length",
      message: `Content-Length "${declared}" is not a number of bytes.`,
    };
  }
  const bytes = Number(declared);
  if (bytes <= maxBytes) return null;
  return {
    status: 413,
    error: "payload_too_large",
    message: `The body is ${bytes} bytes; Foreman accepts at most ${maxBytes} (GitHub's webhook payload cap). Nothing was read or stored.`,
  };
}
