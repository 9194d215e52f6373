import {
  findNextPageUrl,
  readConditionally,
  type EtagCache,
  type ReadBudget,
  type RequestClient,
} from "./conditional-read.js";

/** An open issue carrying a label, as the issues list gives it. */
export interface LabeledIssue {
  number: number;
  title: string;
  body: string | null;
  updatedAt: string;
  labels: string[];
}

interface IssueItem {
  number: number;
  title: string;
  body?: string | null;
  updated_at: string;
  labels: Array<string | { name?: string }>;
  pull_request?: unknown;
}

/**
 * Open issues (not PRs) carrying `label`, most recently updated first, updated at or after `since`
 * when given; page by page until a short or last page.
 */
export async function listLabeledIssues(
  client: RequestClient,
  params: { owner: string; repo: string; label: string; since: Date | null },
  cache: EtagCache,
  budget: ReadBudget,
): Promise<LabeledIssue[]> {
  const found: LabeledIssue[] = [];
  for (let page = 1; ; page += 1) {
    const answer = await readConditionally<IssueItem[]>(
      client,
      "GET /repos/{owner}/{repo}/issues",
      {
        owner: params.owner,
        repo: params.repo,
        labels: params.label,
        state: "open",
        sort: "updated",
        direction: "desc",
        per_page: 100,
        page,
        ...(params.since ? { since: params.since.toISOString() } : {}),
      },
      cache,
      budget,
    );
    for (const item of answer.data) {
      if (item.pull_request) continue;
      found.push({
        number: item.number,
        title: item.title,
        body: item.body ?? null,
        updatedAt: item.updated_at,
        labels: item.labels.flatMap((label) => {
          const name = typeof label === "string" ? label : label.name;
          return name ? [name] : [];
        }),
      });
    }
    if (answer.data.length < 100 || !findNextPageUrl(answer.link)) return found;
  }
}
