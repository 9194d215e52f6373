/**
 * A size limit on every request body, applied before any route reads it. Probot's webhook
 * middleware buffers the whole body before it checks the signature, so without this a
 * stranger's 400 MB POST grows the process by gigabytes before its 400. GitHub never sends a
 * webhook over 25 MB (it drops larger payloads), and no other route of Foreman takes a body.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";

/** GitHub's cap on a webhook payload: https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap */
export const MAX_REQUEST_BODY_BYTES = 25 * 1024 * 1024;

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

const guarded = new WeakSet<Server>();

/**
 * Puts the limit in front of the server's request handlers (those registered so far: Probot's).
 * A body declared larger than `maxBytes` is answered 413, one without a declared length 411,
 * a malformed length 400; each without reading the body, and the connection is closed. Node's
 * parser never delivers more body than the declared length, so the declared length bounds what
 * a route can be made to read. Idempotent.
 */
export function guardRequestBodies(server: Server, maxBytes = MAX_REQUEST_BODY_BYTES): void {
  if (guarded.has(server)) return;
  guarded.add(server);
  const handlers = server.listeners("request") as RequestListener[];
  server.removeAllListeners("request");
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const refusal = judgeBody(request, maxBytes);
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
