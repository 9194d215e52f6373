/** Paces an installation's content-creating requests, shared by every replica through the database. */
export interface WritePacer {
  /** Reserve a write slot; resolves once the write may be sent (rejects if `signal` aborts first). */
  awaitTurn(installationId: number, signal?: AbortSignal): Promise<number>;
  /** GitHub refused a write with `retry-after`: hold every replica's writes of the installation until then. */
  block(installationId: number, retryAfterSeconds: number): Promise<void>;
}

/** How fast writes may go, as an operator sets it: writes an hour (sustained) and a burst. */
export interface WritePacingOptions {
  writesPerHour: number;
  burst: number;
}

/** The bucket's settings: one write every `intervalSeconds`, with bursts of `burst`. */
export interface WritePaceSettings {
  intervalSeconds: number;
  burst: number;
}

/** Turn writes an hour and a burst into the bucket's settings. */
export function buildWritePaceSettings({ writesPerHour, burst }: WritePacingOptions): WritePaceSettings {
  return { intervalSeconds: 3600 / writesPerHour, burst };
}

/**
 * Whether a request creates or changes content on GitHub (what the secondary limits count): any
 * method but GET and HEAD, except a GraphQL query without a mutation and the app's own calls
 * (`/app/…`, such as minting the installation token).
 */
export function isContentWrite(method: string, url: string, query?: unknown): boolean {
  const verb = method.toUpperCase();
  if (verb === "GET" || verb === "HEAD") return false;
  const path = url.replace(/^https?:\/\/[^/]+/, "");
  if (/^\/app(\/|$)/.test(path)) return false;
  if (path === "/graphql") return typeof query === "string" && /\bmutation\b/.test(query);
  return true;
}

/** The seconds of a refusal's `retry-after` when GitHub refused for a rate limit (403 or 429), else null. */
export function readRetryAfter(error: unknown): number | null {
  const { status, response } = (error ?? {}) as { status?: number; response?: { headers?: Record<string, unknown> } };
  if (status !== 403 && status !== 429) return null;
  const seconds = Number(response?.headers?.["retry-after"]);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

/** Wait `ms`, or reject with the signal's reason once it aborts. */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
