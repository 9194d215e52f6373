/**
 * Downloads a repository's tarball (`GET /repos/{o}/{r}/tarball/{ref}`, which GitHub redirects to
 * codeload) to a file as it arrives, never whole into memory: larger than REPO_TARBALL_MAX_MB, or
 * slower than HOST_COMMAND_TIMEOUT_SECONDS, it is refused with a message naming the setting.
 */
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { GitHubClient } from "./octokit.js";

/** What to download, where to keep it meanwhile, and the limits. */
export interface DownloadRepoTarballParams {
  readonly owner: string;
  readonly repo: string;
  readonly ref: string;
  /** REPO_TARBALL_MAX_MB, in bytes: a larger archive is refused. */
  readonly maxBytes: number;
  /** How long the whole download may take (HOST_COMMAND_TIMEOUT_SECONDS). */
  readonly timeoutMs: number;
  /** The directory its temporary file is made in (default the system's temporary directory). */
  readonly dir?: string;
}

/**
 * Downloads the tarball to a temporary file and returns a stream over it. The file is removed
 * at once (the open stream keeps its data until it is read or destroyed), so nothing is left
 * behind whatever the caller does with the stream.
 */
export async function downloadRepoTarball(octokit: GitHubClient, params: DownloadRepoTarballParams): Promise<Readable> {
  const dir = await mkdtemp(join(params.dir ?? tmpdir(), "foreman-tarball-"));
  const file = join(dir, "repo.tar.gz");
  // One clock for the whole download, the request and its body: a stalled one does not hold the job.
  const controller = new AbortController();
  let received = 0;
  const timer = setTimeout(() => {
    controller.abort(
      new Error(
        `GitHub did not deliver the repository's archive within ${params.timeoutMs / 1000} seconds (HOST_COMMAND_TIMEOUT_SECONDS); it was stopped after ${received} bytes.`,
      ),
    );
  }, params.timeoutMs);
  try {
    const response = await octokit
      .request("GET /repos/{owner}/{repo}/tarball/{ref}", {
        owner: params.owner,
        repo: params.repo,
        ref: params.ref,
        // The body as a stream, not parsed into an ArrayBuffer.
        request: { parseSuccessResponseBody: false, signal: controller.signal },
      })
      .catch((error: unknown) => {
        throw controller.signal.aborted ? controller.signal.reason : error;
      });
    const body = response.data as unknown as WebReadableStream<Uint8Array> | null;
    const declared = Number(response.headers["content-length"] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > params.maxBytes) {
      await body?.cancel().catch(() => undefined);
      throw new Error(describeTooLarge(params.maxBytes));
    }
    const output = await open(file, "wx", 0o600);
    try {
      const reader = body?.getReader();
      const stop = (): void => void reader?.cancel(controller.signal.reason).catch(() => undefined);
      controller.signal.addEventListener("abort", stop, { once: true });
      for (let chunk = await reader?.read(); chunk !== undefined && !chunk.done; chunk = await reader?.read()) {
        if (controller.signal.aborted) break;
        received += chunk.value.length;
        if (received > params.maxBytes) {
          await reader?.cancel().catch(() => undefined);
          throw new Error(describeTooLarge(params.maxBytes));
        }
        await output.write(chunk.value);
      }
      if (controller.signal.aborted) throw controller.signal.reason;
    } finally {
      await output.close();
    }
    const handle = await open(file, "r");
    return handle.createReadStream();
  } finally {
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
  }
}

function describeTooLarge(maxBytes: number): string {
  const megabytes = Math.round((maxBytes / (1024 * 1024)) * 10) / 10;
  return `the repository's archive from GitHub is larger than ${megabytes} MB, the limit REPO_TARBALL_MAX_MB sets. This is for the operator: raise REPO_TARBALL_MAX_MB, or keep this repository away from agent jobs.`;
}
