import { describe, expect, test } from "vitest";
import {
  buildLoopConfig,
  completeSuite,
  labelIssue,
  LOOP_BRANCH,
  LOOP_PR,
  mockLoopGitHub,
  useLoopForeman,
} from "../../helpers/loop-harness.js";
import { REPO, REPO_PATH } from "../../helpers/github-mock.js";
import { buildClosedPullRequestPayload, buildReviewPayload } from "../../helpers/more-payloads.js";
import "../agents/docker-available.js"; // fails the file, saying what to do, without a Docker daemon and the test image

const METRICS_TOKEN = "metrics-token-for-the-test-0123456789";
const loop = useLoopForeman({ idPrefix: "c0130000", server: true, env: { METRICS_TOKEN } });

describe("GET /metrics after the whole loop", () => {
  test("label → agents → CI green → ready → human review → merged shows in the KPIs, the job histograms and the GitHub counters; no token, no metrics", async () => {
    const { foreman, database } = loop;
    const github = mockLoopGitHub(buildLoopConfig()).draftPr();
    await github.stepReads("plan-sha", { times: 2 });
    github.push("plan-sha", "code-sha");
    await github.stepReads("code-sha");
    github.diff("code-sha").review();
    await labelIssue(foreman);
    await foreman.settle();

    github.ciVerdict("code-sha", "success", 42);
    github
      .pullReads([
        { number: LOOP_PR, draft: true, node_id: "PR_kwDOAAABc84" },
        {
          number: LOOP_PR,
          merged: true,
          merge_commit_sha: "merge-sha",
          merged_by: { login: "octocat" },
          merged_at: "2026-11-21T00:02:00Z",
          head: { sha: "code-sha" },
        },
      ])
      .markReady();
    await completeSuite(foreman, "code-sha", "success", 42);
    await foreman.settle();
    await foreman.receive(
      "pull_request_review",
      buildReviewPayload({
        prNumber: LOOP_PR,
        headRef: LOOP_BRANCH,
        state: "approved",
        sender: "octocat",
        reviewId: 77,
        commitId: "code-sha",
      }),
    );
    github.scope
      .get(`${REPO_PATH}/pulls/${LOOP_PR}/reviews`)
      .query(true)
      .reply(200, [
        {
          id: 77,
          user: { login: "octocat" },
          state: "APPROVED",
          commit_id: "code-sha",
          submitted_at: "2026-11-21T00:01:00Z",
        },
      ]);
    await foreman.receive(
      "pull_request",
      buildClosedPullRequestPayload({
        prNumber: LOOP_PR,
        headRef: LOOP_BRANCH,
        merged: true,
        mergeCommitSha: "merge-sha",
        sender: "octocat",
      }),
    );
    await foreman.settle();
    const [task] = (await database.sql`select state, type from tasks`) as unknown as [{ state: string; type: string }];
    expect(task.state).toBe("merged");

    await foreman.server.start();
    const url = `http://127.0.0.1:${foreman.server.port}/metrics`;
    try {
      const refused = await fetch(url);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ error: "unauthorized" });
      expect((await fetch(url, { headers: { authorization: "Bearer not-the-token" } })).status).toBe(401);

      const scraped = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(scraped.status).toBe(200);
      expect(scraped.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const lines = (await scraped.text()).split("\n");
      const repoType = `repository="${REPO.owner}/${REPO.name}",type="${task.type}"`;
      const [{ seq }] = (await database.sql`select max(seq)::int as seq from compliance_records`) as unknown as [
        { seq: number },
      ];
      for (const line of [
        // KPIs, from the trail: one task, through every span once.
        `foreman_task_label_to_draft_pr_seconds_count{${repoType}} 1`,
        `foreman_task_label_to_draft_pr_seconds_bucket{${repoType},le="+Inf"} 1`,
        `foreman_task_label_to_ready_seconds_count{${repoType}} 1`,
        `foreman_task_ready_to_first_human_review_seconds_count{${repoType}} 1`,
        `foreman_tasks_first_ci_verdict{${repoType},verdict="success"} 1`,
        `foreman_tasks_first_ci_verdict{${repoType},verdict="failure"} 0`,
        `foreman_tasks_merged{${repoType},human_commit="false"} 1`,
        `foreman_tasks_merged{${repoType},human_commit="true"} 0`,
        `foreman_tasks_merged_traceable{${repoType}} 1`,
        `foreman_task_escalations{${repoType}} 0`,
        // The engine: nothing left waiting, one job per role.
        "foreman_inbox_pending_events 0",
        "foreman_inbox_lag_seconds 0",
        "foreman_agent_jobs_running 0",
        `foreman_compliance_chain_length ${seq}`,
        ...["planner", "coder", "reviewer"].map(
          (role) =>
            `foreman_agent_job_duration_seconds_count{repository="${REPO.owner}/${REPO.name}",role="${role}",profile="${role}-script",status="succeeded"} 1`,
        ),
        // GitHub, by route template: the one draft PR, the one review.
        'foreman_github_requests_total{method="POST",route="/repos/{owner}/{repo}/pulls",status="201"} 1',
        `foreman_github_requests_total{method="POST",route="/repos/{owner}/{repo}/pulls/{pull_number}/reviews",status="200"} 1`,
        // A URL Foreman filled in itself is folded to the same kind of template.
        'foreman_github_requests_total{method="GET",route="/repos/{owner}/{repo}/commits/{ref}/check-suites",status="200"} 1',
      ]) {
        expect(lines, line).toContain(line);
      }
      // No checkpoint, verify or compliance round happened: those are absent, not 0 (an alert on 0 would fire).
      for (const name of [
        "foreman_compliance_checkpoint_",
        "foreman_compliance_verify_",
        "foreman_compliance_round_ok",
      ])
        expect(lines.filter((line) => line.startsWith(name))).toEqual([]);
      // Each container's peak memory and CPU time went into the histograms (one per job, when the engine sampled it).
      const containers = lines.find((line) => line.startsWith("foreman_agent_container_peak_memory_bytes_count{"));
      if (containers) expect(containers).toMatch(/profile="(planner|coder|reviewer)-script"/);
    } finally {
      await foreman.server.stop();
    }
  }, 180_000);
});
