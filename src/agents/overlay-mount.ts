/**
 * Overlay mounts on the host (Linux overlayfs, root with CAP_SYS_ADMIN): a job's workspace made
 * from read-only snapshot layers without copying them (src/agents/workspace-snapshots.ts, ADR 0105).
 * `mount` and `umount` are util-linux's; the live mounts are read from /proc/self/mountinfo, so a
 * mount left by a crashed process is found and undone before anything removes the directory.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join, sep } from "node:path";

/** The directories of one overlay mount: lower layers top first, the writable upper and overlay's work dir. */
export interface OverlayLayout {
  readonly lowerDirs: readonly string[];
  readonly upperDir: string;
  readonly workDir: string;
  readonly target: string;
  /**
   * overlay's `volatile`: no sync of the whole upper file system at unmount (seconds on a host
   * that other jobs are writing to). For what a crash may lose: a job's workspace, or a layer
   * whose files the caller syncs itself.
   */
  readonly volatile?: boolean;
}

/** One mount as /proc/self/mountinfo lists it. */
export interface LiveMount {
  readonly target: string;
  readonly fsType: string;
  /** For overlay mounts: the lower layers, top first; empty otherwise. */
  readonly lowerDirs: readonly string[];
}

const ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };

/** Mounts an overlay at `target` (which must exist). */
export async function mountOverlay(layout: OverlayLayout): Promise<void> {
  for (const dir of [...layout.lowerDirs, layout.upperDir, layout.workDir]) {
    // overlay's option syntax: a ':' or ',' in a path would be read as a separator.
    if (/[:,\\]/.test(dir)) throw new Error(`"${dir}" cannot be an overlay layer (':', ',' or '\\' in its path)`);
  }
  const options = `lowerdir=${layout.lowerDirs.join(":")},upperdir=${layout.upperDir},workdir=${layout.workDir}${layout.volatile === true ? ",volatile" : ""}`;
  await run("mount", ["-t", "overlay", "overlay", "-o", options, layout.target]);
}

/**
 * Unmounts every mount at or below `dir`, deepest first. Lazy (`umount -l`): a mount still held
 * by a process is detached from the path at once, so nothing removing `dir` afterwards can reach
 * through it into a lower layer. Throws when a mount is still there afterwards.
 */
export async function unmountUnder(dir: string): Promise<void> {
  const below = (mounts: readonly LiveMount[]): LiveMount[] =>
    mounts.filter((mount) => mount.target === dir || mount.target.startsWith(`${dir}${sep}`));
  const mounted = below(await listMounts());
  if (mounted.length === 0) return;
  for (const mount of mounted.sort((a, b) => b.target.length - a.target.length)) {
    await run("umount", ["-l", mount.target]).catch(() => undefined);
  }
  const left = below(await listMounts());
  if (left.length > 0) throw new Error(`${left[0]?.target ?? dir} is still mounted and was not removed`);
}

/** Lists this mount namespace's mounts (/proc/self/mountinfo); none where there is no /proc. */
export async function listMounts(): Promise<LiveMount[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map(parseMountInfoLine);
}

// "<id> <parent> <maj:min> <root> <mount point> <options> [optional fields] - <type> <source> <super options>"
function parseMountInfoLine(line: string): LiveMount {
  const [before = "", after = ""] = line.split(" - ");
  const target = decodeOctal(before.split(" ")[4] ?? "");
  const [fsType = "", , superOptions = ""] = after.split(" ");
  const lower = /(?:^|,)lowerdir=([^,]*)/.exec(superOptions)?.[1];
  return {
    target,
    fsType,
    lowerDirs: fsType === "overlay" && lower !== undefined ? lower.split(":").map(decodeOctal) : [],
  };
}

// mountinfo writes space, tab, newline and backslash as \ooo.
function decodeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, code: string) => String.fromCharCode(Number.parseInt(code, 8)));
}

/**
 * Answers whether this process can mount an overlay under `dir`, by mounting one: root alone is
 * not enough (a container without CAP_SYS_ADMIN, a kernel without overlayfs).
 */
export async function probeOverlay(dir: string): Promise<boolean> {
  await mkdir(dir, { recursive: true });
  const root = await mkdtemp(join(dir, ".overlay-probe-"));
  const layout = {
    lowerDirs: [join(root, "lower")],
    upperDir: join(root, "upper"),
    workDir: join(root, "work"),
    target: join(root, "merged"),
    volatile: true,
  };
  try {
    for (const path of [...layout.lowerDirs, layout.upperDir, layout.workDir, layout.target]) await mkdir(path);
    await writeFile(join(root, "lower", "probe"), "");
    await mountOverlay(layout);
    const seen = await readFile(join(layout.target, "probe")).then(
      () => true,
      () => false,
    );
    await unmountUnder(layout.target);
    return seen;
  } catch {
    return false;
  } finally {
    await unmountUnder(root).catch(() => undefined);
    await rm(root, { recursive: true, force: true }).catch(() => undefined);
  }
}

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env: ENV, timeout: 60_000 }, (error, _stdout, stderr) => {
      if (error === null) resolve();
      else reject(new Error(`${command} failed: ${String(stderr).trim() || error.message}`, { cause: error }));
    });
  });
}
