/**
 * `npm run images:build`: builds every agent image Foreman ships, offline and idempotently, on the
 * Docker daemon DOCKER_HOST points at (default /var/run/docker.sock). See docs/agents.md, "Agent
 * images", and docs/adr/0101-offline-agent-images.md.
 *
 *   foreman-agents/base          debootstrap --variant=minbase root (bash, git, ripgrep, ca-certificates) + user agent 1000:1000
 *   foreman-agents/node          base + the host's node binary
 *   foreman-agents/claude-code   base + Claude Code (native binary), from scripts/agents/claude-code/package-lock.json
 *   foreman-agents/codex         base + Codex (native binary), from scripts/agents/codex/package-lock.json
 *   foreman-agents/gemini-cli    node + Gemini CLI (JavaScript), from scripts/agents/gemini-cli/package-lock.json
 *   foreman-agents/opencode      base + opencode (native binary), from scripts/agents/opencode/package-lock.json
 *   foreman-agents/egress-proxy  its own minbase root with Debian's squid
 *
 * Nothing is downloaded inside a container: Debian packages come from debootstrap on the host, npm
 * packages from `npm ci` on the host, and each image is a classic-builder `docker build` of the
 * Dockerfile in scripts/agents/<name>/ (the same file a site with a registry builds). Roots and npm
 * trees are cached under FOREMAN_IMAGES_CACHE (default ~/.cache/foreman-images) by a hash of their
 * inputs; an image whose inputs hash is unchanged is not built again.
 *
 * Usage: npx tsx scripts/agents/build-images.ts [--only name[,name…]] [--no-cache] [--cache-dir DIR]
 * Needs root when a debootstrap root has to be made (a cold cache).
 */
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, realpath, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import Docker from "dockerode";
import { create as createTar } from "tar";
import { dockerOptionsFromHost } from "../../src/agents/docker-runner.js";
import {
  AGENT_IMAGES_DIR,
  CLI_IMAGES,
  IMAGE_LABELS,
  SHIPPED_IMAGE_NAMES,
  buildImageRepository,
  formatVersionTag,
  readDockerfilePackages,
  readPinnedVersion,
  type CliImage,
} from "./agent-images.js";
import { BuildStepError, logProgress, runStep } from "./build-steps.js";
import { buildRootfsInputs, computeRootfsHash, ensureRootfsTarball, type RootfsInputs } from "./debootstrap-roots.js";
import {
  buildDockerfile,
  findImageByInputs,
  importTarball,
  inspectImage,
  removeSupersededImages,
  tagImage,
} from "./docker-images.js";
import { computeLockHash, ensureNpmInstall } from "./npm-installs.js";

/** Bump when the way images are assembled changes, so every image is built again. */
const BUILD_RECIPE = 1;

/** Intermediate images: the imported roots and the host's node binary (not shipped, but kept for the cache). */
const ROOTFS_REPOSITORY = buildImageRepository("rootfs");
const NODE_DIST_REPOSITORY = buildImageRepository("node-dist");

interface BuildContext {
  readonly docker: Docker;
  readonly cacheDir: string;
  readonly noCache: boolean;
}

/** One image the build produced or found up to date. */
interface ImageResult {
  readonly name: string;
  /** Full references: `foreman-agents/<name>:latest` and `foreman-agents/<name>:<version>`. */
  readonly tags: readonly string[];
  readonly version: string;
  readonly id: string;
  readonly status: "built" | "up to date";
  readonly cli: string;
  readonly cliVersion: string;
}

/** An image built from scripts/agents/<name>/Dockerfile. */
interface DockerfileRecipe {
  readonly name: string;
  /** The folder sent as the build context, or how to make it (called only when the image is built). */
  readonly contextDir: string | (() => Promise<string>);
  readonly entries: readonly string[];
  readonly buildArgs: Readonly<Record<string, string>>;
  /** The version in the image's second tag. */
  readonly version: string;
  readonly cli: string;
  readonly cliVersion: string;
  /** Inputs not in the Dockerfile or the build args (a lock file's hash). */
  readonly extraInputs?: Readonly<Record<string, string>>;
}

interface BuildOptions {
  readonly cacheDir: string;
  readonly noCache: boolean;
  readonly only: ReadonlySet<string> | null;
}

// Parses the command line; throws on an unknown option or image name.
function parseBuildOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BuildOptions {
  let cacheDir = env.FOREMAN_IMAGES_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "foreman-images");
  let noCache = false;
  let only: Set<string> | null = null;
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? "";
    if (arg === "--no-cache") noCache = true;
    else if (arg === "--cache-dir") cacheDir = argv[(index += 1)] ?? "";
    else if (arg === "--only") {
      only = new Set((argv[(index += 1)] ?? "").split(",").filter((name) => name !== ""));
      const unknown = [...only].filter((name) => !SHIPPED_IMAGE_NAMES.includes(name));
      if (unknown.length > 0) {
        throw new Error(`unknown image ${unknown.join(", ")}; the images are ${SHIPPED_IMAGE_NAMES.join(", ")}`);
      }
    } else throw new Error(`unknown option ${arg}; usage: build-images.ts [--only a,b] [--no-cache] [--cache-dir DIR]`);
  }
  if (cacheDir === "") throw new Error("--cache-dir needs a directory");
  return { cacheDir, noCache, only };
}

async function main(): Promise<number> {
  const started = Date.now();
  let options: BuildOptions;
  try {
    options = parseBuildOptions(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`[images] ${(error as Error).message}\n`);
    return 2;
  }
  const context: BuildContext = {
    docker: new Docker(dockerOptionsFromHost(process.env.DOCKER_HOST)),
    cacheDir: options.cacheDir,
    noCache: options.noCache,
  };
  const wanted = (name: string): boolean => options.only === null || options.only.has(name);
  const results: ImageResult[] = [];
  let egressRoot: Promise<RootfsImage> | null = null;
  try {
    await runStep(
      "Docker",
      "reaching the daemon",
      "Start a Docker daemon (sudo bash scripts/ci/setup-docker.sh) or point DOCKER_HOST at one.",
      () => context.docker.ping(),
    );
    logProgress(`cache: ${context.cacheDir}${context.noCache ? " (ignored: --no-cache)" : ""}`);
    await mkdir(context.cacheDir, { recursive: true });

    // The proxy's root needs nothing the other images make: bootstrap it while they build.
    egressRoot = wanted("egress-proxy") ? ensureEgressProxyRoot(context) : null;
    egressRoot?.catch(() => undefined);
    const needsNode = wanted("node") || CLI_IMAGES.some((image) => image.parent === "node" && wanted(image.name));
    const needsBase = needsNode || wanted("base") || CLI_IMAGES.some((image) => wanted(image.name));
    let base: ImageResult | null = null;
    let node: ImageResult | null = null;
    if (needsBase) {
      base = await buildBaseImage(context);
      if (wanted("base")) results.push(base);
    }
    if (needsNode && base !== null) {
      node = await buildNodeImage(context, base);
      if (wanted("node")) results.push(node);
    }
    for (const image of CLI_IMAGES) {
      if (!wanted(image.name) || base === null) continue;
      const parent = image.parent === "node" ? node : base;
      if (parent === null) throw new Error(`${image.name} needs foreman-agents/${image.parent}, which was not built`);
      results.push(await buildCliImage(context, image, base, parent));
    }
    if (egressRoot !== null) results.push(await buildEgressProxyImage(context, await egressRoot));
    const removed = await runStep(
      "Docker",
      "removing images earlier builds left untagged",
      "Nothing was lost: the new images are built and tagged. Check the daemon's log, then run the build again.",
      () => removeSupersededImages(context.docker),
    );
    if (removed.length > 0)
      logProgress(`removed ${removed.length} untagged image(s): superseded builds and install stages`);
  } catch (error) {
    printFailure(error, context.cacheDir);
    // Let a debootstrap still running clean up after itself rather than leave it behind.
    await egressRoot?.catch(() => undefined);
    return 1;
  }
  printSummary(results, Date.now() - started);
  return 0;
}

async function buildBaseImage(context: BuildContext): Promise<ImageResult> {
  const name = "base";
  const root = await ensureRootfsImage(context, name, buildRootfsInputs(readDockerfilePackages(name)));
  return buildImage(context, {
    name,
    contextDir: join(AGENT_IMAGES_DIR, name),
    entries: ["Dockerfile"],
    buildArgs: { ROOTFS_IMAGE: root.id, ROOTFS_HASH: root.hash, DEBIAN_VERSION: root.debianVersion },
    version: root.debianVersion,
    cli: "none",
    cliVersion: "none",
  });
}

async function buildNodeImage(context: BuildContext, base: ImageResult): Promise<ImageResult> {
  const name = "node";
  const nodeDist = await runStep(
    buildImageRepository(name),
    "importing the host's node binary",
    "The build copies the node that runs it (process.execPath); check that it is readable, and the daemon's disk space.",
    () => ensureNodeDistImage(context),
  );
  return buildImage(context, {
    name,
    contextDir: join(AGENT_IMAGES_DIR, name),
    entries: ["Dockerfile"],
    buildArgs: { BASE_IMAGE: base.id, NODE_IMAGE: nodeDist.id, NODE_VERSION: nodeDist.version },
    version: nodeDist.version,
    cli: "node",
    cliVersion: nodeDist.version,
  });
}

async function buildCliImage(
  context: BuildContext,
  image: CliImage,
  base: ImageResult,
  parent: ImageResult,
): Promise<ImageResult> {
  const repository = buildImageRepository(image.name);
  const version = readPinnedVersion(image);
  return buildImage(context, {
    name: image.name,
    // npm ci runs only when the image has to be built: an up-to-date image needs no install.
    contextDir: async () => {
      const install = await runStep(
        repository,
        `npm ci of scripts/agents/${image.name}/package-lock.json on the host`,
        `Check that https://registry.npmjs.org is reachable (log: ${join(context.cacheDir, "logs", `npm-ci-${image.name}.log`)}). ` +
          `If package.json and the lock file disagree, regenerate the lock: cd scripts/agents/${image.name} && ` +
          "npm install --package-lock-only --ignore-scripts.",
        () => ensureNpmInstall(image, { cacheDir: context.cacheDir, refresh: context.noCache }),
      );
      // The install folder is the build context: the Dockerfile joins package.json, the lock file and node_modules.
      await copyFile(join(AGENT_IMAGES_DIR, image.name, "Dockerfile"), join(install.dir, "Dockerfile"));
      return install.dir;
    },
    entries: ["Dockerfile", "package.json", "package-lock.json", "node_modules"],
    buildArgs: { BASE_IMAGE: parent.id, INSTALL_IMAGE: base.id, CLI_VERSION: version },
    version,
    cli: image.name,
    cliVersion: version,
    extraInputs: { lockHash: await computeLockHash(image) },
  });
}

async function ensureEgressProxyRoot(context: BuildContext): Promise<RootfsImage> {
  return ensureRootfsImage(context, "egress-proxy", buildRootfsInputs(readDockerfilePackages("egress-proxy")));
}

async function buildEgressProxyImage(context: BuildContext, root: RootfsImage): Promise<ImageResult> {
  const name = "egress-proxy";
  const squidVersion = root.packageVersions.squid;
  if (squidVersion === undefined) {
    throw new BuildStepError(
      buildImageRepository(name),
      "reading squid's version from the root",
      "the root's labels list no squid",
      `Check the ARG PACKAGES line of scripts/agents/${name}/Dockerfile, then run the build with --no-cache.`,
    );
  }
  return buildImage(context, {
    name,
    contextDir: join(AGENT_IMAGES_DIR, name),
    entries: ["Dockerfile"],
    buildArgs: { ROOTFS_IMAGE: root.id, ROOTFS_HASH: root.hash, SQUID_VERSION: squidVersion },
    version: squidVersion,
    cli: "squid",
    cliVersion: squidVersion,
  });
}

/** A root imported into Docker, with what its labels say about it. */
interface RootfsImage {
  readonly id: string;
  readonly hash: string;
  readonly debianVersion: string;
  readonly packageVersions: Readonly<Record<string, string>>;
}

async function ensureRootfsImage(context: BuildContext, name: string, inputs: RootfsInputs): Promise<RootfsImage> {
  const repository = buildImageRepository(name);
  const hash = computeRootfsHash(inputs);
  const tag = `${name}-${hash.slice(0, 12)}`;
  if (!context.noCache) {
    const existing = await findImageByInputs(context.docker, ROOTFS_REPOSITORY, hash);
    const found = existing === null ? null : await inspectImage(context.docker, existing);
    if (found !== null) {
      logProgress(`${name} root: ${ROOTFS_REPOSITORY}:${tag} already imported (${found.id})`);
      return { id: found.id, hash, ...readRootfsLabels(found.labels) };
    }
  }
  const tarball = await runStep(
    repository,
    "debootstrap of its root",
    `Run the build as root with http://deb.debian.org/debian reachable; the log is ${join(context.cacheDir, "logs", `debootstrap-${name}.log`)}. ` +
      "Nothing partial is kept: run it again.",
    () => ensureRootfsTarball(name, inputs, { cacheDir: context.cacheDir, refresh: context.noCache }),
  );
  const packages = Object.entries(tarball.packageVersions).map(([pkg, version]) => `${pkg}=${version}`);
  const id = await runStep(
    repository,
    `importing ${tarball.path}`,
    "Check the daemon's free disk space (docker system df) and its log, then run the build again.",
    () =>
      importTarball(context.docker, tarball.path, {
        repository: ROOTFS_REPOSITORY,
        tag,
        changes: [
          `LABEL ${IMAGE_LABELS.inputsHash}="${hash}" ${IMAGE_LABELS.debootstrapHash}="${hash}" ` +
            `${IMAGE_LABELS.debianVersion}="${tarball.debianVersion}" ${IMAGE_LABELS.rootfsPackages}="${packages.join(" ")}"`,
        ],
      }),
  );
  logProgress(`${name} root: imported as ${ROOTFS_REPOSITORY}:${tag} (${id})`);
  return { id, hash, debianVersion: tarball.debianVersion, packageVersions: tarball.packageVersions };
}

function readRootfsLabels(labels: Record<string, string>): Omit<RootfsImage, "id" | "hash"> {
  const packages = (labels[IMAGE_LABELS.rootfsPackages] ?? "").split(" ").filter((entry) => entry.includes("="));
  return {
    debianVersion: labels[IMAGE_LABELS.debianVersion] ?? "",
    packageVersions: Object.fromEntries(packages.map((entry) => entry.split("=", 2) as [string, string])),
  };
}

async function ensureNodeDistImage(context: BuildContext): Promise<{ id: string; version: string }> {
  const binary = await realpath(process.execPath);
  const version = process.version.replace(/^v/, "");
  const sha256 = createHash("sha256")
    .update(await readFile(binary))
    .digest("hex");
  const inputsHash = createHash("sha256")
    .update(JSON.stringify({ recipe: BUILD_RECIPE, node: sha256 }))
    .digest("hex");
  if (!context.noCache) {
    const existing = await findImageByInputs(context.docker, NODE_DIST_REPOSITORY, inputsHash);
    if (existing !== null) {
      logProgress(`node: ${NODE_DIST_REPOSITORY}:${version} already imported (${existing})`);
      return { id: existing, version };
    }
  }
  const staging = join(context.cacheDir, "node-dist", `${version}-${sha256.slice(0, 16)}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, "usr/local/bin"), { recursive: true });
  await copyFile(binary, join(staging, "usr/local/bin/node"));
  try {
    const id = await importTarball(
      context.docker,
      Readable.from(createTar({ cwd: staging, portable: true }, ["usr"])),
      {
        repository: NODE_DIST_REPOSITORY,
        tag: formatVersionTag(version),
        changes: [`LABEL ${IMAGE_LABELS.inputsHash}="${inputsHash}" foreman.node.sha256="${sha256}"`],
      },
    );
    logProgress(`node: imported ${binary} (v${version}) as ${NODE_DIST_REPOSITORY}:${version} (${id})`);
    return { id, version };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function buildImage(context: BuildContext, recipe: DockerfileRecipe): Promise<ImageResult> {
  const repository = buildImageRepository(recipe.name);
  const tagNames = ["latest", formatVersionTag(recipe.version)];
  const tags = tagNames.map((tag) => `${repository}:${tag}`);
  const dockerfile = await readFile(join(AGENT_IMAGES_DIR, recipe.name, "Dockerfile"));
  const inputsHash = createHash("sha256")
    .update(
      JSON.stringify({
        recipe: BUILD_RECIPE,
        name: recipe.name,
        dockerfile: createHash("sha256").update(dockerfile).digest("hex"),
        buildArgs: Object.entries(recipe.buildArgs).sort(([a], [b]) => a.localeCompare(b)),
        extraInputs: recipe.extraInputs ?? {},
      }),
    )
    .digest("hex");
  const result = { name: recipe.name, tags, version: recipe.version, cli: recipe.cli, cliVersion: recipe.cliVersion };
  if (!context.noCache) {
    const existing = await findImageByInputs(context.docker, repository, inputsHash);
    if (existing !== null) {
      for (const tag of tagNames) await tagImage(context.docker, existing, repository, tag);
      logProgress(`${recipe.name}: up to date (${existing})`);
      return { ...result, id: existing, status: "up to date" };
    }
  }
  const contextDir = typeof recipe.contextDir === "string" ? recipe.contextDir : await recipe.contextDir();
  const started = Date.now();
  logProgress(`${recipe.name}: docker build of scripts/agents/${recipe.name}/Dockerfile`);
  const id = await runStep(
    repository,
    `docker build of scripts/agents/${recipe.name}/Dockerfile`,
    `Read the build output above and fix scripts/agents/${recipe.name}/Dockerfile. Builds have no network: ` +
      "anything the image needs must come from the context or the images it is built from.",
    () =>
      buildDockerfile(context.docker, {
        contextDir,
        entries: recipe.entries,
        tags,
        buildArgs: recipe.buildArgs,
        labels: { [IMAGE_LABELS.inputsHash]: inputsHash },
        noCache: context.noCache,
      }),
  );
  logProgress(`${recipe.name}: built in ${((Date.now() - started) / 1000).toFixed(1)} s (${id})`);
  return { ...result, id, status: "built" };
}

function printSummary(results: readonly ImageResult[], elapsedMs: number): void {
  logProgress(`done in ${(elapsedMs / 1000).toFixed(1)} s`);
  for (const result of results) {
    const what = result.cli === "none" ? `Debian ${result.version}` : `${result.cli} ${result.cliVersion}`;
    process.stdout.write(`  ${result.tags.join("  ")}  ${result.id}  ${result.status}  (${what})\n`);
  }
}

function printFailure(error: unknown, cacheDir: string): void {
  if (error instanceof BuildStepError) {
    process.stderr.write(
      `[images] FAILED: ${error.image}, step: ${error.step}\n` +
        `[images] ${error.reason.split("\n").join("\n[images] ")}\n` +
        `[images] what to do: ${error.hint}\n`,
    );
    return;
  }
  process.stderr.write(
    `[images] FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n` +
      `[images] logs are in ${join(cacheDir, "logs")}\n`,
  );
}

process.exit(await main());
