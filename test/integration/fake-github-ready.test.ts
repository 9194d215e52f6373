import nock from "nock";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { markReadyAndDraw } from "../../src/github/mark-ready-and-draw.js";
import { buildOctokitClass, type GitHubClient } from "../../src/github/octokit.js";
import { startFakeGitHubServer, type FakeGitHubServer } from "../helpers/fake-github-server.js";

// The simulated GitHub of the fault and recovery tests answers the ready request (ADR 0017) as
// GitHub does: each mutation of the document in order, a part whose node is gone null with an error.

let github: FakeGitHubServer;

beforeAll(async () => {
  // Real HTTP to the simulated GitHub on loopback: nock's fetch interception stands aside meanwhile.
  nock.restore();
  github = await startFakeGitHubServer("acme", "api");
});
afterAll(async () => {
  await github.close();
  nock.activate();
});

function buildClient(): GitHubClient {
  const Octokit = buildOctokitClass({ retries: 0, retryAfterBaseValue: 1, throttle: false });
  return new Octokit({ auth: "ghs_fake", baseUrl: `http://${github.host}/api/v3` }) as GitHubClient;
}

async function post(path: string, body: Record<string, unknown>): Promise<{ id?: number; number?: number }> {
  const response = await fetch(`http://${github.host}/api/v3/repos/acme/api${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return (await response.json()) as { id?: number; number?: number };
}

describe("the fake GitHub server's ready request", () => {
  test("takes the draft PR out of draft and redraws the comment and the run in one write; a gone run is left out", async () => {
    const pr = await post("/pulls", { head: "agent/1-x", draft: true });
    const comment = await post("/issues/1/comments", { body: "<!-- foreman:status -->\nworking" });
    const run = await post("/check-runs", { head_sha: "abc", status: "in_progress" });
    const view = {
      status: "completed" as const,
      conclusion: "success" as const,
      detailsUrl: null,
      title: "Ready for review",
      summary: "Done.",
    };
    const writesBefore = github.writes.length;

    const result = await markReadyAndDraw(buildClient(), {
      owner: "acme",
      repo: "api",
      prNumber: pr.number!,
      statusComment: { id: comment.id!, body: "<!-- foreman:status -->\nready" },
      checkRun: { id: run.id!, view },
    });
    expect(result).toEqual({ alreadyReady: false, drewStatusComment: true, drewCheckRun: true, skipped: [] });
    expect(github.writes.slice(writesBefore)).toEqual([{ method: "POST", path: "/graphql" }]);
    expect(github.comments.find((entry) => entry.id === comment.id)?.body).toBe("<!-- foreman:status -->\nready");

    // Run again (a retry): the PR is ready, so only the surfaces are drawn; a run it does not know is left out.
    const again = await markReadyAndDraw(buildClient(), {
      owner: "acme",
      repo: "api",
      prNumber: pr.number!,
      statusComment: { id: comment.id!, body: "<!-- foreman:status -->\nready" },
      checkRun: { id: 1, view },
    });
    expect(again).toEqual({
      alreadyReady: true,
      drewStatusComment: true,
      drewCheckRun: false,
      skipped: ["check run not found"],
    });
    expect(github.unrouted).toEqual([]);
  });
});
