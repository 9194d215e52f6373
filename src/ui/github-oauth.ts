import type { UiRole } from "./session.js";

/** Where the OAuth web flow and the user's API reads go: github.com and api.github.com, or a GitHub Enterprise host. */
export interface OAuthSettings {
  clientId: string;
  clientSecret: string;
  /** https://github.com, or the GHE host's web address. */
  webBaseUrl: string;
  /** https://api.github.com, or the GHE host's /api/v3. */
  apiBaseUrl: string;
}

/** Who signed in, from GitHub: the login, and the repositories of this app's installations the person can read. */
export interface SignedInUser {
  login: string;
  repoIds: number[];
}

/** Sign-in failed at GitHub; the message says what to do. */
export class OAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OAuthError";
  }
}

const PER_PAGE = 100;
const MAX_PAGES = 20;

/** The address to send the browser to: GitHub's authorize page for this app, with the state to check on return. */
export function buildAuthorizeUrl(settings: OAuthSettings, redirectUri: string, state: string): string {
  const url = new URL("/login/oauth/authorize", settings.webBaseUrl);
  url.searchParams.set("client_id", settings.clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("state", state);
  url.searchParams.set("allow_signup", "false");
  return url.toString();
}

/** Exchange the code GitHub gave the browser for the user's token (POST /login/oauth/access_token). */
export async function exchangeCode(settings: OAuthSettings, code: string, redirectUri: string): Promise<string> {
  const response = await fetch(new URL("/login/oauth/access_token", settings.webBaseUrl), {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/json" },
    body: JSON.stringify({
      client_id: settings.clientId,
      client_secret: settings.clientSecret,
      code,
      redirect_uri: redirectUri,
    }),
  });
  const body = (await response.json().catch(() => ({}))) as { access_token?: string; error?: string };
  if (!response.ok || typeof body.access_token !== "string") {
    throw new OAuthError(
      `GitHub refused the sign-in code (${body.error ?? `HTTP ${response.status}`}); sign in again, and check GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET and the app's callback URL`,
    );
  }
  return body.access_token;
}

/** The signed-in user's login and the repositories they can read among this app's installations. */
export async function readSignedInUser(settings: OAuthSettings, token: string): Promise<SignedInUser> {
  const user = (await getJson(settings, token, "/user")) as { login?: string };
  if (typeof user.login !== "string") throw new OAuthError("GitHub did not say who signed in; sign in again");
  const installations = await listPages(settings, token, "/user/installations", "installations");
  const repoIds = new Set<number>();
  for (const installation of installations as Array<{ id: number }>) {
    const repos = await listPages(
      settings,
      token,
      `/user/installations/${installation.id}/repositories`,
      "repositories",
    );
    for (const repo of repos as Array<{ id: number }>) repoIds.add(repo.id);
  }
  return { login: user.login, repoIds: [...repoIds].sort((a, b) => a - b) };
}

/**
 * The dashboard roles of a login: `viewer` always, `operator` and `auditor` when a configured entry
 * names the login or a team (`org/team`) the person is an active member of.
 */
export async function resolveRoles(
  settings: OAuthSettings,
  token: string,
  login: string,
  lists: { operators: readonly string[]; auditors: readonly string[] },
): Promise<UiRole[]> {
  const memberships = new Map<string, Promise<boolean>>();
  const matches = async (entry: string): Promise<boolean> => {
    if (!entry.includes("/")) return entry.toLowerCase() === login.toLowerCase();
    let member = memberships.get(entry);
    if (!member) {
      member = isTeamMember(settings, token, entry, login);
      memberships.set(entry, member);
    }
    return member;
  };
  const anyMatch = async (list: readonly string[]) => {
    for (const entry of list) if (await matches(entry)) return true;
    return false;
  };
  const roles: UiRole[] = ["viewer"];
  if (await anyMatch(lists.operators)) roles.push("operator");
  if (await anyMatch(lists.auditors)) roles.push("auditor");
  return roles;
}

async function isTeamMember(settings: OAuthSettings, token: string, entry: string, login: string): Promise<boolean> {
  const [org, team] = entry.split("/") as [string, string];
  const response = await request(
    settings,
    token,
    `/orgs/${encodeURIComponent(org)}/teams/${encodeURIComponent(team)}/memberships/${encodeURIComponent(login)}`,
  );
  if (response.status === 404 || response.status === 403) return false;
  if (!response.ok)
    throw new OAuthError(`GitHub did not answer whether ${login} is in ${entry} (HTTP ${response.status})`);
  const body = (await response.json()) as { state?: string };
  return body.state === "active";
}

async function listPages(settings: OAuthSettings, token: string, path: string, key: string): Promise<unknown[]> {
  const all: unknown[] = [];
  for (let page = 1; page <= MAX_PAGES; page += 1) {
    const body = (await getJson(settings, token, `${path}?per_page=${PER_PAGE}&page=${page}`)) as Record<
      string,
      unknown
    >;
    const items = Array.isArray(body[key]) ? (body[key] as unknown[]) : [];
    all.push(...items);
    if (items.length < PER_PAGE) break;
  }
  return all;
}

async function getJson(settings: OAuthSettings, token: string, path: string): Promise<unknown> {
  const response = await request(settings, token, path);
  if (!response.ok)
    throw new OAuthError(`GitHub answered HTTP ${response.status} to GET ${path.split("?")[0]}; sign in again`);
  return response.json();
}

function request(settings: OAuthSettings, token: string, path: string): Promise<Response> {
  return fetch(`${settings.apiBaseUrl.replace(/\/+$/, "")}${path}`, {
    headers: {
      accept: "application/vnd.github+json",
      authorization: `Bearer ${token}`,
      "x-github-api-version": "2022-11-28",
      "user-agent": "foreman-dashboard",
    },
  });
}
