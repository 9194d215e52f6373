/**
 * Where an agent job's repository comes from: GitHub's tarball, this host's mirror
 * (WORKSPACE_SOURCE=mirror: only new objects fetched), or, as root with overlayfs, a mounted
 * per-commit snapshot built from the mirror (ADR 0105).
 */
import type { Readable } from "node:stream";
import { downloadRepoTarball } from "../../github/download-repo-tarball.js";
import { openMirrorArchive, readMirrorCommit } from "../../github/repo-mirror.js";
import {
  detectSnapshotSupport,
  ensureSnapshot,
  snapshotsPathOf,
  type WorkspaceSnapshot,
} from "../../agents/workspace-snapshots.js";
import type { AgentStep as Step, AgentStepDeps } from "./agent-step-deps.js";

/**
 * The repository at the job's commit as a tar stream: from this host's mirror (WORKSPACE_SOURCE=mirror,
 * only new objects fetched), or GitHub's tarball, streamed to a temporary file under REPO_TARBALL_MAX_MB.
 */
export async function fetchRepository({ deps, job, task, octokit }: Step): Promise<Readable> {
  if (deps.mirror === undefined) {
    return downloadRepoTarball(octokit, {
      owner: task.repo.owner,
      repo: task.repo.name,
      ref: job.baseSha,
      maxBytes: deps.repoTarballMaxBytes,
      timeoutMs: deps.hostCommandTimeoutMs,
    });
  }
  const { archive, report } = await openMirrorArchive({
    mirrorsDir: deps.mirror.dir,
    repoId: task.repo.id,
    remoteUrl: `${deps.mirror.gitBaseUrl}/${task.repo.owner}/${task.repo.name}.git`,
    // The installation token, minted (or cached) by the client; only git's environment sees it.
    token: async () => ((await octokit.auth({ type: "installation" })) as { token: string }).token,
    commit: job.baseSha,
    timeoutMs: deps.hostCommandTimeoutMs,
    now: deps.engine.now(),
  });
  deps.engine.log.info({ jobId: job.id, ...report }, "repository mirror ready");
  return archive;
}

export type SandboxUser = { uid: number; gid: number };

/** WORKSPACE_SOURCE=mirror as root with overlayfs: workspaces are mounted from per-commit snapshots (ADR 0105). */
export async function canUseSnapshots(deps: AgentStepDeps): Promise<boolean> {
  return deps.mirror !== undefined && (await detectSnapshotSupport(deps.mirror.dir));
}

/** The job's commit as a mounted snapshot for the sandbox user, built from this host's mirror (a thin layer when it can). */
export async function fetchSnapshot({ deps, job, task, octokit }: Step, user: SandboxUser): Promise<WorkspaceSnapshot> {
  const mirror = deps.mirror;
  if (mirror === undefined) throw new Error("snapshots need WORKSPACE_SOURCE=mirror");
  const params = {
    mirrorsDir: mirror.dir,
    repoId: task.repo.id,
    remoteUrl: `${mirror.gitBaseUrl}/${task.repo.owner}/${task.repo.name}.git`,
    token: async () => ((await octokit.auth({ type: "installation" })) as { token: string }).token,
    commit: job.baseSha,
    timeoutMs: deps.hostCommandTimeoutMs,
    now: deps.engine.now(),
  };
  const { snapshot, report } = await readMirrorCommit(params, async (reader) => ({
    report: reader.report,
    snapshot: await ensureSnapshot({
      snapshotsDir: snapshotsPathOf(mirror.dir, task.repo.id),
      source: reader,
      commit: job.baseSha,
      sandboxUser: user,
      timeoutMs: deps.hostCommandTimeoutMs,
      now: deps.engine.now(),
    }),
  }));
  deps.engine.log.info(
    { jobId: job.id, ...report, snapshot: snapshot.built, layers: snapshot.layerDirs.length },
    "repository snapshot ready",
  );
  return snapshot;
}
