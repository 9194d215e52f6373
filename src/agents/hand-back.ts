/**
 * The hand-back: after the agent's container exits, a short container in the same sandbox and as
 * the agent's uid makes what the agent wrote readable to Foreman's host user (and its directories
 * removable). A host running as root reads and removes everything and needs none of it; a host
 * running as another user (the image's `node`) cannot read a 0600 file the agent made, nor remove
 * the files in a directory the agent made, without it.
 *
 * A file that is still unreadable afterwards is the agent's doing: `findUnreadableEntries` names it,
 * and the job fails as a guardrail (never as an infrastructure error that is retried).
 */
import { constants } from "node:fs";
import { access, lstat, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { CONTAINER_PATHS, JOB_LABELS } from "./job-spec.js";
import type { ContainerSpec, HandBackRequest, JobHandle, WaitOutcome } from "./runner.js";

/** The container calls the hand-back makes (a subset of the Runner port). */
export interface HandBackRunner {
  start(spec: ContainerSpec): Promise<JobHandle>;
  wait(handle: JobHandle, options: { timeoutMs: number }): Promise<WaitOutcome>;
  remove(handle: JobHandle): Promise<void>;
}

/** An entry of the workspace or out directory the host user cannot read. */
export interface UnreadableEntry {
  /** Relative to the workspace (`out/…` for the out directory). */
  readonly path: string;
  /** Permission bits, e.g. `0600`. */
  readonly mode: string;
  readonly uid: number;
  readonly gid: number;
}

/** Longest the hand-back container may run. */
export const HAND_BACK_TIMEOUT_MS = 120_000;

// Directories readable, searchable and writable by all (so that the host user may list them and remove what
// is in them), files readable by all. Entries the agent does not own fail and are skipped: they are the host's
// own. Symlinks are not followed. chmod -R is not used: busybox's stops at the first directory it may not
// change (the mount points are the host's). Each find pass opens the directories the previous one fixed, for
// an agent that took its own read bit off a directory. Without root the host has made the workspace
// world-writable already (src/agents/workspace.ts), inside its 0700 job directory: "all" is the host user
// and the agent.
const DIRS = `${CONTAINER_PATHS.workspace} ${CONTAINER_PATHS.outDir}`;
const HAND_BACK_SCRIPT = [
  `for pass in 1 2 3; do find ${DIRS} -type d ! -perm -0777 -exec chmod a+rwx {} + 2>/dev/null; done`,
  `find ${DIRS} -type f ! -perm -0444 -exec chmod a+r {} + 2>/dev/null`,
  "exit 0",
].join("; ");

/** Answers whether this process needs the hand-back: only root reads and removes every file without it. */
export function isHandBackNeeded(): boolean {
  return process.getuid?.() !== 0;
}

/** Builds the hand-back container: the agent's image and uid, no network, the job's two writable mounts only. */
export function buildHandBackSpec(request: HandBackRequest): ContainerSpec {
  return {
    name: `foreman-job-${request.jobId}-hand-back`,
    Image: request.image,
    Entrypoint: ["sh"],
    Cmd: ["-c", HAND_BACK_SCRIPT],
    User: request.user,
    WorkingDir: CONTAINER_PATHS.workspace,
    Env: [],
    // The job's labels: a hand-back left behind by a crash is removed with the job's orphans.
    Labels: {
      [JOB_LABELS.task]: request.taskId,
      [JOB_LABELS.job]: request.jobId,
      [JOB_LABELS.replica]: request.replica,
      [JOB_LABELS.profile]: "hand-back",
    },
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    HostConfig: {
      Binds: [
        `${request.workspaceDir}:${CONTAINER_PATHS.workspace}:rw`,
        `${request.outDir}:${CONTAINER_PATHS.outDir}:rw`,
      ],
      NetworkMode: "none",
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Privileged: false,
      Memory: 128 * 1024 * 1024,
      MemorySwap: 128 * 1024 * 1024,
      NanoCpus: 1e9,
      PidsLimit: 64,
      Init: true,
      AutoRemove: false,
    },
  };
}

/** Runs the hand-back container to its end and removes it; throws when it could not run or did not finish. */
export async function handBackWorkspace(runner: HandBackRunner, request: HandBackRequest): Promise<void> {
  const handle = await runner.start(buildHandBackSpec(request));
  try {
    const outcome = await runner.wait(handle, { timeoutMs: HAND_BACK_TIMEOUT_MS });
    if (outcome.timedOut) throw new Error(`the hand-back did not finish within ${HAND_BACK_TIMEOUT_MS / 1000} seconds`);
  } finally {
    await runner.remove(handle).catch(() => undefined);
  }
}

/**
 * Lists what this process cannot read in the workspace and out directories: files it cannot open,
 * directories it cannot list. Symlinks are not followed; the agent's own `.git` is not read by Foreman.
 */
export async function findUnreadableEntries(
  dirs: { readonly workspaceDir: string; readonly outDir: string },
  limit = 20,
): Promise<UnreadableEntry[]> {
  const found: UnreadableEntry[] = [];
  const visit = async (root: string, path: string, prefix: string): Promise<void> => {
    if (found.length >= limit) return;
    const stats = await lstat(path);
    if (stats.isSymbolicLink() || !(stats.isFile() || stats.isDirectory())) return;
    const wanted = stats.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK;
    const readable = await access(path, wanted).then(
      () => true,
      () => false,
    );
    if (!readable) {
      found.push({
        path: nameEntry(prefix, relative(root, path)),
        mode: `0${(stats.mode & 0o777).toString(8).padStart(3, "0")}`,
        uid: stats.uid,
        gid: stats.gid,
      });
      return;
    }
    if (!stats.isDirectory()) return;
    for (const child of (await readdir(path)).sort()) {
      if (path === root && prefix === "" && child === ".git") continue;
      await visit(root, join(path, child), prefix);
    }
  };
  await visit(dirs.workspaceDir, dirs.workspaceDir, "");
  await visit(dirs.outDir, dirs.outDir, "out/");
  return found;
}

// "a/b", "out/result.json"; the directories themselves are "." and "out".
function nameEntry(prefix: string, path: string): string {
  if (path !== "") return `${prefix}${path}`;
  return prefix === "" ? "." : prefix.replace(/\/$/, "");
}

/** Names unreadable entries for the issue: path, mode and owner. */
export function describeUnreadableEntry(entry: UnreadableEntry): string {
  return `\`${entry.path}\` (mode ${entry.mode}, owner uid ${entry.uid}, gid ${entry.gid})`;
}
