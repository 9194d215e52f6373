import {
  findNextPageUrl,
  readConditionally,
  type EtagCache,
  type ReadBudget,
  type RequestClient,
} from "./conditional-read.js";

/** When a label was put on an issue, and by whom (the issue's `labeled` event). */
export interface LabelEvent {
  id: number;
  actor: string;
  createdAt: string;
}

interface IssueEventItem {
  id: number;
  event: string;
  created_at: string;
  actor?: { login?: string } | null;
  label?: { name?: string } | null;
}

/** The latest `labeled` event for `label` on an issue (`GET …/issues/{n}/events`), or null when there is none. */
export async function findLatestLabelEvent(
  client: RequestClient,
  params: { owner: string; repo: string; issueNumber: number; label: string },
  cache: EtagCache,
  budget: ReadBudget,
): Promise<LabelEvent | null> {
  let latest: LabelEvent | null = null;
  for (let page = 1; ; page += 1) {
    const answer = await readConditionally<IssueEventItem[]>(
      client,
      "GET /repos/{owner}/{repo}/issues/{issue_number}/events",
      { owner: params.owner, repo: params.repo, issue_number: params.issueNumber, per_page: 100, page },
      cache,
      budget,
    );
    // Oldest first: the last match on the last page is the latest.
    for (const item of answer.data) {
      if (item.event === "labeled" && item.label?.name === params.label) {
        latest = { id: item.id, actor: item.actor?.login ?? "ghost", createdAt: item.created_at };
      }
    }
    if (answer.data.length < 100 || !findNextPageUrl(answer.link)) return latest;
  }
}
