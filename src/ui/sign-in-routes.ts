/**
 * The dashboard's sign-in with GitHub: `/ui/login` sends the browser to GitHub's OAuth page with a
 * sealed state cookie, and `/ui/auth/callback` checks that state, exchanges the code, reads the
 * person's repositories and roles, and sets the sealed session cookie.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { buildAuthorizeUrl, exchangeCode, OAuthError, readSignedInUser, resolveRoles } from "./github-oauth.js";
import {
  buildCookie,
  generateToken,
  openSealed,
  parseCookies,
  sealValue,
  SESSION_COOKIE,
  STATE_COOKIE,
  type UiSession,
} from "./session.js";
import { SECURITY_HEADERS, type UiContext, type UiSettings } from "./ui-context.js";

/** `GET /ui/login`: to GitHub's authorize page, with the state sealed in a short-lived cookie. */
export function startSignIn(settings: UiSettings, req: IncomingMessage, res: ServerResponse): true {
  const state = generateToken();
  const redirectUri = buildCallbackUrl(settings, req);
  res
    .writeHead(302, {
      location: buildAuthorizeUrl(settings.oauth, redirectUri, state),
      // Lax: GitHub's redirect back is a cross-site navigation, which a Strict cookie would miss.
      "set-cookie": buildCookie(STATE_COOKIE, sealValue(settings.sessionSecret, { state, redirectUri }), {
        path: "/ui/auth",
        maxAgeSeconds: 600,
        sameSite: "Lax",
      }),
      "cache-control": "no-store",
    })
    .end();
  return true;
}

/** `GET /ui/auth/callback`: the state checked, the code exchanged, the session cookie set. */
export async function finishSignIn(
  context: UiContext,
  settings: UiSettings,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<true> {
  const { sendMessage, now } = context;
  const sealed = parseCookies(req.headers.cookie).get(STATE_COOKIE);
  const saved = sealed
    ? (openSealed(settings.sessionSecret, sealed) as { state?: string; redirectUri?: string } | null)
    : null;
  const state = url.searchParams.get("state");
  const code = url.searchParams.get("code");
  const retry = { href: "/ui/login", label: "Sign in with GitHub" };
  if (!saved?.state || !saved.redirectUri || state !== saved.state) {
    return sendMessage(
      res,
      400,
      null,
      "Sign-in not recognised",
      "This sign-in did not start here or took longer than 10 minutes; sign in again.",
      retry,
    );
  }
  if (!code) {
    const reason = url.searchParams.get("error_description") ?? "GitHub sent no code";
    return sendMessage(res, 400, null, "Sign-in refused", `${reason}; sign in again.`, retry);
  }
  let session: UiSession;
  try {
    const token = await exchangeCode(settings.oauth, code, saved.redirectUri);
    const user = await readSignedInUser(settings.oauth, token);
    const roles = await resolveRoles(settings.oauth, token, user.login, settings);
    session = {
      login: user.login,
      roles,
      repoIds: user.repoIds,
      csrf: generateToken(),
      expiresAt: now().getTime() + (settings.sessionHours ?? 12) * 3_600_000,
    };
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    return sendMessage(res, 502, null, "Sign-in failed", error.message, retry);
  }
  context.deps.log.info(
    { login: session.login, roles: session.roles, repos: session.repoIds.length },
    "dashboard sign-in",
  );
  const cookie = buildCookie(SESSION_COOKIE, sealValue(settings.sessionSecret, session), {
    path: "/ui/",
    maxAgeSeconds: Math.floor((session.expiresAt - now().getTime()) / 1000),
    sameSite: "Strict",
  });
  const clearState = buildCookie(STATE_COOKIE, "", { path: "/ui/auth", maxAgeSeconds: 0, sameSite: "Lax" });
  // A page of Foreman's own moves on to the board: a redirect would still count as GitHub's
  // cross-site navigation, and the browser would hold back the SameSite=Strict cookie.
  const html = context.render.page("message", {
    title: "Signed in",
    message: `Signed in as ${session.login}.`,
    link: { href: "/ui/", label: "Continue to the board" },
    refresh: "/ui/",
    session: null,
    nav: [],
    now: now(),
  });
  res
    .writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "set-cookie": [cookie, clearState],
      ...SECURITY_HEADERS,
    })
    .end(html);
  return true;
}

// PUBLIC_URL's callback, or the browser's own address (http only for the local host).
function buildCallbackUrl(settings: UiSettings, req: IncomingMessage): string {
  if (settings.publicUrl) return `${settings.publicUrl}/ui/auth/callback`;
  const host = req.headers.host ?? "localhost";
  const local = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(host);
  return `${local ? "http" : "https"}://${host}/ui/auth/callback`;
}
