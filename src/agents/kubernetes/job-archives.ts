/**
 * The job-scoped archives by which a Kubernetes job's files travel without a GitHub token or
 * any Foreman credential in the pod: for each job, two random single-use tokens (download,
 * upload) that expire, the repository copy packed for the pod's init container, and the
 * archive the pod's return sidecar uploads unpacked back into the job's host directory, so that
 * diff collection and the guardrails read it exactly as they read a Docker job's bind mount.
 *
 * Held in this process: the pod reaches the replica that started it (KUBERNETES_FOREMAN_URL is
 * that replica's own address), and a job whose replica died is requeued and its Job reaped.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { c as pack, x as extract } from "tar";
import type { JobPaths } from "../job-spec.js";

/** A job's two tokens, for its Secret. */
export interface JobArchiveTokens {
  readonly download: string;
  readonly upload: string;
}

/** What the archive endpoints answer: done, or refused (never says whether the job exists). */
export type ArchiveAnswer = { readonly ok: true } | { readonly ok: false; readonly status: 404 | 413 | 400 };

/** How long tokens live, and how large an upload may be. */
export interface JobArchiveOptions {
  /** The clock the expiries are computed and compared on (one clock per decision). */
  readonly now: () => number;
  /** The download token's life: the pod must start within it. */
  readonly downloadTtlMs: number;
  /** Added to the job's own time limit for the upload token's life. */
  readonly uploadGraceMs: number;
  /** The largest upload accepted (WORKSPACE_MAX_MB). */
  readonly maxUploadBytes: number;
  /** Token source (tests may fix it); default 32 random bytes, base64url. */
  readonly createToken?: () => string;
}

interface OpenArchive {
  readonly files: JobPaths;
  download: { token: string; expiresAt: number } | null;
  upload: { token: string; expiresAt: number } | null;
  readonly returned: Promise<void>;
  markReturned: () => void;
}

/** Issues, checks and spends the archive tokens of this replica's Kubernetes jobs. */
export class JobArchives {
  private readonly open = new Map<string, OpenArchive>();
  private readonly createToken: () => string;

  constructor(private readonly options: JobArchiveOptions) {
    this.createToken = options.createToken ?? (() => randomBytes(32).toString("base64url"));
  }

  /** Opens a job's archives; opening it again (a retried start) issues fresh tokens for the same files. */
  openJob(jobId: string, files: JobPaths, timeoutMs: number): JobArchiveTokens {
    const now = this.options.now();
    const tokens = { download: this.createToken(), upload: this.createToken() };
    let markReturned = (): void => undefined;
    const returned = new Promise<void>((resolve) => {
      markReturned = resolve;
    });
    const previous = this.open.get(jobId);
    this.open.set(jobId, {
      files,
      download: { token: tokens.download, expiresAt: now + this.options.downloadTtlMs },
      upload: { token: tokens.upload, expiresAt: now + timeoutMs + this.options.uploadGraceMs },
      returned: previous?.returned ?? returned,
      markReturned: previous?.markReturned ?? markReturned,
    });
    return tokens;
  }

  /** Forgets a job: its tokens stop working. */
  closeJob(jobId: string): void {
    this.open.delete(jobId);
  }

  /** Settles once the job's files came back, or rejects after `timeoutMs` (the sidecar never sent them). */
  async waitForReturn(jobId: string, timeoutMs: number): Promise<boolean> {
    const archive = this.open.get(jobId);
    if (archive === undefined) return false;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const done = await Promise.race([archive.returned.then(() => true as const), late]);
    clearTimeout(timer);
    return done;
  }

  /** Spends the download token and returns the job's files packed for the pod, or null when refused. */
  async takeDownload(jobId: string, token: string): Promise<Readable | null> {
    const archive = this.open.get(jobId);
    if (archive === undefined || !this.spend(archive, "download", token)) return null;
    return packJobFiles(archive.files);
  }

  /** Spends the upload token and unpacks the uploaded archive into the job's host directory. */
  async receiveUpload(jobId: string, token: string, body: Readable): Promise<ArchiveAnswer> {
    const archive = this.open.get(jobId);
    if (archive === undefined || !this.spend(archive, "upload", token)) return { ok: false, status: 404 };
    const unpacked = await unpackReturnedFiles(archive.files, body, this.options.maxUploadBytes);
    if (unpacked.ok) archive.markReturned();
    return unpacked;
  }

  private spend(archive: OpenArchive, kind: "download" | "upload", token: string): boolean {
    const issued = archive[kind];
    if (issued === null || this.options.now() >= issued.expiresAt || !sameSecret(token, issued.token)) return false;
    // Single use: spent even if what follows fails.
    archive[kind] = null;
    return true;
  }
}

/**
 * Packs the job directory as the pod unpacks it under /foreman: the prompt, context.json and
 * `workspace/…` (the mount points themselves are left out: the pod's volumes are already there).
 */
export async function packJobFiles(files: JobPaths): Promise<Readable> {
  const jobDir = dirname(files.workspaceDir);
  const top = basename(files.workspaceDir);
  // The workspace's children, not the directory itself (node-tar's filter would skip its contents too).
  const children = (await readdir(files.workspaceDir)).map((name) => `${top}/${name}`);
  const entries = [basename(files.promptPath), basename(files.contextPath), ...children];
  return pack({ cwd: jobDir, portable: true }, entries) as unknown as Readable;
}

const RETURNED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink"]);
const top = new Set(["workspace", "out"]);

/**
 * Unpacks what the pod sent back (`workspace/…`, `out/…`) in place of the host's workspace and out
 * directories. Only files, directories and symlinks under those two; node-tar refuses absolute
 * paths, `..` and writes through links. What the agent's links point to is the guardrails' to judge.
 */
export async function unpackReturnedFiles(files: JobPaths, body: Readable, maxBytes: number): Promise<ArchiveAnswer> {
  const staging = join(dirname(files.workspaceDir), "returned");
  const received = join(dirname(files.workspaceDir), "returned.tar");
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { mode: 0o700 });
  let bytes = 0;
  let tooLarge = false;
  const counter = new Transform({
    // Past the limit the rest is read and dropped (the client gets its answer, not a reset), then refused.
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > maxBytes) tooLarge = true;
      callback(null, tooLarge ? undefined : chunk);
    },
  });
  const discard = async (status: 400 | 413): Promise<ArchiveAnswer> => {
    await rm(staging, { recursive: true, force: true });
    await rm(received, { force: true });
    return { ok: false, status };
  };
  // The whole body is read to a file first, then unpacked: a request stream piped into an unpacker
  // that fails half-way could be left neither read nor answered (seen under load).
  try {
    await pipeline(body, counter, createWriteStream(received, { mode: 0o600 }));
  } catch {
    return discard(400);
  }
  if (tooLarge) return discard(413);
  try {
    await extract({
      file: received,
      cwd: staging,
      strict: true,
      preserveOwner: false,
      filter: (path, entry) => {
        const first = path.split("/").find((part) => part !== "" && part !== ".") ?? "";
        return top.has(first) && RETURNED_TYPES.has((entry as { type?: string }).type ?? "");
      },
    });
  } catch {
    return discard(400);
  }
  await rm(received, { force: true });
  await mkdir(join(staging, "workspace"), { recursive: true });
  await mkdir(join(staging, "out"), { recursive: true });
  await rm(files.workspaceDir, { recursive: true, force: true });
  await rm(files.outDir, { recursive: true, force: true });
  await rename(join(staging, "workspace"), files.workspaceDir);
  await rename(join(staging, "out"), files.outDir);
  await rm(staging, { recursive: true, force: true });
  return { ok: true };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
