/**
 * The links Foreman puts in what people read, each built in one place: a job's redacted log and a
 * task's evidence (on Foreman's own `PUBLIC_URL`), and pages on GitHub (on its web URL, which is
 * https://github.com or a GitHub Enterprise Server host).
 */

/** The unguessable link to a job's redacted log (`GET /jobs/:id/log?token=…`, src/http/job-log-route.ts). */
export function buildJobLogUrl(publicUrl: string, jobId: string, token: string): string {
  return `${publicUrl}/jobs/${jobId}/log?token=${token}`;
}

/** A task's evidence record in the compliance API (needs an auditor token). */
export function buildEvidenceUrl(publicUrl: string, taskId: string): string {
  return `${publicUrl}/api/compliance/tasks/${taskId}`;
}

/** A repository's page on GitHub. */
export function buildRepoWebUrl(webBaseUrl: string, repo: { owner: string; name: string }): string {
  return `${webBaseUrl}/${repo.owner}/${repo.name}`;
}
