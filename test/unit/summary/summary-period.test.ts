import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { findDueSummaryPeriod } from "../../../src/summary/summary-period.js";

const DAY = 86_400_000;

describe("findDueSummaryPeriod", () => {
  test("from the hour on, yesterday is due; before it, the day before", () => {
    const midnight = Date.UTC(2031, 0, 1);
    expect(findDueSummaryPeriod(new Date(midnight + 6 * 3_600_000), 6)).toEqual({
      day: "2030-12-31",
      since: new Date(midnight - DAY),
      until: new Date(midnight),
    });
    expect(findDueSummaryPeriod(new Date(midnight + 6 * 3_600_000 - 1), 6).day).toBe("2030-12-30");
    expect(findDueSummaryPeriod(new Date(midnight), 0).day).toBe("2030-12-31");
  });

  test("for any time and hour: a whole UTC day that ended before now, due by now, the latest such day", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2 * DAY, max: 4_000_000_000_000 }), fc.integer({ min: 0, max: 23 }), (ms, hour) => {
        const { day, since, until } = findDueSummaryPeriod(new Date(ms), hour);
        expect(until.getTime() - since.getTime()).toBe(DAY);
        expect(since.getTime() % DAY).toBe(0);
        expect(day).toBe(since.toISOString().slice(0, 10));
        const dueAt = until.getTime() + hour * 3_600_000;
        expect(dueAt).toBeLessThanOrEqual(ms);
        expect(dueAt + DAY).toBeGreaterThan(ms);
      }),
      { seed: 5, numRuns: 500 },
    );
  });
});
