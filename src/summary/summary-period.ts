const DAY_MS = 86_400_000;

/** The UTC day a summary covers: `[since, until)`, named `YYYY-MM-DD`. */
export interface SummaryPeriod {
  day: string;
  since: Date;
  until: Date;
}

/**
 * The latest UTC day whose summary is due at `now` (pure; `now` is the injected clock): the
 * summary of a day is due from `hourUtc` o'clock the next day, so before that hour it is the day
 * before yesterday's.
 */
export function findDueSummaryPeriod(now: Date, hourUtc: number): SummaryPeriod {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const until = now.getUTCHours() >= hourUtc ? today : today - DAY_MS;
  const since = until - DAY_MS;
  return { day: new Date(since).toISOString().slice(0, 10), since: new Date(since), until: new Date(until) };
}

/** The days before `until` that per-template statistics in a summary cover. */
export const TEMPLATE_WINDOW_DAYS = 30;

/** The start of the per-template window that ends at `until`. */
export function findTemplateWindowStart(until: Date): Date {
  return new Date(until.getTime() - TEMPLATE_WINDOW_DAYS * DAY_MS);
}
