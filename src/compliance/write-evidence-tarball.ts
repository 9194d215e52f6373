import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { create } from "tar";
import type { ArtifactStore } from "./artifacts.js";
import type { EvidenceBundle } from "./evidence-bundle.js";

/** The folder every file of a task's tarball sits in. */
export function buildTarballRoot(taskId: string): string {
  return `foreman-evidence-${taskId}`;
}

/**
 * Write a bundle as a gzipped tar to `destination`: `<root>/evidence.json` (the bundle) and
 * `<root>/artifacts/<sha256>` for every artifact that is present and intact. The files are staged in
 * a private temporary folder, which is removed afterwards; every entry carries the bundle's time.
 */
export async function writeEvidenceTarball(
  bundle: EvidenceBundle,
  store: ArtifactStore | null,
  destination: Writable,
): Promise<void> {
  const staging = await mkdtemp(join(tmpdir(), "foreman-bundle-"));
  try {
    const root = buildTarballRoot(String(bundle.task.id ?? bundle.verification.taskId));
    await mkdir(join(staging, root, "artifacts"), { recursive: true });
    await writeFile(join(staging, root, "evidence.json"), `${JSON.stringify(bundle, null, 2)}\n`);
    for (const artifact of bundle.artifacts) {
      if (!artifact.file || !store) continue;
      // get() re-checks the hash, so a file changed since the bundle was built is not shipped.
      const bytes = await store.get(artifact.sha256);
      if (bytes) await writeFile(join(staging, root, artifact.file), bytes);
    }
    const pack = create({ gzip: true, cwd: staging, portable: true, mtime: new Date(bundle.generatedAt) }, [root]);
    await new Promise<void>((resolve, reject) => {
      pack.on("error", reject);
      destination.on("error", reject);
      destination.on("finish", resolve);
      destination.on("close", resolve);
      pack.pipe(destination);
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
