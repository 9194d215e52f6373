// Checks of a Compose file that `docker compose config` would not make: images pinned to exact
// versions, and every file it names from the repository present. Shared by the tests of
// deploy/docker-compose.yml.
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  env_file?: string | string[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** A bind mount of a repository path: `./x:/y[:ro]`. */
export interface BindMount {
  service: string;
  /** Absolute path on this machine. */
  source: string;
  /** Written relative to the Compose file (a repository path), not an absolute host path. */
  relative: boolean;
  target: string;
}

/**
 * Whether an image reference names one exact version: a digest, or a tag with at least
 * major.minor (`postgres:16.10`, `prom/prometheus:v3.5.0`); `latest`, no tag or a bare major is not.
 */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  if (tag === undefined) return false;
  return /^v?\d+\.\d+(\.\d+)?([-.][\w.-]+)?$/.test(tag);
}

/** Volumes that are host paths (`./…`, `../…`, or absolute), resolved against the Compose file's folder. */
export function listBindMounts(compose: ComposeFile, composeDir: string): BindMount[] {
  const mounts: BindMount[] = [];
  for (const [service, definition] of Object.entries(compose.services)) {
    for (const volume of definition.volumes ?? []) {
      const [source, target] =
        typeof volume === "string" ? volume.split(":") : volume.type === "bind" ? [volume.source, volume.target] : [];
      if (source === undefined || target === undefined) continue;
      if (!source.startsWith(".") && !isAbsolute(source)) continue; // a named volume
      mounts.push({ service, source: resolve(composeDir, source), relative: !isAbsolute(source), target });
    }
  }
  return mounts;
}

/**
 * What is wrong with a Compose file, one line each: an image not pinned (services built here
 * are exempt: their image is the local build), a repository file it names that is missing
 * (build context, Dockerfile, relative bind mounts). Absolute host paths (the Docker socket,
 * the workspace folders) and env_file (the operator's deploy/.env) are the host's, not the
 * repository's, and are not checked.
 */
export function checkCompose(compose: ComposeFile, composeDir: string): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    if (service.build === undefined) {
      if (service.image === undefined) problems.push(`${name}: neither image nor build`);
      else if (!isPinnedImage(service.image)) problems.push(`${name}: image ${service.image} is not pinned`);
    } else {
      const build = typeof service.build === "string" ? { context: service.build } : service.build;
      const context = resolve(composeDir, build.context ?? ".");
      if (!existsSync(context)) problems.push(`${name}: build context ${build.context} is missing`);
      const dockerfile = resolve(context, build.dockerfile ?? "Dockerfile");
      if (!existsSync(dockerfile)) problems.push(`${name}: Dockerfile ${build.dockerfile ?? "Dockerfile"} is missing`);
    }
  }
  for (const mount of listBindMounts(compose, composeDir)) {
    if (!mount.relative) continue;
    if (!existsSync(mount.source)) problems.push(`${mount.service}: mounted path ${mount.source} is missing`);
  }
  return problems;
}

/** The file on this machine a container path of `service` comes from, through its bind mounts (longest target first). */
export function hostPathOf(
  compose: ComposeFile,
  composeDir: string,
  service: string,
  containerPath: string,
): string | undefined {
  const mounts = listBindMounts(compose, composeDir)
    .filter((mount) => mount.service === service)
    .sort((a, b) => b.target.length - a.target.length);
  for (const mount of mounts) {
    if (containerPath === mount.target) return mount.source;
    if (containerPath.startsWith(`${mount.target}/`))
      return resolve(mount.source, containerPath.slice(mount.target.length + 1));
  }
  return undefined;
}
