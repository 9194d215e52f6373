/**
 * The agent images Foreman ships, as data: their names, what each one is built from, the user they
 * run as and the labels every image carries. Read by the offline build (`build-images.ts`) and by
 * the image test (`test/integration/agents/agent-images.test.ts`), so both agree on one definition.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** This folder: one sub-folder per image, with its Dockerfile (and, for a CLI, its npm lock file). */
export const AGENT_IMAGES_DIR = dirname(fileURLToPath(import.meta.url));

/** The repository prefix of every image built here. */
export const IMAGE_NAMESPACE = "foreman-agents";

/** The non-root user every agent image runs as. Its HOME must be a writable tmpfs at run time. */
export const AGENT_USER = Object.freeze({ name: "agent", uid: 1000, gid: 1000, home: "/home/agent" });

/** The labels on every image (the `foreman.*` ones are Foreman's own). */
export const IMAGE_LABELS = Object.freeze({
  title: "org.opencontainers.image.title",
  version: "org.opencontainers.image.version",
  /** The tool the image ships: `claude-code`, `codex`, …, `node`, `squid`, or `none` for the base. */
  cli: "foreman.agent.cli",
  /** The exact version of that tool (for an npm CLI, the version its lock file pins). */
  cliVersion: "foreman.agent.cli-version",
  /** The node binary's version, on images that have one (`foreman-agents/node` and those built on it). */
  nodeVersion: "foreman.agent.node-version",
  /** The hash of the debootstrap inputs (suite, mirror, variant, architecture, packages) of the root under the image. */
  debootstrapHash: "foreman.base.debootstrap-hash",
  /** The Debian point release of that root (`/etc/debian_version`). */
  debianVersion: "foreman.rootfs.debian-version",
  /** The versions of the packages the root was asked to include, `name=version` separated by spaces. */
  rootfsPackages: "foreman.rootfs.packages",
  /** The hash of everything the offline build made the image from; the build skips an image whose hash is unchanged. */
  inputsHash: "foreman.image.inputs-hash",
});

/** Which local image a CLI image is built on. */
export type ParentImage = "base" | "node";

/** One agent CLI image: an npm package installed from the lock file in `scripts/agents/<name>/`. */
export interface CliImage {
  /** The image's short name and folder: `foreman-agents/<name>`, `scripts/agents/<name>/`. */
  readonly name: string;
  /** The npm package whose version the lock file pins. */
  readonly packageName: string;
  /** The command the image puts on PATH (`/usr/local/bin/<command>`). */
  readonly command: string;
  /** `node` for a CLI that is JavaScript; `base` for one that ships a native binary. */
  readonly parent: ParentImage;
}

/** The CLI images, in build order. */
export const CLI_IMAGES: readonly CliImage[] = Object.freeze([
  { name: "claude-code", packageName: "@anthropic-ai/claude-code", command: "claude", parent: "base" },
  { name: "codex", packageName: "@openai/codex", command: "codex", parent: "base" },
  { name: "gemini-cli", packageName: "@google/gemini-cli", command: "gemini", parent: "node" },
  { name: "opencode", packageName: "opencode-linux-x64-baseline", command: "opencode", parent: "base" },
]);

/** The names of every image the offline build ships, in build order. */
export const SHIPPED_IMAGE_NAMES: readonly string[] = Object.freeze([
  "base",
  "node",
  ...CLI_IMAGES.map((image) => image.name),
  "egress-proxy",
]);

/** Returns the repository of a shipped image, e.g. `foreman-agents/codex`. */
export function buildImageRepository(name: string): string {
  return `${IMAGE_NAMESPACE}/${name}`;
}

/** Turns a version into a valid Docker tag (`5.7-2+deb12u4` → `5.7-2-deb12u4`). */
export function formatVersionTag(version: string): string {
  const tag = version.replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[.-]+/, "");
  return tag.slice(0, 128);
}

/** Reads the version a CLI's committed `package-lock.json` pins for its package. */
export function readPinnedVersion(image: CliImage): string {
  const lockPath = join(AGENT_IMAGES_DIR, image.name, "package-lock.json");
  const lock = JSON.parse(readFileSync(lockPath, "utf8")) as {
    packages?: Record<string, { version?: string }>;
  };
  const version = lock.packages?.[`node_modules/${image.packageName}`]?.version;
  if (version === undefined) {
    throw new Error(`${lockPath} does not pin ${image.packageName}: run npm install --package-lock-only there.`);
  }
  return version;
}

/** Reads the Debian packages a root image's Dockerfile asks for (its `ARG PACKAGES="…"` line). */
export function readDockerfilePackages(name: string): string[] {
  const dockerfilePath = join(AGENT_IMAGES_DIR, name, "Dockerfile");
  const match = /^ARG PACKAGES="([^"]*)"$/m.exec(readFileSync(dockerfilePath, "utf8"));
  if (match === null) throw new Error(`${dockerfilePath} has no line ARG PACKAGES="…".`);
  return (match[1] ?? "").split(/\s+/).filter((name) => name !== "");
}
