/**
 * Debian root file systems made with `debootstrap --variant=minbase` on the host, kept as tarballs
 * in the cache under a hash of their inputs, so that a second build imports the same root instead
 * of bootstrapping again. Needs root and the Debian mirror; nothing here runs in a container.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import { logProgress, runCommand } from "./build-steps.js";

/** Bump when the way a root is made or cleaned changes, so cached roots are made again. */
const ROOTFS_RECIPE = 2;

/** The keys the mirror's Release file is checked against. */
const DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

/** What a root is made from; every field is part of its cache key. */
export interface RootfsInputs {
  readonly suite: string;
  readonly mirror: string;
  readonly variant: "minbase";
  readonly arch: string;
  /** Packages on top of minbase (`debootstrap --include`), in any order. */
  readonly packages: readonly string[];
}

/** A root tarball in the cache, with what was read from it when it was made. */
export interface RootfsTarball {
  readonly name: string;
  readonly path: string;
  /** The hex sha256 of the inputs (the cache key). */
  readonly hash: string;
  readonly inputs: RootfsInputs;
  /** `/etc/debian_version`, e.g. `12.15`. */
  readonly debianVersion: string;
  /** The installed version of each requested package. */
  readonly packageVersions: Readonly<Record<string, string>>;
  /** Every package in the root, `name=version`. */
  readonly manifest: readonly string[];
}

/** The Debian suite and mirror every agent image root comes from. */
export const DEBIAN_SOURCE = Object.freeze({
  suite: "bookworm",
  mirror: "http://deb.debian.org/debian",
  arch: "amd64",
});

/** Returns the inputs of a minbase root with the given extra packages. */
export function buildRootfsInputs(packages: readonly string[]): RootfsInputs {
  return { ...DEBIAN_SOURCE, variant: "minbase", packages };
}

/** Computes the cache key of a root: the sha256 of its inputs (packages sorted) and of this recipe's version. */
export function computeRootfsHash(inputs: RootfsInputs): string {
  const canonical = JSON.stringify({
    recipe: ROOTFS_RECIPE,
    suite: inputs.suite,
    mirror: inputs.mirror,
    variant: inputs.variant,
    arch: inputs.arch,
    packages: [...new Set(inputs.packages)].sort(),
  });
  return createHash("sha256").update(canonical).digest("hex");
}

/** Where to keep roots and their logs. */
export interface RootfsCache {
  readonly cacheDir: string;
  /** Make the root again even when a tarball with its key is cached. */
  readonly refresh: boolean;
}

/**
 * Returns the cached tarball of the root `name` with these inputs, or makes it: debootstrap in two
 * stages (a policy-rc.d in between, so no package starts a service on the host), clean-up, tar.
 */
export async function ensureRootfsTarball(
  name: string,
  inputs: RootfsInputs,
  cache: RootfsCache,
): Promise<RootfsTarball> {
  const hash = computeRootfsHash(inputs);
  const rootsDir = join(cache.cacheDir, "roots");
  const stem = join(rootsDir, `${name}-${hash.slice(0, 16)}`);
  const tarPath = `${stem}.tar`;
  const metaPath = `${stem}.json`;
  if (!cache.refresh && existsSync(tarPath) && existsSync(metaPath)) {
    const meta = JSON.parse(await readFile(metaPath, "utf8")) as Omit<RootfsTarball, "path">;
    logProgress(`${name} root: cached ${tarPath} (debootstrap inputs ${hash.slice(0, 12)})`);
    return { ...meta, path: tarPath };
  }

  await requireDebootstrap(join(cache.cacheDir, "logs", "apt-get.log"));
  await mkdir(rootsDir, { recursive: true });
  // One package cache per root: the roots are made at the same time, and debootstrap does not share a cache safely.
  const debsDir = join(cache.cacheDir, "debs", name);
  await mkdir(debsDir, { recursive: true });
  const logFile = join(cache.cacheDir, "logs", `debootstrap-${name}.log`);
  await rm(logFile, { force: true });
  const workDir = await mkdtemp(join(rootsDir, `tmp-${name}-`));
  const root = join(workDir, "root");
  try {
    const started = Date.now();
    logProgress(`${name} root: debootstrap ${inputs.suite} from ${inputs.mirror} with ${inputs.packages.join(", ")}`);
    await runCommand(
      "debootstrap",
      [
        `--variant=${inputs.variant}`,
        `--arch=${inputs.arch}`,
        `--include=${inputs.packages.join(",")}`,
        `--cache-dir=${debsDir}`,
        `--keyring=${DEBIAN_KEYRING}`,
        "--foreign",
        inputs.suite,
        root,
        inputs.mirror,
      ],
      { logFile },
    );
    // Maintainer scripts (squid's) must not start services while the second stage configures packages.
    await writeFile(join(root, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n");
    await chmod(join(root, "usr/sbin/policy-rc.d"), 0o755);
    await runCommand("chroot", [root, "/debootstrap/debootstrap", "--second-stage"], { logFile });
    await unmountBelow(root);
    const packageVersions = await readPackageVersions(root, inputs.packages, logFile);
    const manifest = (await readPackageVersions(root, [], logFile, true)).lines;
    await cleanRoot(root);
    const debianVersion = (await readFile(join(root, "etc/debian_version"), "utf8")).trim();
    const partialTar = join(workDir, "root.tar");
    await runCommand(
      "tar",
      ["--create", `--file=${partialTar}`, `--directory=${root}`, "--numeric-owner", "--sort=name", "."],
      { logFile },
    );
    const meta: Omit<RootfsTarball, "path"> = {
      name,
      hash,
      inputs,
      debianVersion,
      packageVersions: packageVersions.versions,
      manifest,
    };
    await writeFile(`${metaPath}.partial`, `${JSON.stringify(meta, null, 2)}\n`);
    await rename(partialTar, tarPath);
    await rename(`${metaPath}.partial`, metaPath);
    logProgress(
      `${name} root: made ${tarPath} in ${((Date.now() - started) / 1000).toFixed(1)} s (Debian ${debianVersion})`,
    );
    return { ...meta, path: tarPath };
  } finally {
    await unmountBelow(root);
    await rm(workDir, { recursive: true, force: true });
  }
}

// The roots are made at the same time, and apt-get holds a lock: the tools are installed once, by the
// first root that needs them, and the others wait for that install.
let debootstrapReady: Promise<void> | undefined;

function requireDebootstrap(logFile: string): Promise<void> {
  debootstrapReady ??= installDebootstrap(logFile);
  return debootstrapReady;
}

async function installDebootstrap(logFile: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error("debootstrap needs root: run the build as root (sudo npm run images:build)");
  }
  // Debian's keyring verifies the mirror's Release file; Debian has it, Ubuntu (GitHub's runners) may not.
  const missing = [
    ...(existsSync("/usr/sbin/debootstrap") ? [] : ["debootstrap"]),
    ...(existsSync(DEBIAN_KEYRING) ? [] : ["debian-archive-keyring"]),
  ];
  if (missing.length === 0) return;
  logProgress(`installing ${missing.join(" and ")} (apt-get install -y ${missing.join(" ")})`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await runCommand("apt-get", ["update", "-qq"], { logFile, env });
  await runCommand("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { logFile, env });
}

async function readPackageVersions(
  root: string,
  packages: readonly string[],
  logFile: string,
  all = false,
): Promise<{ versions: Record<string, string>; lines: string[] }> {
  const output = await runCommand(
    "dpkg-query",
    [
      `--admindir=${join(root, "var/lib/dpkg")}`,
      "-W",
      "--showformat=${Package}=${Version}\\n",
      ...(all ? [] : packages),
    ],
    { logFile },
  );
  const lines = output.split("\n").filter((line) => line !== "");
  const versions = Object.fromEntries(lines.map((line) => line.split("=", 2) as [string, string]));
  const missing = all ? [] : packages.filter((name) => (versions[name] ?? "") === "");
  if (missing.length > 0) throw new Error(`the root lacks ${missing.join(", ")} after debootstrap`);
  return { versions, lines };
}

// What Docker provides at run time (devices, resolv.conf, hostname) and what only made the root
// (package downloads, apt lists, logs, the policy-rc.d) is left out of the image. Directories that
// packages made stay (squid's /var/log/squid, owned by proxy): only the files in them go.
async function cleanRoot(root: string): Promise<void> {
  for (const dir of ["dev", "tmp"]) {
    for (const entry of await readdir(join(root, dir)))
      await rm(join(root, dir, entry), { recursive: true, force: true });
  }
  for (const dir of ["var/cache/apt", "var/lib/apt/lists", "var/log"]) await removeFilesBelow(join(root, dir));
  await rm(join(root, "usr/sbin/policy-rc.d"), { force: true });
  for (const file of ["etc/resolv.conf", "etc/hostname"]) {
    if (existsSync(join(root, file))) await writeFile(join(root, file), "");
  }
}

async function removeFilesBelow(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await removeFilesBelow(path);
    else await rm(path, { force: true });
  }
}

// debootstrap mounts /proc (and more) in the target; nothing below the root may stay mounted
// when it is removed.
async function unmountBelow(root: string): Promise<void> {
  const mounts = await readFile("/proc/self/mounts", "utf8");
  const below = mounts
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((point) => point === root || point.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of below) {
    await runCommand("umount", ["--lazy", point], { logFile: "/dev/null" }).catch(() => undefined);
  }
}
