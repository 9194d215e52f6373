import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { SqlClient } from "../db/client.js";
import { insertArtifact } from "../db/queries/insert-artifact.js";
import { redactText } from "../logging/redact.js";

/** What was stored: the content's sha256 (lower-case hex) and its size in bytes. */
export interface StoredArtifact {
  sha256: string;
  size: number;
}

/** Content-addressed storage for evidence: the same bytes always have the same address. */
export interface ArtifactStore {
  /** Store bytes (idempotent) and return their address. */
  put(bytes: Uint8Array, kind: string): Promise<StoredArtifact>;
  /** The bytes at an address, or null when absent; throws ArtifactCorruptError if they no longer match it. */
  get(sha256: string): Promise<Buffer | null>;
  /** Whether something is stored at an address (without reading it). */
  has(sha256: string): Promise<boolean>;
}

/** Stored bytes whose sha256 is not their address: the file was changed or damaged after it was written. */
export class ArtifactCorruptError extends Error {
  constructor(
    readonly sha256: string,
    readonly actual: string,
  ) {
    super(`artifact ${sha256} does not match its content (its bytes hash to ${actual})`);
    this.name = "ArtifactCorruptError";
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Whether a string is a sha256 in the form the store uses (64 lower-case hex characters). */
export function isSha256(value: unknown): value is string {
  return typeof value === "string" && SHA256_HEX.test(value);
}

/** sha256 of bytes, lower-case hex. */
export function hashBytes(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Where artifacts live: `ARTIFACTS_DIR`, or `<DATA_DIR>/artifacts`. */
export function resolveArtifactsDir(env: { ARTIFACTS_DIR?: string | undefined; DATA_DIR: string }): string {
  return resolve(env.ARTIFACTS_DIR ?? join(env.DATA_DIR, "artifacts"));
}

/**
 * Artifacts as files under one directory, fanned out by the first two hex characters
 * (`ab/cdef…`). Writes go to a temporary file in the same directory, are flushed, then renamed
 * into place, so a reader never sees half a file and a crash leaves at most a stray temp file.
 */
export class FileArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  /** The file that holds an address. */
  pathOf(sha256: string): string {
    if (!isSha256(sha256)) throw new Error(`"${sha256}" is not a sha256 (64 lower-case hex characters)`);
    return join(this.root, sha256.slice(0, 2), sha256.slice(2));
  }

  async put(bytes: Uint8Array, _kind: string): Promise<StoredArtifact> {
    const sha256 = hashBytes(bytes);
    const path = this.pathOf(sha256);
    // Same content, same path: an existing file is never rewritten.
    if (await this.has(sha256)) return { sha256, size: bytes.byteLength };
    const dir = join(this.root, sha256.slice(0, 2));
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `.tmp-${randomBytes(8).toString("hex")}`);
    const handle = await open(temp, "wx", 0o444);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } catch (error) {
      // A full disk (ENOSPC) or a failed flush: leave nothing half-written behind.
      await handle.close();
      await rm(temp, { force: true });
      throw error;
    }
    await handle.close();
    try {
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return { sha256, size: bytes.byteLength };
  }

  async get(sha256: string): Promise<Buffer | null> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(sha256));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    const actual = hashBytes(bytes);
    if (actual !== sha256) throw new ArtifactCorruptError(sha256, actual);
    return bytes;
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await access(this.pathOf(sha256), constants.F_OK);
      return true;
    } catch {
      return false;
    }
  }
}

/** A reference from a compliance record's payload to an artifact (the `artifacts` array, see docs/compliance.md). */
export interface ArtifactRef {
  sha256: string;
  kind: string;
}

/**
 * Redact secrets from a text, then store it and record it in the `artifacts` table. Redaction comes
 * first so the hash names what is kept; the returned reference goes into a record's `artifacts` array.
 * The file is written before the row: a rolled-back transaction leaves an unreferenced file, never a
 * row without its file.
 */
export async function storeRedactedArtifact(
  store: ArtifactStore,
  sql: SqlClient,
  text: string,
  kind: string,
  secrets: readonly string[],
): Promise<ArtifactRef & { size: number }> {
  const bytes = Buffer.from(redactText(text, secrets), "utf8");
  const stored = await store.put(bytes, kind);
  await insertArtifact(sql, { sha256: stored.sha256, kind, size: stored.size });
  return { sha256: stored.sha256, kind, size: stored.size };
}
