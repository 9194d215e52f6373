import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";

/** A dashboard role: everyone signed in is a viewer; operators may pause; auditors see compliance. */
export type UiRole = "viewer" | "operator" | "auditor";

/** Who is signed in, as the session cookie carries it. */
export interface UiSession {
  login: string;
  roles: UiRole[];
  /** The ids of the repositories the person can read on GitHub, read at sign-in. */
  repoIds: number[];
  /** The per-session token every POST must carry (form field `_csrf` or header `X-CSRF-Token`). */
  csrf: string;
  /** Milliseconds since the epoch after which the session is void. */
  expiresAt: number;
}

/** The session cookie's name. */
export const SESSION_COOKIE = "foreman_ui";
/** The sign-in's state cookie's name (lives for the round trip to GitHub only). */
export const STATE_COOKIE = "foreman_ui_oauth";

/**
 * Seal a value into cookie text: deflated JSON, encrypted and authenticated with AES-256-GCM under
 * a key derived from the secret. Tampering or another secret makes `openSealed` return null.
 */
export function sealValue(secret: string, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", deriveKey(secret), iv);
  const body = Buffer.concat([cipher.update(deflateRawSync(JSON.stringify(value))), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url");
}

/** Open what `sealValue` sealed; null for anything tampered with, truncated or sealed under another secret. */
export function openSealed(secret: string, text: string): unknown {
  try {
    const raw = Buffer.from(text, "base64url");
    if (raw.length < 29) return null;
    const decipher = createDecipheriv("aes-256-gcm", deriveKey(secret), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
    return JSON.parse(inflateRawSync(plain).toString("utf8")) as unknown;
  } catch {
    return null;
  }
}

/** The session in the request's cookie, when it opens and has not expired. */
export function readSession(secret: string, cookieHeader: string | undefined, now: number): UiSession | null {
  const text = parseCookies(cookieHeader).get(SESSION_COOKIE);
  if (text === undefined) return null;
  const value = openSealed(secret, text) as Partial<UiSession> | null;
  if (!value || typeof value.login !== "string" || typeof value.csrf !== "string") return null;
  if (typeof value.expiresAt !== "number" || value.expiresAt <= now) return null;
  if (!Array.isArray(value.roles) || !Array.isArray(value.repoIds)) return null;
  return value as UiSession;
}

/** Whether a POST's token is the session's (compared in constant time). */
export function checkCsrfToken(session: UiSession, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A random token (session CSRF tokens, OAuth state). */
export function generateToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * A `Set-Cookie` value: always HttpOnly and Secure (browsers keep Secure cookies of
 * http://localhost, so local tests need no exception), SameSite as asked.
 */
export function buildCookie(
  name: string,
  value: string,
  options: { path: string; maxAgeSeconds: number; sameSite: "Strict" | "Lax" },
): string {
  return `${name}=${value}; Path=${options.path}; Max-Age=${options.maxAgeSeconds}; HttpOnly; Secure; SameSite=${options.sameSite}`;
}

/** The cookies of a `Cookie` header, by name. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const at = part.indexOf("=");
    if (at <= 0) continue;
    cookies.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  return cookies;
}

function deriveKey(secret: string): Buffer {
  return createHash("sha256").update(`foreman-ui-session\0${secret}`).digest();
}
