/** A token bucket per key, in memory (one per replica): `capacity` requests, refilled at `capacity` per minute. */
export class RateLimiter {
  #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly capacity: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Take one request for `key`: allowed, or the whole seconds until one is available again. */
  take(key: string): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    const now = this.clock();
    const perMs = this.capacity / 60_000;
    const bucket = this.#buckets.get(key) ?? { tokens: this.capacity, at: now };
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)) };
  }
}
