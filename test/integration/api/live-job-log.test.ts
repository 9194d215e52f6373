import Docker from "dockerode";
import { expect, test } from "vitest";
import { ApiClient } from "../../helpers/api-client.js";
import { createApiToken } from "../../helpers/api-fixtures.js";
import {
  buildLoopConfig,
  labelIssue,
  listRunningContainers,
  mockLoopGitHub,
  ROLE_SCRIPTS,
  useLoopForeman,
  waitForRunningStep,
} from "../../helpers/loop-harness.js";
import "../agents/docker-available.js"; // fails the file, saying what to do, without a Docker daemon and the test image

// `?follow=1` against a real running container: a line the agent printed arrives over
// server-sent events while the container still runs, before the job ends and stores its log.

const loop = useLoopForeman({ idPrefix: "a7110000", server: true });
const TASK = loop.id(1);

/** A reviewer that says a line, then waits until the test lets it go (a file in its /tmp), then reviews. */
// Held until the test sends SIGUSR1 (the Engine's kill call, not an exec).
const HELD_REVIEWER = `trap 'touch /tmp/go' USR1; echo 'reviewer: reading the change'; while [ ! -f /tmp/go ]; do sleep 0.1; done; ${ROLE_SCRIPTS.reviewer}`;

test("GET /api/tasks/{id}/jobs/{job}/log?follow=1 streams a running container's line, then the end", async () => {
  const github = mockLoopGitHub(
    buildLoopConfig({ pipeline: ["coder", "reviewer"], reviewer: HELD_REVIEWER }),
  ).draftPr();
  await github.stepReads("plan-sha");
  github.push("plan-sha", "code-sha");
  await github.stepReads("code-sha");
  github.diff("code-sha").review();
  await loop.foreman.server.start();
  const api = await ApiClient.connect(`http://127.0.0.1:${loop.foreman.server.port}`);
  const { token } = await createApiToken(loop.database.sql, "viewer");
  await labelIssue(loop.foreman);
  await waitForRunningStep(loop, TASK, "reviewer");
  const [job] = await loop.database.sql<{ id: string }[]>`select id from agent_jobs where role = 'reviewer'`;

  const following = api.follow(`/api/tasks/${TASK}/jobs/${job!.id}/log?follow=1`, { token });
  await expect.poll(() => following.text(), { timeout: 30_000 }).toContain('"line":"reviewer: reading the change"');
  // The container still runs and the job has stored no log: the line is a live one.
  expect(await listRunningContainers(loop.foreman, TASK)).toHaveLength(1);
  expect((await loop.database.sql`select status, log from agent_jobs where id = ${job!.id}`)[0]).toEqual({
    status: "running",
    log: null,
  });
  expect(following.text()).not.toContain("event: end");

  const [container] = await listRunningContainers(loop.foreman, TASK);
  await new Docker().getContainer(container!.Id).kill({ signal: "SIGUSR1" });
  const streamed = await following.done;
  expect(streamed.status).toBe(200);
  const events = streamed.text.match(/^event: .*$/gm) ?? [];
  expect(events.at(-1)).toBe("event: end");
  expect(streamed.text).toMatch(/event: end\ndata: \{"status":"succeeded"\}/);
  // Each live line once: the stored log is not sent again after them.
  expect(streamed.text.split('"line":"reviewer: reading the change"')).toHaveLength(2);
  await loop.foreman.settle();
});
