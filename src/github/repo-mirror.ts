/**
 * A bare mirror of each repository on the runner host (`<MIRROR_DIR>/<repo id>.git`, default
 * `<DATA_DIR>/mirrors`): a job fetches only the objects it lacks, over HTTPS with the installation
 * token, and its workspace is made from `git archive` of the job's commit — the same tar stream
 * GitHub's tarball endpoint serves, so `src/agents/` unpacks it through the same checks.
 *
 * The token is handed to git for that one `git fetch` through its environment
 * (`GIT_CONFIG_COUNT`/`http.extraHeader`): never in the remote URL, never in the mirror's config
 * (the URL is given on the command line, no remote is stored), never in a container, and redacted
 * from every error. A mirror that fails `git fsck` after a failed fetch or archive is removed and
 * fetched again, never trusted. A fetch asks for the job's commit alone (`refs/foreman/<commit>`,
 * the newest FETCHED_REFS_KEPT kept as the next fetches' haves). Old and oversized mirrors are evicted (`evictMirrors`,
 * MIRROR_MAX_GB, MIRROR_MAX_AGE_DAYS; repo-mirror-eviction.ts); a mirror in use is never. The
 * mirrors' lock, metadata and sizes are repo-mirror-store.ts's; git itself, repo-mirror-git.ts's.
 */
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Readable } from "node:stream";
import { buildRedactor } from "../logging/redact.js";
import { exists, markInUse, measurePacks, removeMirror, withLock, writeMeta } from "./repo-mirror-store.js";
import { basicAuthOf, runMirrorGit, spawnArchive } from "./repo-mirror-git.js";

export {
  chooseMirrorsToEvict,
  evictMirrors,
  listMirrors,
  type MirrorEntry,
  type MirrorEvictionLimits,
} from "./repo-mirror-eviction.js";

/** Where one repository's mirror is and how to fetch into it. */
export interface RepoMirrorParams {
  /** MIRROR_DIR: the directory every mirror is kept in. */
  readonly mirrorsDir: string;
  /** GitHub's repository id: stable across renames, so the mirror's name. */
  readonly repoId: number;
  /** The repository's HTTPS clone URL, e.g. https://github.com/o/r.git (no credentials in it). */
  readonly remoteUrl: string;
  /** Gets the installation token, only when a fetch is needed. */
  readonly token: () => Promise<string>;
  /** The commit the job needs. */
  readonly commit: string;
  /** Time limit of each git command (HOST_COMMAND_TIMEOUT_SECONDS). */
  readonly timeoutMs: number;
  readonly now: Date;
}

/** What making a job's archive took: whether git fetched, whether the mirror was rebuilt, and the pack bytes it added. */
export interface MirrorFetchReport {
  readonly fetched: boolean;
  readonly rebuilt: boolean;
  readonly packBytesAdded: number;
}

/** The job's commit as a tar stream (top-level directory `repo/`), and what it took. */
export interface MirrorArchive {
  readonly archive: Readable;
  readonly report: MirrorFetchReport;
}

const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The mirror directory of a repository. */
export function mirrorPathOf(mirrorsDir: string, repoId: number): string {
  return join(mirrorsDir, `${repoId}.git`);
}

/**
 * Makes sure the mirror holds `commit` (fetching only what it lacks; rebuilding a corrupt mirror)
 * and returns `git archive` of it. The mirror counts as in use until the archive stream closes.
 */
export async function openMirrorArchive(params: RepoMirrorParams): Promise<MirrorArchive> {
  if (!COMMIT.test(params.commit)) throw new Error(`"${params.commit}" is not a full commit id`);
  const gitDir = mirrorPathOf(params.mirrorsDir, params.repoId);
  const report = await withLock(gitDir, () => ensureCommit(gitDir, params));
  markInUse(gitDir, 1);
  const archive = spawnArchive(gitDir, params.commit, params.timeoutMs, () => {
    // An archive git could not write: the mirror is checked, and removed if broken, before anyone trusts it again.
    void withLock(gitDir, async () => {
      if (!(await isSound(gitDir, params.timeoutMs))) await removeMirror(gitDir);
    }).catch(() => undefined);
  });
  archive.once("close", () => markInUse(gitDir, -1));
  return { archive, report };
}

/** The mirror's side of a snapshot build: its git directory and `git archive` of any commit it holds. */
export interface MirrorReader {
  readonly gitDir: string;
  readonly archive: (commit: string) => Promise<Readable>;
  readonly report: MirrorFetchReport;
}

/**
 * Makes sure the mirror holds `commit`, like openMirrorArchive, then lets `work` read the mirror
 * (a workspace snapshot is built from it); the mirror counts as in use until `work` settles.
 */
export async function readMirrorCommit<T>(
  params: RepoMirrorParams,
  work: (mirror: MirrorReader) => Promise<T>,
): Promise<T> {
  if (!COMMIT.test(params.commit)) throw new Error(`"${params.commit}" is not a full commit id`);
  const gitDir = mirrorPathOf(params.mirrorsDir, params.repoId);
  const report = await withLock(gitDir, () => ensureCommit(gitDir, params));
  markInUse(gitDir, 1);
  try {
    const archive = (commit: string): Promise<Readable> =>
      Promise.resolve(
        spawnArchive(gitDir, commit, params.timeoutMs, () => {
          void withLock(gitDir, async () => {
            if (!(await isSound(gitDir, params.timeoutMs))) await removeMirror(gitDir);
          }).catch(() => undefined);
        }),
      );
    return await work({ gitDir, archive, report });
  } finally {
    markInUse(gitDir, -1);
  }
}

async function ensureCommit(gitDir: string, params: RepoMirrorParams): Promise<MirrorFetchReport> {
  await mkdir(params.mirrorsDir, { recursive: true, mode: 0o700 });
  const fresh = !(await exists(join(gitDir, "HEAD")));
  if (fresh) await createMirror(gitDir, params.timeoutMs);
  await writeMeta(gitDir, { repoId: params.repoId, lastUsedAt: params.now.toISOString() });
  if (!fresh && (await hasCommit(gitDir, params.commit, params.timeoutMs)))
    return { fetched: false, rebuilt: false, packBytesAdded: 0 };
  const before = fresh ? 0 : await measurePacks(gitDir);
  try {
    await fetchInto(gitDir, params);
    return { fetched: true, rebuilt: false, packBytesAdded: (await measurePacks(gitDir)) - before };
  } catch (error) {
    // A fetch can fail for the network's reasons; only a mirror git itself finds broken is rebuilt.
    if (fresh || (await isSound(gitDir, params.timeoutMs))) throw error;
    await rebuildMirror(gitDir, params);
    return { fetched: true, rebuilt: true, packBytesAdded: await measurePacks(gitDir) };
  }
}

/** Removes a mirror and fetches it again from scratch. */
async function rebuildMirror(gitDir: string, params: RepoMirrorParams): Promise<void> {
  await removeMirror(gitDir);
  await createMirror(gitDir, params.timeoutMs);
  await writeMeta(gitDir, { repoId: params.repoId, lastUsedAt: params.now.toISOString() });
  await fetchInto(gitDir, params);
}

async function createMirror(gitDir: string, timeoutMs: number): Promise<void> {
  // Into a temporary name, then renamed: a half-made mirror is never taken for one.
  const making = `${gitDir}.making`;
  await rm(making, { recursive: true, force: true });
  await runMirrorGit(["init", "--quiet", "--bare", making], { timeoutMs });
  await runMirrorGit(["--git-dir", making, "config", "gc.auto", "0"], { timeoutMs });
  await rename(making, gitDir);
}

async function fetchInto(gitDir: string, params: RepoMirrorParams): Promise<void> {
  const token = await params.token();
  const redact = buildRedactor([token, basicAuthOf(token)]);
  const env = {
    // For this one command only: git reads config from the environment, nothing is written.
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "http.extraHeader",
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basicAuthOf(token)}`,
  };
  // Only the job's commit, wanted by id: git then skips listing the remote's refs (one round trip
  // fewer), and no other branch's new objects come over. Its ref keeps it, and makes it one of the
  // next fetch's haves (only what is new since comes over). No maintenance after it: nothing
  // repacks the mirror while a snapshot is read from it (gc.auto is 0 in its config already).
  await runMirrorGit(
    [
      "-c",
      "maintenance.auto=false",
      "--git-dir",
      gitDir,
      "fetch",
      "--quiet",
      "--no-tags",
      "--no-write-fetch-head",
      params.remoteUrl,
      `+${params.commit}:${FETCHED_REFS}${params.commit}`,
    ],
    { timeoutMs: params.timeoutMs, env, redact },
  );
  await pruneFetchedRefs(gitDir, params.timeoutMs);
}

/** Where each fetched commit's ref is: `refs/foreman/<commit>`. */
const FETCHED_REFS = "refs/foreman/";
/** Fetched commits' refs kept (the newest): haves enough for any recent branch; more only slow the negotiation. */
export const FETCHED_REFS_KEPT = 32;

// Once the refs pass twice the number kept (a readdir per fetch; a prune once in FETCHED_REFS_KEPT
// fetches), all but the newest are deleted. Their objects stay: nothing in a mirror is pruned.
async function pruneFetchedRefs(gitDir: string, timeoutMs: number): Promise<void> {
  const names = await readdir(join(gitDir, FETCHED_REFS)).catch(() => []);
  if (names.length <= 2 * FETCHED_REFS_KEPT) return;
  const listed = await runMirrorGit(
    ["--git-dir", gitDir, "for-each-ref", "--sort=-committerdate", "--format=%(refname)", FETCHED_REFS],
    { timeoutMs },
  );
  const old = listed.toString("utf8").split("\n").filter(Boolean).slice(FETCHED_REFS_KEPT);
  await runMirrorGit(["--git-dir", gitDir, "update-ref", "--stdin"], {
    timeoutMs,
    input: old.map((ref) => `delete ${ref}\n`).join(""),
  });
}

async function hasCommit(gitDir: string, commit: string, timeoutMs: number): Promise<boolean> {
  return runMirrorGit(["--git-dir", gitDir, "cat-file", "-e", `${commit}^{commit}`], { timeoutMs }).then(
    () => true,
    () => false,
  );
}

async function isSound(gitDir: string, timeoutMs: number): Promise<boolean> {
  return runMirrorGit(["--git-dir", gitDir, "fsck", "--no-progress", "--no-dangling"], { timeoutMs }).then(
    () => true,
    () => false,
  );
}

/** Checks a mirror with `git fsck`; a mirror that fails is removed, to be fetched again by the next job. */
export async function verifyMirror(mirrorsDir: string, repoId: number, timeoutMs: number): Promise<boolean> {
  const gitDir = mirrorPathOf(mirrorsDir, repoId);
  return withLock(gitDir, async () => {
    if (await isSound(gitDir, timeoutMs)) return true;
    await removeMirror(gitDir);
    return false;
  });
}
