/**
 * Host-side `npm ci` of an agent CLI from its committed lock file, into the build cache under a
 * hash of `package.json` and `package-lock.json`, so a second build reuses the same tree. npm checks
 * every package against the lock file's integrity hash; install scripts never run.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AGENT_IMAGES_DIR, readPinnedVersion, type CliImage } from "./agent-images.js";
import { logProgress, runCommand } from "./build-steps.js";

const DONE_MARKER = ".foreman-npm-ci-done";

/** A CLI's installed tree in the cache. */
export interface NpmInstall {
  /** Holds `package.json`, `package-lock.json` and `node_modules/`. */
  readonly dir: string;
  /** The hex sha256 of `package.json` and `package-lock.json`. */
  readonly lockHash: string;
  /** The version installed, which is the lock file's. */
  readonly version: string;
}

/** Computes the hash a CLI's install is cached under: its package.json and package-lock.json. */
export async function computeLockHash(image: CliImage): Promise<string> {
  const hash = createHash("sha256");
  for (const file of ["package.json", "package-lock.json"]) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(AGENT_IMAGES_DIR, image.name, file)));
  }
  return hash.digest("hex");
}

/** Returns the cached install of a CLI's lock file, or makes it with `npm ci --ignore-scripts` on the host. */
export async function ensureNpmInstall(
  image: CliImage,
  cache: { readonly cacheDir: string; readonly refresh: boolean },
): Promise<NpmInstall> {
  const lockHash = await computeLockHash(image);
  const version = readPinnedVersion(image);
  const installsDir = join(cache.cacheDir, "npm");
  const dir = join(installsDir, `${image.name}-${lockHash.slice(0, 16)}`);
  if (!cache.refresh && existsSync(join(dir, DONE_MARKER))) {
    logProgress(`${image.name}: cached npm ci of ${image.packageName}@${version} in ${dir}`);
    return { dir, lockHash, version };
  }
  await mkdir(installsDir, { recursive: true });
  const workDir = await mkdtemp(join(installsDir, `tmp-${image.name}-`));
  try {
    for (const file of ["package.json", "package-lock.json"]) {
      await copyFile(join(AGENT_IMAGES_DIR, image.name, file), join(workDir, file));
    }
    const started = Date.now();
    logProgress(`${image.name}: npm ci ${image.packageName}@${version} (host, --ignore-scripts)`);
    await runCommand(
      "npm",
      [
        "ci",
        "--omit=dev",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--engine-strict=false",
        `--cache=${join(cache.cacheDir, "npm-cache")}`,
      ],
      { cwd: workDir, logFile: join(cache.cacheDir, "logs", `npm-ci-${image.name}.log`) },
    );
    const installed = JSON.parse(
      await readFile(join(workDir, "node_modules", image.packageName, "package.json"), "utf8"),
    ) as { version?: string };
    if (installed.version !== version) {
      throw new Error(`npm ci installed ${image.packageName}@${installed.version}, but the lock file pins ${version}`);
    }
    await writeFile(join(workDir, DONE_MARKER), `${new Date().toISOString()}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(workDir, dir);
    logProgress(`${image.name}: npm ci done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { dir, lockHash, version };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
