/**
 * The dashboard's forms (POST): sign out, pause and resume (operators), and verify the chain
 * (auditors and operators). Every form carries the session's CSRF token; each action answers with
 * a redirect to the page that shows its result.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { verifyDatabase } from "../compliance/verify-database.js";
import { changePause } from "./change-pause.js";
import { buildCookie, checkCsrfToken, SESSION_COOKIE, type UiSession } from "./session.js";
import type { UiContext } from "./ui-context.js";

/** Runs the form posted to `path`, after checking its CSRF token and the person's role. */
export async function handlePost(
  context: UiContext,
  session: UiSession,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<true> {
  const { deps, now, sendMessage } = context;
  const form = new URLSearchParams(await readBody(req, 16 * 1024));
  const token = (req.headers["x-csrf-token"] as string | undefined) ?? form.get("_csrf") ?? undefined;
  if (!checkCsrfToken(session, token)) {
    return sendMessage(
      res,
      403,
      session,
      "Refused",
      "The form's security token is missing or stale; reload the page and try again.",
    );
  }
  if (path === "/ui/logout") {
    res
      .writeHead(303, {
        location: "/ui/",
        "set-cookie": buildCookie(SESSION_COOKIE, "", { path: "/ui/", maxAgeSeconds: 0, sameSite: "Strict" }),
      })
      .end();
    return true;
  }
  if (path === "/ui/settings/pause" || path === "/ui/settings/resume") {
    if (!session.roles.includes("operator")) {
      return sendMessage(
        res,
        403,
        session,
        "Not allowed",
        "Only operators (UI_OPERATORS) may pause or resume Foreman.",
      );
    }
    const paused = path.endsWith("/pause");
    const reason = form.get("reason")?.trim() || null;
    const changed = await changePause(deps.sql, { paused, login: session.login, reason, now: now() });
    const done = changed ? (paused ? "paused" : "resumed") : "unchanged";
    res.writeHead(303, { location: `/ui/settings?done=${done}` }).end();
    return true;
  }
  if (path === "/ui/compliance/verify") {
    if (!session.roles.includes("auditor") && !session.roles.includes("operator")) {
      return sendMessage(
        res,
        403,
        session,
        "Not allowed",
        "Only auditors (UI_AUDITORS) and operators may verify the chain.",
      );
    }
    context.state.lastVerify = {
      at: now(),
      by: session.login,
      result: await verifyDatabase(deps.sql, { artifacts: deps.artifacts, publicKeys: deps.publicKeys }),
    };
    res.writeHead(303, { location: "/ui/compliance" }).end();
    return true;
  }
  return sendMessage(res, 404, session, "Not found", "No such action.");
}

// A form's body, refused past `maxBytes` (a form is a few fields, never an upload).
function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new Error(`dashboard form over ${maxBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
