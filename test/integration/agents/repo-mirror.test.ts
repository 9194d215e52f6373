/**
 * The repository mirror against real git over HTTP (`git http-backend` behind node:http): the
 * token travels as the Authorization header and never reaches the mirror's files, a warm mirror
 * fetches only what is new, a corrupt mirror is rebuilt, and the archive makes a workspace.
 */
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareWorkspace } from "../../../src/agents/workspace.js";
import { ensureSnapshot, snapshotsPathOf } from "../../../src/agents/workspace-snapshots.js";
import {
  FETCHED_REFS_KEPT,
  mirrorPathOf,
  openMirrorArchive,
  readMirrorCommit,
  verifyMirror,
  type RepoMirrorParams,
} from "../../../src/github/repo-mirror.js";
import { startGitHttpServer, type GitHttpServer } from "../../helpers/git-http-server.js";

const TOKEN = "ghs_mirrorTestToken0123456789abcdefABCDEF";
const BASIC = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString("base64")}`;

let root: string;
let origin: string;
let work: string;
let server: GitHttpServer;

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      HOME: "/nonexistent",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t",
    },
  }).trim();
}

async function commitFile(name: string, content: string): Promise<string> {
  await writeFile(join(work, name), content);
  git(work, "add", name);
  git(work, "commit", "--quiet", "-m", `change ${name}`);
  git(work, "push", "--quiet", origin, "HEAD:main");
  return git(work, "rev-parse", "HEAD");
}

function params(overrides: Partial<RepoMirrorParams> & { commit: string }): RepoMirrorParams {
  return {
    mirrorsDir: join(root, "mirrors"),
    repoId: 42,
    remoteUrl: `${server.url}/o/r.git`,
    token: () => Promise.resolve(TOKEN),
    timeoutMs: 60_000,
    now: new Date("2025-01-01T00:00:00Z"),
    ...overrides,
  };
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

// Every object file (loose objects and packs) keeps its name and loses its content.
async function corruptObjects(mirror: string): Promise<void> {
  const objects = join(mirror, "objects");
  const files = (await listFiles(objects)).filter((file) => !file.startsWith(join(objects, "info")));
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) {
    await chmod(file, 0o644);
    await writeFile(file, "corrupt");
  }
}

async function makeWorkspace(jobId: string, commit: string) {
  const { archive, report } = await openMirrorArchive(params({ commit }));
  const workspace = await prepareWorkspace({
    baseDir: join(root, "workspaces"),
    jobId,
    tarball: archive,
    prompt: "p",
    context: {},
    sandboxUser: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
    now: new Date("2025-01-01T00:00:00Z"),
  });
  return { workspace, report };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "foreman-mirror-"));
  origin = join(root, "served", "o", "r.git");
  git(root, "init", "--quiet", "--bare", "--initial-branch=main", origin);
  work = join(root, "work");
  git(root, "init", "--quiet", "--initial-branch=main", work);
  await writeFile(
    join(work, "big.txt"),
    "x".repeat(200_000).replace(/x/g, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))),
  );
  git(work, "add", "big.txt");
  await commitFile("README.md", "hello\n");
  server = await startGitHttpServer({ projectRoot: join(root, "served"), token: TOKEN });
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

describe("the repository mirror over real git HTTP", () => {
  it("fetches with the token as the Authorization header, never on disk, and makes a workspace", async () => {
    const head = git(work, "rev-parse", "HEAD");
    const { workspace, report } = await makeWorkspace("job-1", head);

    expect(report).toMatchObject({ fetched: true, rebuilt: false });
    expect(report.packBytesAdded).toBeGreaterThan(0);
    expect(await readFile(join(workspace.workspaceDir, "README.md"), "utf8")).toBe("hello\n");
    expect((await stat(join(workspace.workspaceDir, "big.txt"))).size).toBe(200_000);
    expect(workspace.skippedEntries).toEqual([]);

    const gitRequests = server.requests.filter((request) => request.path.startsWith("/o/r.git"));
    expect(gitRequests.length).toBeGreaterThan(0);
    expect(gitRequests.every((request) => request.authorization === BASIC && request.status === 200)).toBe(true);

    const mirror = mirrorPathOf(join(root, "mirrors"), 42);
    const config = await readFile(join(mirror, "config"), "utf8");
    expect(config).not.toContain(server.url);
    expect(config).not.toMatch(/extraheader|remote/i);
    for (const file of await listFiles(mirror)) {
      const bytes = await readFile(file);
      expect(bytes.includes(TOKEN), file).toBe(false);
      expect(bytes.includes(BASIC.slice("Basic ".length)), file).toBe(false);
    }
  });

  it("fetches nothing for a commit it holds, and only the new objects for a new one", async () => {
    const held = git(work, "rev-parse", "HEAD");
    const before = server.requests.length;
    const again = await makeWorkspace("job-2", held);
    expect(again.report).toEqual({ fetched: false, rebuilt: false, packBytesAdded: 0 });
    expect(server.requests.length).toBe(before);

    server.takeBytesSent();
    const next = await commitFile("NEW.md", "new\n");
    const asked = server.requests.length;
    const { workspace, report } = await makeWorkspace("job-3", next);
    const sent = server.takeBytesSent();
    expect(report.fetched).toBe(true);
    // The commit wanted by id: the capabilities, then the pack; no listing of the remote's refs.
    expect(server.requests.slice(asked).map((request) => `${request.method} ${request.path}`)).toEqual([
      "GET /o/r.git/info/refs",
      "POST /o/r.git/git-upload-pack",
    ]);
    expect(await readFile(join(workspace.workspaceDir, "NEW.md"), "utf8")).toBe("new\n");
    // The 200 kB of random text is not sent again: the new pack is a few objects.
    expect(sent).toBeLessThan(200_000 / 10);
  });

  it("builds a workspace snapshot from the mirror, and the next commit's as a layer fetched alone", async () => {
    const snapshotOf = (commit: string) =>
      readMirrorCommit(params({ commit }), (mirror) =>
        ensureSnapshot({
          snapshotsDir: snapshotsPathOf(join(root, "mirrors"), 42),
          source: mirror,
          commit,
          sandboxUser: { uid: 65534, gid: 65534 },
          timeoutMs: 60_000,
          now: new Date("2025-01-01T00:00:00Z"),
        }).then((snapshot) => ({ snapshot, report: mirror.report })),
      );
    const base = await snapshotOf(git(work, "rev-parse", "HEAD"));
    expect(base.snapshot.built).toBe("base");
    server.takeBytesSent();
    const next = await commitFile("LAYER.md", "layer\n");
    const layer = await snapshotOf(next);
    expect(layer.report.fetched).toBe(true);
    expect(server.takeBytesSent()).toBeLessThan(200_000 / 10);
    expect({ built: layer.snapshot.built, layers: layer.snapshot.layerDirs.length }).toEqual({
      built: "layer",
      layers: 2,
    });
    expect(await readFile(join(layer.snapshot.layerDirs[0] ?? "", "LAYER.md"), "utf8")).toBe("layer\n");
  });

  it("fetches a commit no branch holds (a pull request's head) like any other, in one fetch", async () => {
    git(work, "checkout", "--quiet", "--detach");
    await writeFile(join(work, "PR.md"), "pr\n");
    git(work, "add", "PR.md");
    git(work, "commit", "--quiet", "-m", "pull request");
    git(work, "push", "--quiet", origin, "HEAD:refs/pull/9/head");
    const pullHead = git(work, "rev-parse", "HEAD");
    git(work, "checkout", "--quiet", "main");
    const before = server.requests.length;
    const { workspace, report } = await makeWorkspace("job-pr", pullHead);
    expect(report.fetched).toBe(true);
    expect(await readFile(join(workspace.workspaceDir, "PR.md"), "utf8")).toBe("pr\n");
    // One git fetch (one capability request): no fetch of the branches first.
    const adverts = server.requests.slice(before).filter((request) => request.path.endsWith("/info/refs"));
    expect(adverts).toHaveLength(1);
  });

  it("keeps the newest fetched commits' refs, as the next fetches' haves, and drops the rest", async () => {
    const mirror = mirrorPathOf(join(root, "mirrors"), 42);
    // Older commits' refs, as 2 × FETCHED_REFS_KEPT earlier fetches would have left them.
    const tree = git(mirror, "rev-parse", `${git(work, "rev-parse", "HEAD")}^{tree}`);
    // Committed in 2001: older than any fetched commit, whatever the clock says now.
    const older = Array.from({ length: 2 * FETCHED_REFS_KEPT }, (_, index) =>
      execFileSync("git", ["--git-dir", mirror, "commit-tree", "-m", `old ${index}`, tree], {
        encoding: "utf8",
        env: {
          ...process.env,
          GIT_CONFIG_GLOBAL: "/dev/null",
          GIT_COMMITTER_DATE: "2001-01-01T00:00:00Z",
          GIT_AUTHOR_DATE: "2001-01-01T00:00:00Z",
          GIT_AUTHOR_NAME: "t",
          GIT_AUTHOR_EMAIL: "t@t",
          GIT_COMMITTER_NAME: "t",
          GIT_COMMITTER_EMAIL: "t@t",
        },
      }).trim(),
    );
    execFileSync("git", ["--git-dir", mirror, "update-ref", "--stdin"], {
      input: older.map((commit) => `create refs/foreman/${commit} ${commit}\n`).join(""),
    });
    const next = await commitFile("PRUNE.md", "prune\n");
    await makeWorkspace("job-prune", next);
    const refs = git(mirror, "for-each-ref", "--format=%(refname)", "refs/foreman/").split("\n");
    expect(refs).toHaveLength(FETCHED_REFS_KEPT);
    expect(refs).toContain(`refs/foreman/${next}`);
  });

  it("says why a fetch was refused without the token in the message", async () => {
    const next = await commitFile("REFUSED.md", "r\n");
    const refused = openMirrorArchive(params({ commit: next, token: () => Promise.resolve(`${TOKEN}-wrong`) }));
    const error = (await refused.catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/git fetch failed/);
    expect(error.message).not.toContain(TOKEN);
    const last = server.requests.at(-1)!;
    expect(last.status).toBe(401);
  });

  it("rebuilds a mirror whose objects are corrupt instead of trusting it", async () => {
    const mirror = mirrorPathOf(join(root, "mirrors"), 42);
    await corruptObjects(mirror);
    const next = await commitFile("AFTER.md", "after\n");
    const { workspace, report } = await makeWorkspace("job-4", next);
    expect(report).toMatchObject({ fetched: true, rebuilt: true });
    expect(await readFile(join(workspace.workspaceDir, "AFTER.md"), "utf8")).toBe("after\n");
    expect((await stat(join(workspace.workspaceDir, "big.txt"))).size).toBe(200_000);
    expect(await verifyMirror(join(root, "mirrors"), 42, 60_000)).toBe(true);
  });

  it("removes a mirror that fails git fsck", async () => {
    const mirror = mirrorPathOf(join(root, "mirrors"), 42);
    await corruptObjects(mirror);
    expect(await verifyMirror(join(root, "mirrors"), 42, 60_000)).toBe(false);
    await expect(stat(mirror)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
