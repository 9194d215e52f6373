import type { IncomingMessage, Server, ServerResponse } from "node:http";

/** The headers every response of Foreman's own routes carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy": "frame-ancestors 'none'",
});

/**
 * Set the security headers on every response before any route runs (a route's own headers are
 * added to them), and `Cache-Control: no-store` on `/api/*`: nothing Foreman serves may be framed,
 * sniffed, leak its address onward, or be cached.
 */
export function addSecurityHeaders(server: Server): void {
  server.prependListener("request", (req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if ((req.url ?? "").startsWith("/api/")) res.setHeader("cache-control", "no-store");
  });
}
