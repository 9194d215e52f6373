import { describe, expect, test } from "vitest";
import {
  createReadBudget,
  findNextPageUrl,
  readConditionally,
  ReadBudgetSpentError,
  type EtagCache,
  type RequestClient,
} from "../../../src/github/conditional-read.js";

/** A client that answers from a script and records the headers it was sent. */
function scriptedClient(answers: Array<{ status: number; headers?: Record<string, string>; data?: unknown }>) {
  const sent: Array<Record<string, unknown>> = [];
  const client = {
    request: (_route: string, params: Record<string, unknown>) => {
      sent.push((params.headers as Record<string, unknown> | undefined) ?? {});
      const answer = answers.shift();
      if (!answer) throw new Error("no more answers");
      if (answer.status === 304) return Promise.reject(Object.assign(new Error("Not Modified"), { status: 304 }));
      return Promise.resolve({ status: answer.status, headers: answer.headers ?? {}, data: answer.data });
    },
  } as unknown as RequestClient;
  return { client, sent };
}

describe("readConditionally", () => {
  test("a second read sends the ETag; a 304 answers the remembered body and costs nothing", async () => {
    const { client, sent } = scriptedClient([
      { status: 200, headers: { etag: '"e1"', link: '<https://x/?page=2>; rel="next"' }, data: [1, 2] },
      { status: 304 },
    ]);
    const cache: EtagCache = new Map();
    const budget = createReadBudget(5, 0);
    const first = await readConditionally(client, "GET /things", { a: 1 }, cache, budget);
    const second = await readConditionally(client, "GET /things", { a: 1 }, cache, budget);
    expect(first).toEqual({ data: [1, 2], changed: true, link: '<https://x/?page=2>; rel="next"' });
    expect(second).toEqual({ data: [1, 2], changed: false, link: '<https://x/?page=2>; rel="next"' });
    expect(sent).toEqual([{}, { "if-none-match": '"e1"' }]);
    expect(budget).toMatchObject({ spent: 1, notModified: 1, remaining: 4 });
  });

  test("a spent budget stops reads before GitHub is asked; a low remaining limit spends it at once", async () => {
    const { client, sent } = scriptedClient([{ status: 200, headers: { "x-ratelimit-remaining": "99" }, data: {} }]);
    const budget = createReadBudget(5, 100);
    await readConditionally(client, "GET /a", {}, new Map(), budget);
    expect(budget.remaining).toBe(0);
    await expect(readConditionally(client, "GET /b", {}, new Map(), budget)).rejects.toBeInstanceOf(
      ReadBudgetSpentError,
    );
    expect(sent).toHaveLength(1);
  });

  test("a 304 without a remembered body, or another error, is thrown", async () => {
    const { client } = scriptedClient([{ status: 304 }]);
    await expect(readConditionally(client, "GET /a", {}, new Map(), createReadBudget(1, 0))).rejects.toMatchObject({
      status: 304,
    });
  });
});

describe("findNextPageUrl", () => {
  test("finds the next page among the Link header's relations, or null on the last page", () => {
    expect(
      findNextPageUrl(
        '<https://api.github.com/a?cursor=v1>; rel="next", <https://api.github.com/a?page=9>; rel="last"',
      ),
    ).toBe("https://api.github.com/a?cursor=v1");
    expect(findNextPageUrl('<https://api.github.com/a?page=1>; rel="prev"')).toBeNull();
    expect(findNextPageUrl(null)).toBeNull();
  });
});
