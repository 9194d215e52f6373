/**
 * A job's directory on the host: the repository at the branch head (a git repo with one base
 * commit), the prompt and context beside it, and the out directory — laid out so the sandbox
 * user can write exactly the workspace and out, and so cleanup can find expired ones later.
 *
 * The job directory is 0700, the host user's: the prompt and context (the text), the
 * repository copy and the agent's files are no other host user's to read. The agent still reads
 * and writes what is mounted for it: Docker binds the paths themselves, whatever their parents.
 *
 *   <baseDir>/<jobId>/   0700
 *     foreman-job.json   created-at / keep-until, for sweepWorkspaces
 *     git/               host-only copy of the repository: what the diff is computed from
 *     workspace/         mounted at /workspace (with its own .git for the agent); from a snapshot,
 *                        an overlay mount of the snapshot's layers (ADR 0105)
 *     overlay/           from a snapshot only: the mount's upper (what the agent wrote) and work dirs
 *     <promptFile>       mounted read-only at /foreman/<promptFile>
 *     context.json       mounted read-only at /foreman/context.json
 *     out/               mounted at /foreman/out
 */
import { chmod, cp, lchown, lstat, mkdir, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { copyTree, forEachLimited, listTree, WALK_IN_FLIGHT } from "./file-tree.js";
import { runGit } from "./git.js";
import type { JobPaths } from "./job-spec.js";
import { mountOverlay, unmountUnder } from "./overlay-mount.js";
import { unpackTarball, type SkippedEntry } from "./tarball.js";
import { checkDiskQuota, DEFAULT_WORKSPACE_MAX_BYTES } from "./workspace-usage.js";

/** A prepared job directory. */
export interface PreparedWorkspace extends JobPaths {
  readonly jobDir: string;
  /** Host-only git directory; the agent cannot reach it, so its config and hooks are ours. */
  readonly gitDir: string;
  readonly baseCommit: string;
  readonly skippedEntries: readonly SkippedEntry[];
}

/**
 * A read-only snapshot of the prepared repository (src/agents/workspace-snapshots.ts): its layers,
 * top first, each a directory tree whose `.git` holds the base commit's objects; the job's
 * workspace is an overlay of them.
 */
export interface WorkspaceLayers {
  readonly layerDirs: readonly string[];
  readonly baseCommit: string;
  readonly skippedEntries: readonly SkippedEntry[];
}

interface PrepareWorkspaceCommon {
  readonly baseDir: string;
  readonly jobId: string;
  /** The prompt and context.json; without them, the caller writes them later (`writeJobPrompt`), before the container starts. */
  readonly prompt?: string;
  readonly promptFile?: string;
  readonly context?: unknown;
  /** The sandbox user that must be able to write the workspace and out (uid:gid). */
  readonly sandboxUser: { readonly uid: number; readonly gid: number };
  /** gitignore-style patterns kept out of the diff (agent tool state). */
  readonly excludes?: readonly string[];
  /** Time limit of each git command (HOST_COMMAND_TIMEOUT_SECONDS; default DEFAULT_HOST_COMMAND_TIMEOUT_MS). */
  readonly hostCommandTimeoutMs?: number;
  /** WORKSPACE_MAX_MB: the repository copy and its git directory may take at most this much disk (default DEFAULT_WORKSPACE_MAX_BYTES). */
  readonly maxBytes?: number;
  readonly now: Date;
}

/**
 * What a job directory is made from: the repository's tarball, unpacked and committed for this
 * job, or a snapshot built for its commit, mounted as an overlay (root only; ADR 0105).
 */
export type PrepareWorkspaceInput = PrepareWorkspaceCommon &
  (
    | { readonly tarball: Readable | Uint8Array; readonly snapshot?: undefined }
    | { readonly snapshot: WorkspaceLayers; readonly tarball?: undefined }
  );

const META_FILE = "foreman-job.json";
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Creates the job directory, unpacks the repository and records its base commit. */
export async function prepareWorkspace(input: PrepareWorkspaceInput): Promise<PreparedWorkspace> {
  if (!JOB_ID.test(input.jobId)) throw new Error(`job id "${input.jobId}" cannot be used as a directory name`);
  const jobDir = join(input.baseDir, input.jobId);
  const paths = {
    jobDir,
    gitDir: join(jobDir, "git"),
    workspaceDir: join(jobDir, "workspace"),
    promptPath: join(jobDir, input.promptFile ?? "prompt.md"),
    contextPath: join(jobDir, "context.json"),
    outDir: join(jobDir, "out"),
  };
  // 0o700: no other host user enters it; the sandbox user needs only the bind mounts (chmod: umask aside).
  await mkdir(input.baseDir, { recursive: true });
  await mkdir(jobDir, { mode: 0o700 });
  // The job file before anything else in it (a sweep knows the directory by it); the rest at once.
  await Promise.all([
    chmod(jobDir, 0o700),
    writeMeta(jobDir, { jobId: input.jobId, createdAt: input.now.toISOString(), keepUntil: null }),
  ]);
  await Promise.all([
    mkdir(paths.workspaceDir),
    mkdir(paths.outDir),
    input.prompt === undefined ? null : writeJobPrompt(paths, input.prompt, input.context),
  ]);

  if (input.snapshot !== undefined) {
    await mountSnapshot(paths, input.snapshot, input.sandboxUser, input.excludes ?? []);
    await grantSandboxWrite(paths.outDir, input.sandboxUser);
    return { ...paths, baseCommit: input.snapshot.baseCommit, skippedEntries: input.snapshot.skippedEntries };
  }
  const limit = { timeoutMs: input.hostCommandTimeoutMs };
  const { baseCommit, skippedEntries } = await commitRepository(paths.workspaceDir, input.tarball, limit);
  await writeExcludes(join(paths.workspaceDir, ".git"), input.excludes ?? []);
  // Before the copy: a repository over the limit once unpacked is refused without doubling it.
  await checkDiskQuota("it", [paths.workspaceDir], input.maxBytes ?? DEFAULT_WORKSPACE_MAX_BYTES);
  await copyTree(join(paths.workspaceDir, ".git"), paths.gitDir);

  await grantSandboxWrite(paths.workspaceDir, input.sandboxUser);
  await grantSandboxWrite(paths.outDir, input.sandboxUser);
  return { ...paths, baseCommit, skippedEntries };
}

/** Writes the job's prompt and context.json into its prepared directory (before its container starts). */
export async function writeJobPrompt(
  paths: Pick<JobPaths, "promptPath" | "contextPath">,
  prompt: string,
  context: unknown,
): Promise<void> {
  // Readable by the agent's uid through the mount; the 0700 job directory keeps everyone else out.
  await Promise.all([
    writeFile(paths.promptPath, prompt, { mode: 0o644 }),
    writeFile(paths.contextPath, `${JSON.stringify(context, null, 2)}\n`, { mode: 0o644 }),
  ]);
}

/**
 * Unpacks a repository tarball into `dir` (which must exist) and commits it as the one "Foreman
 * base" commit of a new repository in `dir/.git`; returns that commit and the entries refused.
 */
export async function commitRepository(
  dir: string,
  tarball: Readable | Uint8Array,
  limit: { readonly timeoutMs?: number | undefined },
): Promise<{ baseCommit: string; skippedEntries: SkippedEntry[] }> {
  const skippedEntries = await unpackTarball(tarball, dir);
  const repo = { cwd: dir };
  // No template: git's sample hooks and description are a dozen files more to copy, hand over and measure, for nothing.
  await runGit(repo, ["init", "--quiet", "--template=", "--initial-branch=main"], limit);
  // --force: files the repository tracks despite its .gitignore are part of the base too.
  await runGit(repo, ["add", "--all", "--force"], limit);
  // No automatic gc: with thousands of loose objects git would repack in the background, into a
  // directory being copied or removed.
  await runGit(
    repo,
    [
      "-c",
      "gc.auto=0",
      "-c",
      "maintenance.auto=false",
      "commit",
      "--quiet",
      "--allow-empty",
      "--no-verify",
      "-m",
      "Foreman base",
    ],
    limit,
  );
  const baseCommit = await readBaseCommit(dir, limit);
  return { baseCommit, skippedEntries };
}

// The commit just made, from its ref file: a fresh repository's branch is a loose ref (git's "files"
// format: no global or system config is read). One host process fewer per job: each spawn holds
// Node's event loop until the child has exec'd, 10–40 ms on a busy host, for every job at once.
async function readBaseCommit(dir: string, limit: { readonly timeoutMs?: number | undefined }): Promise<string> {
  const ref = await readFile(join(dir, ".git", "refs", "heads", "main"), "utf8").catch(() => "");
  if (/^[0-9a-f]{40}([0-9a-f]{24})?\n?$/.test(ref)) return ref.trim();
  return (await runGit({ cwd: dir }, ["rev-parse", "HEAD"], limit)).toString("utf8").trim();
}

// The workspace as an overlay of the snapshot's layers (upper and work dirs in the job directory),
// and a host-only git directory that borrows the layers' objects (alternates) with its own index.
async function mountSnapshot(
  paths: { jobDir: string; gitDir: string; workspaceDir: string },
  snapshot: WorkspaceLayers,
  owner: { uid: number; gid: number },
  excludes: readonly string[],
): Promise<void> {
  const upperDir = join(paths.jobDir, "overlay", "upper");
  const workDir = join(paths.jobDir, "overlay", "work");
  await mkdir(upperDir, { recursive: true });
  await mkdir(workDir);
  // The merged root takes the upper root's owner and mode: the sandbox user's, like the snapshot's own root.
  const top = await lstat(snapshot.layerDirs[0] ?? paths.workspaceDir);
  await chmod(upperDir, top.mode & 0o7777);
  await lchown(upperDir, owner.uid, owner.gid);
  await mountOverlay({ lowerDirs: snapshot.layerDirs, upperDir, workDir, target: paths.workspaceDir, volatile: true });

  const agentGit = join(paths.workspaceDir, ".git");
  await mkdir(join(paths.gitDir, "objects", "info"), { recursive: true });
  await mkdir(join(paths.gitDir, "refs", "heads"), { recursive: true });
  await writeFile(join(paths.gitDir, "HEAD"), "ref: refs/heads/main\n");
  await writeFile(join(paths.gitDir, "refs", "heads", "main"), `${snapshot.baseCommit}\n`);
  // Read before the agent ran: the snapshot's own files, through the fresh mount.
  await cp(join(agentGit, "config"), join(paths.gitDir, "config"));
  await cp(join(agentGit, "index"), join(paths.gitDir, "index"));
  const objectDirs = snapshot.layerDirs.map((dir) => join(dir, ".git", "objects"));
  const present = await Promise.all(
    objectDirs.map((dir) =>
      lstat(dir).then(
        () => dir,
        () => null,
      ),
    ),
  );
  await writeFile(
    join(paths.gitDir, "objects", "info", "alternates"),
    `${present.filter((dir): dir is string => dir !== null).join("\n")}\n`,
  );
  await writeExcludes(paths.gitDir, excludes);
  if (excludes.length > 0) {
    await writeExcludes(agentGit, excludes);
    await lchown(join(agentGit, "info", "exclude"), owner.uid, owner.gid);
  }
}

/**
 * Removes a job directory now, or — with `keepForMs` (e.g. after a failure) — marks it to be swept later.
 * A removal that fails part-way leaves the job file, marked due, so the next sweep tries again.
 */
export async function removeWorkspace(jobDir: string, options: { keepForMs?: number; now?: Date } = {}): Promise<void> {
  const keepForMs = options.keepForMs ?? 0;
  const now = options.now ?? new Date();
  if (keepForMs <= 0) {
    try {
      await removeJobDir(jobDir);
    } catch (error) {
      const meta = await readMeta(jobDir).catch(() => null);
      if (meta !== null) await writeMeta(jobDir, { ...meta, keepUntil: now.toISOString() }).catch(() => undefined);
      throw error;
    }
    return;
  }
  const meta = await readMeta(jobDir);
  await writeMeta(jobDir, { ...meta, keepUntil: new Date(now.getTime() + keepForMs).toISOString() });
}

/** What a sweep did: job ids removed, due but not removable (tried again next time), and directories that are not Foreman's. */
export interface SweepResult {
  readonly removed: string[];
  readonly failed: string[];
  readonly foreign: string[];
}

/**
 * Removes job directories under `baseDir` whose keep-until time has passed, and unmarked ones
 * older than `abandonedAfterMs` (left by a crash) or made before `abandonedBefore` (a restarted
 * replica's: its previous process made them and died). Directories without a job file are left alone.
 */
export async function sweepWorkspaces(
  baseDir: string,
  now: Date,
  options: { abandonedAfterMs?: number; abandonedBefore?: Date; liveJobIds?: ReadonlySet<string> } = {},
): Promise<SweepResult> {
  const abandonedAfterMs = options.abandonedAfterMs ?? 24 * 60 * 60 * 1000;
  const entries = await readdir(baseDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  const result: SweepResult = { removed: [], failed: [], foreign: [] };
  for (const entry of entries) {
    if (!entry.isDirectory() || options.liveJobIds?.has(entry.name)) continue;
    const jobDir = join(baseDir, entry.name);
    const meta = await readMeta(jobDir).catch(() => null);
    // Not ours (no readable metadata): leave it alone. Except, after a restart, an empty one made
    // before: a crash between making a job directory and writing its job file, or between removing
    // the job file and the directory, leaves one (rmdir removes only an empty directory).
    if (meta === null) {
      if (options.abandonedBefore !== undefined && (await isEmptyBefore(jobDir, options.abandonedBefore))) {
        const gone = await rmdir(jobDir).then(
          () => true,
          () => false,
        );
        if (gone) {
          result.removed.push(entry.name);
          continue;
        }
      }
      result.foreign.push(entry.name);
      continue;
    }
    const createdAt = Date.parse(meta.createdAt);
    const abandoned = options.abandonedBefore !== undefined && createdAt < options.abandonedBefore.getTime();
    const expiry =
      meta.keepUntil !== null ? Date.parse(meta.keepUntil) : abandoned ? createdAt : createdAt + abandonedAfterMs;
    if (Number.isFinite(expiry) && expiry <= now.getTime()) {
      const gone = await removeJobDir(jobDir).then(
        () => true,
        () => false,
      );
      (gone ? result.removed : result.failed).push(entry.name);
    }
  }
  return { removed: result.removed.sort(), failed: result.failed.sort(), foreign: result.foreign.sort() };
}

async function isEmptyBefore(dir: string, before: Date): Promise<boolean> {
  const [names, info] = await Promise.all([readdir(dir), lstat(dir)]).catch(() => [null, null] as const);
  return names !== null && names.length === 0 && info.mtimeMs < before.getTime();
}

// Everything but the job file first, the job file last: a removal that fails part-way is still a
// Foreman job directory, which the sweep finds and tries again.
async function removeJobDir(jobDir: string): Promise<void> {
  const names = await readdir(jobDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw error;
  });
  if (names === null) return;
  // A snapshot workspace is a mount: undone first, and never removed through (that would reach the snapshot).
  await unmountUnder(jobDir);
  for (const name of names) {
    if (name !== META_FILE) await rm(join(jobDir, name), { recursive: true, force: true });
  }
  await rm(join(jobDir, META_FILE), { force: true });
  await rmdir(jobDir);
}

interface JobMeta {
  readonly jobId: string;
  readonly createdAt: string;
  readonly keepUntil: string | null;
}

async function writeMeta(jobDir: string, meta: JobMeta): Promise<void> {
  await writeFile(join(jobDir, META_FILE), `${JSON.stringify(meta)}\n`, { mode: 0o644 });
}

async function readMeta(jobDir: string): Promise<JobMeta> {
  const parsed = JSON.parse(await readFile(join(jobDir, META_FILE), "utf8")) as Partial<JobMeta>;
  if (typeof parsed.jobId !== "string" || typeof parsed.createdAt !== "string") {
    throw new Error(`${join(jobDir, META_FILE)} is not a Foreman job file`);
  }
  return { jobId: parsed.jobId, createdAt: parsed.createdAt, keepUntil: parsed.keepUntil ?? null };
}

async function writeExcludes(gitDir: string, patterns: readonly string[]): Promise<void> {
  if (patterns.length === 0) return;
  await mkdir(join(gitDir, "info"), { recursive: true });
  await writeFile(
    join(gitDir, "info", "exclude"),
    `# agent tool state, kept out of the diff\n${patterns.join("\n")}\n`,
  );
}

/**
 * Lets the sandbox user write a tree. As root: hand it over (lchown: symlinks themselves,
 * never their targets). Otherwise chown is not allowed, so make it world-writable instead.
 */
async function grantSandboxWrite(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const entries = await listTree(dir);
  const paths = [
    dir,
    ...entries.filter((entry) => asRoot || entry.kind !== "symlink").map((entry) => join(dir, entry.path)),
  ];
  // In parallel (src/agents/file-tree.ts): one call after another, a small tree cost hundreds of ms on a busy host.
  await forEachLimited(paths, WALK_IN_FLIGHT, async (path) => {
    if (asRoot) return lchown(path, owner.uid, owner.gid);
    const stats = await lstat(path);
    await chmod(path, stats.mode | (stats.isDirectory() ? 0o777 : 0o666));
  });
}
