import type { GitHubClient } from "./octokit.js";

/** The slice of Octokit a conditional read needs. */
export type RequestClient = Pick<GitHubClient, "request">;

/** What a URL answered last time: its ETag and body, so a 304 is answered from memory. */
export interface CachedAnswer {
  etag: string;
  data: unknown;
  link: string | null;
}

/** ETags and bodies by URL (method, route and parameters), kept in memory for the process's life. */
export type EtagCache = Map<string, CachedAnswer>;

/** Thrown by a read once a sweep has spent its installation's request budget. */
export class ReadBudgetSpentError extends Error {
  constructor() {
    super("The reconciliation sweep spent its GitHub request budget for this installation.");
    this.name = "ReadBudgetSpentError";
  }
}

/**
 * An installation's request budget for one sweep: requests GitHub counts (a 304 costs nothing), and
 * the floor of GitHub's own `x-ratelimit-remaining` below which the sweep leaves the rest for the work.
 */
export interface ReadBudget {
  remaining: number;
  floor: number;
  /** Requests that cost a rate-limit point, and 304s that did not. */
  spent: number;
  notModified: number;
}

/** A fresh budget of `requests` counted requests, stopping early when GitHub says fewer than `floor` are left. */
export function createReadBudget(requests: number, floor: number): ReadBudget {
  return { remaining: requests, floor, spent: 0, notModified: 0 };
}

/**
 * A GET with `If-None-Match` when the URL was read before: a 304 (free against the rate limit)
 * returns the remembered body. Counts against `budget`, and throws ReadBudgetSpentError once it is spent.
 */
export async function readConditionally<T>(
  client: RequestClient,
  route: string,
  params: Record<string, unknown>,
  cache: EtagCache,
  budget: ReadBudget,
): Promise<{ data: T; changed: boolean; link: string | null }> {
  if (budget.remaining <= 0) throw new ReadBudgetSpentError();
  const key = `${route} ${JSON.stringify(params)}`;
  const cached = cache.get(key);
  try {
    const response = await client.request(route, {
      ...params,
      ...(cached ? { headers: { "if-none-match": cached.etag } } : {}),
    });
    budget.spent += 1;
    budget.remaining -= 1;
    const left = Number(response.headers["x-ratelimit-remaining"] ?? Number.NaN);
    if (Number.isFinite(left) && left < budget.floor) budget.remaining = 0;
    const link = typeof response.headers.link === "string" ? response.headers.link : null;
    const etag = response.headers.etag;
    if (typeof etag === "string") cache.set(key, { etag, data: response.data, link });
    return { data: response.data as T, changed: true, link };
  } catch (error) {
    if (cached && (error as { status?: number }).status === 304) {
      budget.notModified += 1;
      return { data: cached.data as T, changed: false, link: cached.link };
    }
    throw error;
  }
}

/** The `rel="next"` URL of a Link header, or null on the last page. */
export function findNextPageUrl(link: string | null): string | null {
  if (!link) return null;
  for (const part of link.split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="next"/.exec(part);
    if (match?.[1]) return match[1];
  }
  return null;
}
