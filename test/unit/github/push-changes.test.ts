import { Octokit } from "@octokit/rest";
import nock from "nock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FileChange } from "../../../src/agents/changes.js";
import { buildOctokitClass } from "../../../src/github/octokit.js";
import {
  MAX_ONE_WRITE_BYTES,
  choosePushPath,
  pushChanges,
  type PushChangesParams,
} from "../../../src/github/push-changes.js";

const API = "https://api.github.com";
const REPO = "/repos/octo/widgets";
const EXPECTED = "1111111111111111111111111111111111111111";
const BASE_TREE = "2222222222222222222222222222222222222222";

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function octokit(): Octokit {
  return new Octokit({ request: { retries: 0 }, baseUrl: API, log: silent });
}

function change(path: string, patch: Partial<FileChange>): FileChange {
  return {
    path,
    status: "modified",
    mode: "100644",
    binary: false,
    addedLines: 0,
    deletedLines: 0,
    addedText: [],
    ...patch,
  };
}

const changes: FileChange[] = [
  change("src/new.ts", { status: "added", content: Buffer.from("export const x = 1;\n") }),
  change("bin/run", { mode: "100755", content: Buffer.from("#!/bin/sh\necho hi\n") }),
  change("old.txt", { status: "deleted" }),
  change("img/logo.png", { status: "added", binary: true, content: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]) }),
  change("docs/link", { status: "added", mode: "120000", content: Buffer.from("../README.md") }),
];

const params: PushChangesParams = {
  owner: "octo",
  repo: "widgets",
  branch: "agent/7-fix-it",
  expectedHeadSha: EXPECTED,
  message: "coder: fix it",
  changes,
};

// The exact tree Foreman must send: sorted by path, inline text, a blob for the binary, null for the deletion.
const treeBody = {
  base_tree: BASE_TREE,
  tree: [
    { path: "bin/run", mode: "100755", type: "blob", content: "#!/bin/sh\necho hi\n" },
    { path: "docs/link", mode: "120000", type: "blob", content: "../README.md" },
    { path: "img/logo.png", mode: "100644", type: "blob", sha: "b10b000000000000000000000000000000000000" },
    { path: "old.txt", mode: "100644", type: "blob", sha: null },
    { path: "src/new.ts", mode: "100644", type: "blob", content: "export const x = 1;\n" },
  ],
};

function mockRef(scope: nock.Scope, sha: string): void {
  scope
    .get(`${REPO}/git/ref/heads%2Fagent%2F7-fix-it`)
    .reply(200, { ref: "refs/heads/agent/7-fix-it", object: { sha, type: "commit" } });
}

function mockTree(scope: nock.Scope, treeSha: string): void {
  scope.get(`${REPO}/git/commits/${EXPECTED}`).reply(200, { sha: EXPECTED, tree: { sha: BASE_TREE }, parents: [] });
  scope
    .post(`${REPO}/git/blobs`, { content: "iVBORwD/", encoding: "base64" })
    .reply(201, { sha: "b10b000000000000000000000000000000000000" });
  scope.post(`${REPO}/git/trees`, treeBody).reply(201, { sha: treeSha });
}

let scope: nock.Scope;

beforeEach(() => {
  nock.disableNetConnect();
  scope = nock(API);
});

afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
});

describe("pushChanges", () => {
  it("makes one unsigned-by-us commit (so GitHub verifies it) and moves the branch without force", async () => {
    mockRef(scope, EXPECTED);
    mockTree(scope, "3333333333333333333333333333333333333333");
    scope
      .post(`${REPO}/git/commits`, {
        message: "coder: fix it",
        tree: "3333333333333333333333333333333333333333",
        parents: [EXPECTED],
      })
      .reply(201, { sha: "4444444444444444444444444444444444444444" });
    scope
      .patch(`${REPO}/git/refs/heads%2Fagent%2F7-fix-it`, {
        sha: "4444444444444444444444444444444444444444",
        force: false,
      })
      .reply(200, { object: { sha: "4444444444444444444444444444444444444444" } });

    expect(await pushChanges(octokit(), params)).toEqual({
      kind: "pushed",
      commitSha: "4444444444444444444444444444444444444444",
      treeSha: "3333333333333333333333333333333333333333",
      path: "git_data",
    });
    expect(scope.isDone()).toBe(true);
  });

  it("hands the new commit to recordCommit before the branch moves, so the push is known as Foreman's first", async () => {
    const order: string[] = [];
    mockRef(scope, EXPECTED);
    mockTree(scope, "3333333333333333333333333333333333333333");
    scope.post(`${REPO}/git/commits`).reply(201, { sha: "4444444444444444444444444444444444444444" });
    scope.patch(`${REPO}/git/refs/heads%2Fagent%2F7-fix-it`).reply(200, () => {
      order.push("branch moved");
      return { object: { sha: "4444444444444444444444444444444444444444" } };
    });
    const outcome = await pushChanges(octokit(), {
      ...params,
      recordCommit: async (sha) => {
        order.push(`recorded ${sha}`);
      },
    });
    expect(outcome.kind).toBe("pushed");
    expect(order).toEqual(["recorded 4444444444444444444444444444444444444444", "branch moved"]);
  });

  it("makes no commit when the tree equals the base tree", async () => {
    mockRef(scope, EXPECTED);
    mockTree(scope, BASE_TREE);
    expect(await pushChanges(octokit(), params)).toEqual({ kind: "no_changes", headSha: EXPECTED });
    expect(scope.isDone()).toBe(true);
  });

  it("reports a conflict when a human pushed between our read and our update, and never forces", async () => {
    mockRef(scope, EXPECTED);
    mockTree(scope, "3333333333333333333333333333333333333333");
    scope.post(`${REPO}/git/commits`).reply(201, { sha: "4444444444444444444444444444444444444444" });
    scope
      .patch(`${REPO}/git/refs/heads%2Fagent%2F7-fix-it`, {
        sha: "4444444444444444444444444444444444444444",
        force: false,
      })
      .reply(422, { message: "Update is not a fast forward" });
    mockRef(scope, "9999999999999999999999999999999999999999");

    expect(await pushChanges(octokit(), params)).toEqual({
      kind: "conflict",
      expectedHeadSha: EXPECTED,
      actualHeadSha: "9999999999999999999999999999999999999999",
      message:
        `Branch agent/7-fix-it moved to 9999999999999999999999999999999999999999 while the agent worked on ${EXPECTED} ` +
        "(someone else pushed). Nothing was pushed and nothing was forced; the next step starts from the new head.",
    });
    expect(scope.isDone()).toBe(true);
  });

  it("creates nothing when the branch already moved to someone else's commit", async () => {
    mockRef(scope, "9999999999999999999999999999999999999999");
    scope.get(`${REPO}/git/commits/9999999999999999999999999999999999999999`).reply(200, {
      sha: "9999999999999999999999999999999999999999",
      tree: { sha: "8888888888888888888888888888888888888888" },
      parents: [{ sha: "7777777777777777777777777777777777777777" }],
    });

    expect(await pushChanges(octokit(), params)).toMatchObject({
      kind: "conflict",
      actualHeadSha: "9999999999999999999999999999999999999999",
    });
    expect(scope.isDone()).toBe(true);
  });

  it("recognises its own earlier push of the same change and makes no second commit", async () => {
    mockRef(scope, "4444444444444444444444444444444444444444");
    scope.get(`${REPO}/git/commits/4444444444444444444444444444444444444444`).reply(200, {
      sha: "4444444444444444444444444444444444444444",
      tree: { sha: "3333333333333333333333333333333333333333" },
      parents: [{ sha: EXPECTED }],
    });
    mockTree(scope, "3333333333333333333333333333333333333333");

    expect(await pushChanges(octokit(), params)).toEqual({
      kind: "already_pushed",
      commitSha: "4444444444444444444444444444444444444444",
      treeSha: "3333333333333333333333333333333333333333",
    });
    expect(scope.isDone()).toBe(true);
  });

  it("reports a deleted branch", async () => {
    scope.get(`${REPO}/git/ref/heads%2Fagent%2F7-fix-it`).reply(404, { message: "Not Found" });
    expect(await pushChanges(octokit(), params)).toEqual({
      kind: "branch_missing",
      message: "Branch agent/7-fix-it no longer exists in octo/widgets; nothing was pushed.",
    });
    expect(scope.isDone()).toBe(true);
  });

  it("sends no request at all for an empty change", async () => {
    expect(await pushChanges(octokit(), { ...params, changes: [] })).toEqual({ kind: "no_changes", headSha: null });
  });

  it("fails on a request nobody mocked instead of reaching the network", async () => {
    await expect(pushChanges(octokit(), params)).rejects.toThrow(/Nock: (Disallowed net connect|No match)/);
  });
});

describe("pushChanges through createCommitOnBranch", () => {
  const regular: FileChange[] = [
    change("src/new.ts", { status: "added", content: Buffer.from("export const x = 1;\n") }),
    change("old.txt", { status: "deleted", mode: "100755" }),
    change("img/logo.png", {
      status: "modified",
      previousMode: "100644",
      binary: true,
      content: Buffer.from([0x89, 0x00]),
    }),
  ];
  const own = {
    ...params,
    changes: regular,
    message: "coder: fix it\n\nWhy.\n\nForeman-Job: j1",
    ownTrailer: "Foreman-Job: j1",
  };
  const mutation = {
    input: {
      branch: { repositoryNameWithOwner: "octo/widgets", branchName: "agent/7-fix-it" },
      expectedHeadOid: EXPECTED,
      message: { headline: "coder: fix it", body: "Why.\n\nForeman-Job: j1" },
      fileChanges: {
        additions: [
          { path: "img/logo.png", contents: "iQA=" },
          { path: "src/new.ts", contents: Buffer.from("export const x = 1;\n").toString("base64") },
        ],
        deletions: [{ path: "old.txt" }],
      },
    },
  };

  function mockMutation(reply: object): void {
    scope
      .post(
        "/graphql",
        (body: { query?: string; variables?: unknown }) =>
          /createCommitOnBranch\(input: \$input\)/.test(body.query ?? "") &&
          JSON.stringify(body.variables) === JSON.stringify(mutation),
      )
      .reply(200, reply);
  }

  const stale = {
    data: { createCommitOnBranch: null },
    errors: [
      {
        type: "STALE_DATA",
        path: ["createCommitOnBranch"],
        message: `Expected branch to point to "${EXPECTED}" but it did not.  Pull and try again.`,
      },
    ],
  };

  it("makes the commit and moves the branch in ONE write, compare-and-swap on the head the agent worked on", async () => {
    const recorded: string[] = [];
    mockRef(scope, EXPECTED);
    mockMutation({
      data: { createCommitOnBranch: { commit: { oid: "5".repeat(40), tree: { oid: "6".repeat(40) } } } },
    });

    const outcome = await pushChanges(octokit(), { ...own, recordCommit: async (sha) => void recorded.push(sha) });
    expect(outcome).toEqual({
      kind: "pushed",
      commitSha: "5".repeat(40),
      treeSha: "6".repeat(40),
      path: "commit_on_branch",
    });
    expect(recorded).toEqual(["5".repeat(40)]);
  });

  it("run twice, finds its own commit by the trailer on a stale head and makes no second one", async () => {
    mockRef(scope, EXPECTED);
    mockMutation(stale);
    mockRef(scope, "5".repeat(40));
    scope.get(`${REPO}/git/commits/${"5".repeat(40)}`).reply(200, {
      sha: "5".repeat(40),
      message: "coder: fix it\n\nWhy.\n\nForeman-Job: j1",
      tree: { sha: "6".repeat(40) },
      parents: [{ sha: EXPECTED }],
    });

    expect(await pushChanges(octokit(), own)).toEqual({
      kind: "already_pushed",
      commitSha: "5".repeat(40),
      treeSha: "6".repeat(40),
    });
  });

  it("reports a conflict on a stale head that is someone else's commit, and never forces", async () => {
    mockRef(scope, EXPECTED);
    mockMutation(stale);
    mockRef(scope, "9".repeat(40));
    scope.get(`${REPO}/git/commits/${"9".repeat(40)}`).reply(200, {
      sha: "9".repeat(40),
      message: "a human's fix",
      tree: { sha: "8".repeat(40) },
      parents: [{ sha: "7".repeat(40) }],
    });

    expect(await pushChanges(octokit(), own)).toMatchObject({ kind: "conflict", actualHeadSha: "9".repeat(40) });
  });

  it("is never re-sent by the HTTP layer: a 502 to the mutation fails this attempt, even with retries on for reads", async () => {
    const Tuned = buildOctokitClass({ retries: 2, retryAfterBaseValue: 1, throttle: false });
    const client = new Tuned({ auth: { token: "ghs_test" }, log: silent });
    mockRef(scope, EXPECTED);
    scope.post("/graphql").once().reply(502, { message: "Bad Gateway" });

    await expect(pushChanges(client, own)).rejects.toMatchObject({ status: 502 });
  });

  it("throws any other GraphQL error (the job's retry decides), without a second request", async () => {
    mockRef(scope, EXPECTED);
    mockMutation({ data: null, errors: [{ type: "FORBIDDEN", message: "Resource not accessible by integration" }] });
    await expect(pushChanges(octokit(), own)).rejects.toThrow(/Resource not accessible/);
  });
});

describe("choosePushPath", () => {
  const text = (patch: Partial<FileChange>) =>
    change("a.txt", { content: Buffer.from("x"), previousMode: "100644", ...patch });

  it.each([
    [
      "a regular file added, modified or deleted",
      [text({ status: "added", previousMode: undefined }), text({}), text({ status: "deleted", mode: "100755" })],
      "commit_on_branch",
    ],
    ["a new executable", [text({ status: "added", mode: "100755", previousMode: undefined })], "git_data"],
    ["an executable bit set", [text({ mode: "100755" })], "git_data"],
    ["an executable bit removed", [text({ previousMode: "100755" })], "git_data"],
    ["a symlink", [text({ status: "added", mode: "120000", previousMode: undefined })], "git_data"],
    ["a submodule replaced by a file", [text({ previousMode: "160000" })], "git_data"],
    ["a modification of unknown previous mode", [text({ previousMode: undefined })], "git_data"],
    ["a payload above the one-write limit", [text({ content: Buffer.alloc(MAX_ONE_WRITE_BYTES + 1) })], "git_data"],
  ] as const)("%s: %s", (_what, changes, path) => {
    expect(choosePushPath(changes)).toBe(path);
  });
});
