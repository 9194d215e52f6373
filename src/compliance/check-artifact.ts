import { ArtifactCorruptError, type ArtifactStore } from "./artifacts.js";
import type { ArtifactStatus } from "./artifact-refs.js";

/** Read an artifact back and say whether it is there and still hashes to its address. */
export async function checkArtifact(store: ArtifactStore, sha256: string): Promise<ArtifactStatus> {
  try {
    return (await store.get(sha256)) === null ? "missing" : "ok";
  } catch (error) {
    if (error instanceof ArtifactCorruptError) return "corrupt";
    throw error;
  }
}
