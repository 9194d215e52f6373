import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import nock from "nock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { downloadRepoTarball } from "../../../src/github/download-repo-tarball.js";
import { API, buildTestOctokit, REPO_PATH } from "./pipeline-fixtures.js";

const MiB = 1024 * 1024;
const CODELOAD = "https://codeload.github.com";

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

describe("downloadRepoTarball", () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "foreman-download-"));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const download = (maxBytes: number, timeoutMs = 60_000) =>
    downloadRepoTarball(buildTestOctokit(), { owner: "acme", repo: "api", ref: "abc123", maxBytes, timeoutMs, dir });

  it("follows GitHub's redirect and streams the archive through a file it leaves nothing of", async () => {
    const archive = randomBytes(3 * MiB);
    nock(API)
      .get(`${REPO_PATH}/tarball/abc123`)
      .reply(302, "", { location: `${CODELOAD}/acme/api/legacy.tar.gz/abc123` });
    nock(CODELOAD)
      .get("/acme/api/legacy.tar.gz/abc123")
      .reply(200, () => archive, { "content-type": "application/x-gzip" });
    const stream = await download(4 * MiB);
    // The temporary file is gone already: the open stream alone holds its data.
    expect(await readdir(dir)).toEqual([]);
    expect((await readAll(stream)).equals(archive)).toBe(true);
  });

  it("refuses an archive over REPO_TARBALL_MAX_MB as it arrives, naming the setting, and keeps nothing", async () => {
    // No content-length: GitHub streams archives chunked, so the cap must hold while reading.
    const body = new PassThrough();
    body.end(randomBytes(3 * MiB));
    nock(API)
      .get(`${REPO_PATH}/tarball/abc123`)
      .reply(200, () => body, { "content-type": "application/x-gzip", "transfer-encoding": "chunked" });
    await expect(download(2 * MiB)).rejects.toThrow(
      "the repository's archive from GitHub is larger than 2 MB, the limit REPO_TARBALL_MAX_MB sets. This is for the operator: raise REPO_TARBALL_MAX_MB, or keep this repository away from agent jobs.",
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses an archive whose declared length is over the limit without reading it", async () => {
    nock(API)
      .get(`${REPO_PATH}/tarball/abc123`)
      .reply(200, () => randomBytes(2 * MiB), { "content-length": String(2 * MiB) });
    await expect(download(MiB)).rejects.toThrow("larger than 1 MB, the limit REPO_TARBALL_MAX_MB sets");
    expect(await readdir(dir)).toEqual([]);
  });

  it("stops a download that stalls, after the configured time, naming HOST_COMMAND_TIMEOUT_SECONDS", async () => {
    // A body that starts and never ends.
    const body = new PassThrough();
    body.write(Buffer.alloc(1024));
    nock(API)
      .get(`${REPO_PATH}/tarball/abc123`)
      .reply(200, () => body, { "content-type": "application/x-gzip", "transfer-encoding": "chunked" });
    await expect(download(MiB, 200)).rejects.toThrow(
      /^GitHub did not deliver the repository's archive within 0\.2 seconds \(HOST_COMMAND_TIMEOUT_SECONDS\); it was stopped after \d+ bytes\.$/,
    );
    body.destroy();
    expect(await readdir(dir)).toEqual([]);
  });
});
