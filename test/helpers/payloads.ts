import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

interface ExampleGroup {
  name: string;
  examples: Array<Record<string, any>>;
}

// The real payloads GitHub documents, from @octokit/webhooks-examples (JSON, loaded with require).
const groups: ExampleGroup[] = require("@octokit/webhooks-examples/api.github.com/index.json");

/** The installation every simulated delivery comes from (many examples have none). */
export const INSTALLATION_ID = 4242;

/** A deep copy of a documented example payload for `event.action` (`action` null: an event without actions, as `status`). */
export function loadExample(event: string, action: string | null, index = 0): Record<string, any> {
  const group = groups.find((candidate) => candidate.name === event);
  const matches = group?.examples.filter((example) => (example.action ?? null) === action) ?? [];
  const example = matches[index];
  if (!example) throw new Error(`no example payload for ${event}.${action}`);
  return structuredClone(example);
}

/** What to change in an issues payload. */
export interface IssuePayloadOptions {
  action: "labeled" | "unlabeled" | "closed" | "reopened";
  label?: string;
  issueNumber?: number;
  title?: string;
  sender?: string;
  updatedAt?: string;
  labels?: string[];
}

/** An `issues.*` payload from the documented example, pointed at our installation and issue. */
export function buildIssuesPayload(options: IssuePayloadOptions): Record<string, any> {
  const base = loadExample(
    "issues",
    options.action === "closed" ? "labeled" : options.action === "reopened" ? "reopened" : options.action,
  );
  base.action = options.action;
  base.installation = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" };
  base.issue.number = options.issueNumber ?? base.issue.number;
  base.issue.title = options.title ?? base.issue.title;
  base.issue.updated_at = options.updatedAt ?? base.issue.updated_at;
  base.sender.login = options.sender ?? base.sender.login;
  if (options.labels)
    base.issue.labels = options.labels.map((name, id) => ({ id, name, color: "ededed", default: false }));
  if (options.label !== undefined) base.label = { ...(base.label ?? {}), name: options.label };
  else delete base.label;
  delete base.issue.pull_request;
  return base;
}

/** What to change in a pull_request payload. */
export interface PullRequestPayloadOptions {
  action: "labeled" | "unlabeled" | "closed";
  prNumber: number;
  headRef: string;
  label?: string;
  merged?: boolean;
  sender?: string;
  updatedAt?: string;
}

/** A `pull_request.*` payload from the documented example, pointed at our installation and PR. */
export function buildPullRequestPayload(options: PullRequestPayloadOptions): Record<string, any> {
  const base = loadExample("pull_request", options.action);
  base.installation = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" };
  base.number = options.prNumber;
  base.pull_request.number = options.prNumber;
  base.pull_request.head.ref = options.headRef;
  base.pull_request.merged = options.merged ?? false;
  base.pull_request.updated_at = options.updatedAt ?? base.pull_request.updated_at;
  base.sender.login = options.sender ?? base.sender.login;
  if (options.label !== undefined) base.label = { ...(base.label ?? {}), name: options.label };
  return base;
}
