import { describe, expect, test } from "vitest";
import { buildTestEnv } from "../../helpers/test-foreman.js";
import {
  checkCsrfToken,
  openSealed,
  readSession,
  sealValue,
  SESSION_COOKIE,
  type UiSession,
} from "../../../src/ui/session.js";

const SECRET = "s".repeat(40);
const SESSION: UiSession = { login: "octocat", roles: ["viewer"], repoIds: [1, 2], csrf: "token-1", expiresAt: 2000 };

describe("the dashboard's session cookie", () => {
  test("opens under its secret until it expires; tampered, foreign or expired cookies are no session", () => {
    const sealed = sealValue(SECRET, SESSION);
    expect(readSession(SECRET, `a=b; ${SESSION_COOKIE}=${sealed}`, 1999)).toEqual(SESSION);
    expect(readSession(SECRET, `${SESSION_COOKIE}=${sealed}`, 2000)).toBeNull();
    expect(readSession("t".repeat(40), `${SESSION_COOKIE}=${sealed}`, 1)).toBeNull();
    const flipped = `${sealed.slice(0, -2)}${sealed.at(-2) === "A" ? "B" : "A"}${sealed.at(-1)}`;
    expect(openSealed(SECRET, flipped)).toBeNull();
    expect(readSession(SECRET, undefined, 1)).toBeNull();
  });

  test("a POST needs the session's own CSRF token", () => {
    expect(checkCsrfToken(SESSION, "token-1")).toBe(true);
    expect(checkCsrfToken(SESSION, "token-2")).toBe(false);
    expect(checkCsrfToken(SESSION, undefined)).toBe(false);
  });

  test("UI_SESSION_SECRET without the OAuth client, a short secret and a bad role list are refused, naming the fix", () => {
    expect(() => buildTestEnv({ UI_SESSION_SECRET: SECRET })).toThrow(
      /GITHUB_CLIENT_ID: UI_SESSION_SECRET turns the dashboard on/,
    );
    expect(() => buildTestEnv({ UI_SESSION_SECRET: "short" })).toThrow(
      /UI_SESSION_SECRET=\(hidden\): must be 32 characters or more/,
    );
    expect(() => buildTestEnv({ UI_OPERATORS: "octocat, not a login" })).toThrow(
      /UI_OPERATORS=.*GitHub logins or org\/team slugs/,
    );
    const env = buildTestEnv({
      GITHUB_CLIENT_ID: "Iv1.x",
      GITHUB_CLIENT_SECRET: "y",
      UI_SESSION_SECRET: SECRET,
      UI_AUDITORS: "acme/auditors,audrey",
    });
    expect(env.UI_AUDITORS).toEqual(["acme/auditors", "audrey"]);
  });
});
