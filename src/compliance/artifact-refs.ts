import { isSha256, type ArtifactRef } from "./artifacts.js";

/** Either the artifacts a record's payload references, or why its `artifacts` field is malformed. */
export type ArtifactRefs = { ok: true; refs: ArtifactRef[] } | { ok: false; problem: string };

/**
 * The artifacts a compliance record references. The one convention: a top-level `artifacts` array in
 * the payload, each item `{ sha256, kind }` (docs/compliance.md). Other fields ending in `Sha256`
 * (such as `bodySha256`) are fingerprints of content that is not stored, and are not references.
 */
export function listArtifactRefs(payload: unknown): ArtifactRefs {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return { ok: true, refs: [] };
  const field = (payload as Record<string, unknown>).artifacts;
  if (field === undefined) return { ok: true, refs: [] };
  if (!Array.isArray(field)) return { ok: false, problem: "payload.artifacts is not a list of {sha256, kind}" };
  const refs: ArtifactRef[] = [];
  for (const [index, item] of field.entries()) {
    const entry = (item ?? {}) as Record<string, unknown>;
    if (!isSha256(entry.sha256) || typeof entry.kind !== "string") {
      return { ok: false, problem: `payload.artifacts[${index}] is not {sha256: 64 lower-case hex, kind: text}` };
    }
    refs.push({ sha256: entry.sha256, kind: entry.kind });
  }
  return { ok: true, refs };
}

/** What checking one artifact found. */
export type ArtifactStatus = "ok" | "missing" | "corrupt";

/** Describe a bad artifact for a report, in plain words. */
export function describeArtifactProblem(ref: ArtifactRef, status: Exclude<ArtifactStatus, "ok">): string {
  return status === "missing"
    ? `artifact ${ref.sha256} (${ref.kind}) is missing from the artifact store`
    : `artifact ${ref.sha256} (${ref.kind}) has been changed: its bytes no longer hash to ${ref.sha256}`;
}
