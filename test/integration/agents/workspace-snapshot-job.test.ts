import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listMounts } from "../../../src/agents/overlay-mount.js";
import { runAgentJob } from "../../../src/agents/run-agent-job.js";
import { detectSnapshotSupport, ensureSnapshot } from "../../../src/agents/workspace-snapshots.js";
import { testRunner as runner } from "./docker-available.js";
import { scriptJob } from "./sandbox-fixtures.js";

// A real container on a workspace mounted from a snapshot: Docker binds the overlay mount, the
// agent's uid writes through it, and the diff is the agent's alone.
describe("an agent job on a snapshot workspace", () => {
  let root: string;
  let origin: string;
  let head: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "foreman-snap-job-"));
    if (!(await detectSnapshotSupport(join(root, "probe"))))
      throw new Error("This test mounts overlayfs: run it as root with CAP_SYS_ADMIN.");
    origin = join(root, "origin.git");
    const work = join(root, "work");
    const git = (cwd: string, ...args: string[]): string =>
      execFileSync("git", args, { cwd, env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null" } })
        .toString("utf8")
        .trim();
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", origin);
    git(root, "init", "--quiet", "--initial-branch=main", work);
    execFileSync("sh", ["-c", "printf '# Widgets\\n' > README.md && printf 'obsolete\\n' > old.txt"], { cwd: work });
    git(work, "add", ".");
    git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "base");
    git(work, "push", "--quiet", origin, "HEAD:main");
    head = git(work, "rev-parse", "HEAD");
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("collects exactly what the agent edited, adds and deletes, and leaves no mount behind", async () => {
    const workspaces = join(root, "workspaces");
    const outcome = await runAgentJob(
      scriptJob(
        workspaces,
        [
          "set -e",
          "echo patched >> README.md",
          "mkdir -p src && echo 'export {};' > src/new.ts",
          "rm old.txt",
          `printf '{"status":"success","summary":"done"}' > /foreman/out/result.json`,
        ].join("\n"),
      ),
      {
        runner,
        fetchTarball: () => Promise.reject(new Error("a snapshot job downloads no tarball")),
        fetchSnapshot: (sandboxUser) =>
          ensureSnapshot({
            snapshotsDir: join(root, "snapshots"),
            source: {
              gitDir: origin,
              archive: (commit) =>
                Promise.resolve(
                  Readable.from([execFileSync("git", ["--git-dir", origin, "archive", "--prefix=r/", commit])]),
                ),
            },
            commit: head,
            sandboxUser,
            timeoutMs: 60_000,
            now: new Date(),
          }),
        now: () => new Date(),
      },
    );
    if (outcome.kind !== "succeeded") throw new Error(`${outcome.code}: ${outcome.message}\n${outcome.logTail}`);
    expect(outcome.changes.map((change) => [change.path, change.status, change.content?.toString("utf8")])).toEqual([
      ["README.md", "modified", "# Widgets\npatched\n"],
      ["old.txt", "deleted", undefined],
      ["src/new.ts", "added", "export {};\n"],
    ]);
    expect((await listMounts()).filter((mount) => mount.target.startsWith(root))).toEqual([]);
    expect(await readdir(workspaces)).toEqual([]);
  });
});
