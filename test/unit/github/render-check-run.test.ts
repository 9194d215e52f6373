import { describe, expect, it } from "vitest";
import { decideCheckRunConclusion, renderCheckRun } from "../../../src/github/render-check-run.js";
import { TaskState } from "../../../src/workflow/states.js";
import { makePipelineTask } from "./pipeline-fixtures.js";

const links = {
  evidenceUrl: "https://foreman.example.com/api/compliance/tasks/0b7c2a8e-5f7d-4c1e-9a3b-2d6f8e1c4a50",
  pullRequestUrl: "https://github.com/acme/api/pull/9",
  recordHash: "f".repeat(64),
};

describe("decideCheckRunConclusion", () => {
  it.each([
    ["queued", null],
    ["waiting", null],
    ["preparing", null],
    ["awaiting_agent", null],
    ["running", null],
    ["awaiting_ci", null],
    ["frozen", null],
    ["ready_for_review", "success"],
    ["merged", "success"],
    ["escalated", "action_required"],
    ["failed", "failure"],
    ["closed", "neutral"],
    ["completed", "neutral"],
    ["cancelled", "neutral"],
  ] as const)("%s → %s", (state, conclusion) => {
    expect(decideCheckRunConclusion(state)).toBe(conclusion);
  });

  it("covers every state", () => {
    expect(Object.values(TaskState)).toHaveLength(14);
  });
});

describe("renderCheckRun", () => {
  it("renders a working task as in progress with its checklist, and no evidence yet", () => {
    const view = renderCheckRun(makePipelineTask("running"), { ...links, recordHash: null });
    expect(view).toMatchObject({
      status: "in_progress",
      conclusion: null,
      detailsUrl: null,
      title: "The ci_fixer step is running",
    });
    expect(view.summary).toMatchInlineSnapshot(`
      "Foreman task \`0b7c2a8e-5f7d-4c1e-9a3b-2d6f8e1c4a50\` for issue #5 (\`agent:bugfix\`).

      ### Steps

      - [x] ✅ **planner** · succeeded · Planned the fix: change the redirect.
      - [x] ✅ **coder** · succeeded · \`1234567\` · Fixed the redirect.
      - [ ] ⚙️ **ci_fixer** (fixing failing CI) · running

      **CI fix attempts:** 1 of 3"
    `);
  });

  it("links each started step to its job's log; a queued step has no log yet", () => {
    const task = makePipelineTask("running");
    const [planner, coder, fixer] = task.pipeline.steps;
    const queued = { ...fixer!, status: "queued" as const, jobId: "job-queued" };
    const logUrls = {
      [planner!.jobId]: "https://foreman.example.com/jobs/p/log?token=a",
      [coder!.jobId]: "https://foreman.example.com/jobs/c/log?token=b",
      "job-queued": "https://x/never",
    };
    const view = renderCheckRun(
      { ...task, pipeline: { ...task.pipeline, steps: [planner!, coder!, queued] } },
      { ...links, recordHash: null, logUrls },
    );
    expect(view.summary).toContain(
      "Planned the fix: change the redirect. · [log](https://foreman.example.com/jobs/p/log?token=a)",
    );
    expect(view.summary).toContain("Fixed the redirect. · [log](https://foreman.example.com/jobs/c/log?token=b)");
    expect(view.summary).not.toContain("https://x/never");
  });

  it("renders an escalation as action required, with the reason, the evidence link and the record hash", () => {
    const task = makePipelineTask("escalated", {
      reason: {
        code: "CI_FAILED_TOO_OFTEN",
        message: "CI still fails after 3 attempts.",
        detail: "FAIL test/a.test.ts\n```inner```",
      },
      pipeline: { ...makePipelineTask("escalated").pipeline, ciAttempts: 3 },
    });
    const view = renderCheckRun(task, links);
    expect(view).toMatchObject({
      status: "completed",
      conclusion: "action_required",
      detailsUrl: links.evidenceUrl,
      title: "Needs a human",
    });
    expect(view.summary).toMatchInlineSnapshot(`
      "Foreman task \`0b7c2a8e-5f7d-4c1e-9a3b-2d6f8e1c4a50\` for issue #5 (\`agent:bugfix\`).

      ### Steps

      - [x] ✅ **planner** · succeeded · Planned the fix: change the redirect.
      - [x] ✅ **coder** · succeeded · \`1234567\` · Fixed the redirect.
      - [ ] ⚙️ **ci_fixer** (fixing failing CI) · running

      **CI fix attempts:** 3 of 3

      ### Why

      **CI_FAILED_TOO_OFTEN:** CI still fails after 3 attempts.

      \`\`\`\`
      FAIL test/a.test.ts
      \`\`\`inner\`\`\`
      \`\`\`\`

      ### Evidence

      - Compliance evidence: https://foreman.example.com/api/compliance/tasks/0b7c2a8e-5f7d-4c1e-9a3b-2d6f8e1c4a50
      - Latest compliance record: \`ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\`"
    `);
  });

  it("links a completed run to the PR when Foreman has no public URL, and still cites the record hash", () => {
    const view = renderCheckRun(
      makePipelineTask("merged", { pipeline: { ...makePipelineTask("merged").pipeline, steps: [] } }),
      { ...links, evidenceUrl: null },
    );
    expect(view).toMatchObject({
      status: "completed",
      conclusion: "success",
      detailsUrl: "https://github.com/acme/api/pull/9",
      title: "Merged",
    });
    expect(view.summary).toContain("_No step has run yet._");
    expect(view.summary).not.toContain("Compliance evidence");
    expect(view.summary).toContain(`- Latest compliance record: \`${"f".repeat(64)}\``);
  });

  it("stays under GitHub's 65535 characters however many steps ran, and keeps the evidence", () => {
    const step = {
      role: "coder",
      purpose: "human_revision" as const,
      status: "failed" as const,
      jobId: "j",
      commitSha: null,
      summary: "x".repeat(10_000),
    };
    const task = makePipelineTask("failed", {
      pipeline: { ...makePipelineTask("failed").pipeline, steps: Array.from({ length: 1_000 }, () => step) },
      reason: { code: "AGENT_FAILED", message: "m", detail: "d".repeat(100_000) },
    });
    const view = renderCheckRun(task, links);
    expect(view.summary.length).toBeLessThan(65_535);
    expect(view.summary).toMatch(/- … and \d+ more steps/);
    expect(view.summary).toContain("(revision a human asked for) · failed · " + "x".repeat(299) + "…");
    expect(view.summary.endsWith(`\`${"f".repeat(64)}\``)).toBe(true);
    expect(view).toMatchObject({ conclusion: "failure" });
  });
});
