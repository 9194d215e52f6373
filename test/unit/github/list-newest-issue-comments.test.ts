import { describe, expect, test } from "vitest";
import { findLastPage } from "../../../src/github/list-newest-issue-comments.js";

describe("findLastPage", () => {
  test("reads the page number of the last link, wherever it is in the header", () => {
    const url = "https://api.github.com/repositories/1/issues/2/comments";
    expect(findLastPage(`<${url}?per_page=100&page=2>; rel="next", <${url}?per_page=100&page=7>; rel="last"`)).toBe(7);
    expect(findLastPage(`<${url}?page=3&per_page=100>; rel="last", <${url}?page=2>; rel="next"`)).toBe(3);
  });

  test("no header, or one without a last link (the last page itself), means one page", () => {
    expect(findLastPage(undefined)).toBeNull();
    expect(
      findLastPage('<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=1>; rel="first"'),
    ).toBeNull();
  });
});
