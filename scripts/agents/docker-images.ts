/**
 * The Docker Engine API calls of the offline image build (dockerode, no docker CLI): find an image
 * by its inputs hash, import a root tarball, build a Dockerfile with the classic builder, tag.
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type Docker from "dockerode";
import { create as createTar } from "tar";
import { IMAGE_LABELS } from "./agent-images.js";

/** What the daemon reports while importing or building. */
interface ProgressEvent {
  readonly stream?: string;
  readonly status?: string;
  readonly error?: string;
  readonly errorDetail?: { readonly message?: string };
  readonly aux?: { readonly ID?: string };
}

/** Returns the id (`sha256:…`) of the image of `repository` labelled with this inputs hash, if there is one. */
export async function findImageByInputs(
  docker: Docker,
  repository: string,
  inputsHash: string,
): Promise<string | null> {
  const images = await docker.listImages({
    filters: JSON.stringify({ reference: [repository], label: [`${IMAGE_LABELS.inputsHash}=${inputsHash}`] }),
  });
  return images[0]?.Id ?? null;
}

/** Returns an image's id and labels, or null when the daemon has no image by that reference. */
export async function inspectImage(
  docker: Docker,
  reference: string,
): Promise<{ id: string; labels: Record<string, string> } | null> {
  try {
    const info = await docker.getImage(reference).inspect();
    return { id: info.Id, labels: info.Config?.Labels ?? {} };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return null;
    throw error;
  }
}

/** Points `repository:tag` at the image `id` (moving the tag if it named another image). */
export async function tagImage(docker: Docker, id: string, repository: string, tag: string): Promise<void> {
  await docker.getImage(id).tag({ repo: repository, tag });
}

/**
 * Imports a file system tarball (a path, or a stream of one) as `repository:tag`
 * (`POST /images/create?fromSrc=-`) with the given Dockerfile instructions (`LABEL …`), and returns
 * the new image's id.
 */
export async function importTarball(
  docker: Docker,
  source: string | NodeJS.ReadableStream,
  target: { repository: string; tag: string; changes: readonly string[] },
): Promise<string> {
  const tarball = typeof source === "string" ? createReadStream(source) : source;
  const stream = (await docker.importImage(tarball, {
    repo: target.repository,
    tag: target.tag,
    changes: [...target.changes],
  } as Record<string, unknown>)) as NodeJS.ReadableStream;
  const events = await followProgress(docker, stream);
  const failure = events.find((event) => event.error !== undefined);
  if (failure !== undefined) throw new Error(`the daemon refused the import: ${describeFailure(failure)}`);
  const image = await inspectImage(docker, `${target.repository}:${target.tag}`);
  if (image === null) throw new Error(`the import reported success but ${target.repository}:${target.tag} is missing`);
  return image.id;
}

/** A Dockerfile build through the Engine API's classic builder. */
export interface DockerfileBuild {
  /** The folder sent as the build context. */
  readonly contextDir: string;
  /** The context's entries (relative to `contextDir`), `Dockerfile` among them. */
  readonly entries: readonly string[];
  /** Every `repository:tag` the image gets. */
  readonly tags: readonly string[];
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** Do not use the daemon's build cache. */
  readonly noCache: boolean;
}

/** Builds an image (`POST /build`, classic builder, never pulling) and returns its id, or throws with the build's last output. */
export async function buildDockerfile(docker: Docker, build: DockerfileBuild): Promise<string> {
  const context = Readable.from(createTar({ cwd: build.contextDir, portable: true }, [...build.entries]));
  const stream = (await docker.buildImage(context, {
    t: [...build.tags],
    buildargs: { ...build.buildArgs },
    labels: { ...build.labels },
    nocache: build.noCache,
    rm: true,
    forcerm: true,
    pull: false,
    version: "1",
  } as unknown as Docker.ImageBuildOptions)) as NodeJS.ReadableStream;
  const events = await followProgress(docker, stream);
  const output = events
    .map((event) => event.stream ?? "")
    .join("")
    .trimEnd()
    .split("\n");
  const failure = events.find((event) => event.error !== undefined);
  if (failure !== undefined) {
    const tail = output
      .slice(-20)
      .map((line) => `    ${line}`)
      .join("\n");
    throw new Error(`${describeFailure(failure)}\n  last build output:\n${tail}`);
  }
  // A multi-stage build reports an id for each stage's base too: the image built is the last one.
  const id = events.map((event) => event.aux?.ID).findLast((found) => found !== undefined);
  if (id === undefined) throw new Error("the daemon finished the build without reporting an image id");
  for (const tag of build.tags) {
    const tagged = await inspectImage(docker, tag);
    if (tagged?.id !== id) throw new Error(`the build reported ${id}, but ${tag} is ${tagged?.id ?? "missing"}`);
  }
  return id;
}

function describeFailure(event: ProgressEvent): string {
  return (event.errorDetail?.message ?? event.error ?? "unknown error").trim();
}

async function followProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, events: ProgressEvent[]) =>
      error ? reject(error) : resolve(events),
    );
  });
}

/**
 * Removes the images an earlier offline build made that no tag names any more (dangling, with the
 * build's inputs-hash label), and returns their ids. Never forced: an image a container uses stays.
 */
export async function removeSupersededImages(docker: Docker): Promise<string[]> {
  const images = await docker.listImages({
    filters: JSON.stringify({ dangling: ["true"], label: [IMAGE_LABELS.inputsHash] }),
  });
  const removed: string[] = [];
  for (const image of images) {
    try {
      await docker.getImage(image.Id).remove();
      removed.push(image.Id);
    } catch (error) {
      // 409: a container (running or not) still uses it. Leave it.
      if ((error as { statusCode?: number }).statusCode !== 409) throw error;
    }
  }
  return removed;
}
