// The archive endpoints of Kubernetes jobs over real HTTP (loopback) and real files: the pod's side
// is played by node-tar doing what the init container and the return sidecar do (unpack under
// /foreman; pack `workspace` and `out`).
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { c as pack, x as extract } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JobArchives } from "../../../src/agents/kubernetes/job-archives.js";
import { createJobArchiveRoute } from "../../../src/http/job-archive-route.js";

let root: string;
let server: Server;
let base: string;
let clock: number;
let archives: JobArchives;
let files: { workspaceDir: string; promptPath: string; contextPath: string; outDir: string };

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "foreman-archive-"));
  const jobDir = join(root, "jobs", "j1");
  files = {
    workspaceDir: join(jobDir, "workspace"),
    promptPath: join(jobDir, "prompt.md"),
    contextPath: join(jobDir, "context.json"),
    outDir: join(jobDir, "out"),
  };
  await mkdir(join(files.workspaceDir, "src"), { recursive: true });
  await mkdir(files.outDir);
  await writeFile(join(files.workspaceDir, "src", "a.txt"), "original\n");
  await writeFile(files.promptPath, "Do the thing.\n");
  await writeFile(files.contextPath, "{}\n");
  clock = 0;
  archives = new JobArchives({
    now: () => clock,
    downloadTtlMs: 60_000,
    uploadGraceMs: 60_000,
    maxUploadBytes: 64 * 1024,
  });
  const route = createJobArchiveRoute(archives);
  server = createServer((req, res) => {
    void route(req, res).then((handled) => {
      if (!handled) res.writeHead(418).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/agent-jobs/j1`;
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

// node:http, not fetch: the test setup's interceptor cannot send a fetch request body.
function send(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function download(token: string) {
  return send("GET", `${base}/workspace`, bearer(token));
}

async function upload(headers: Record<string, string>, body: string | Buffer) {
  return send("POST", `${base}/result`, headers, body);
}

// Unpacks the download as the init container does, under a stand-in for /foreman.
async function unpackAsPod(response: { body: Buffer }): Promise<string> {
  const pod = join(root, "pod");
  await mkdir(join(pod, "workspace"), { recursive: true });
  await mkdir(join(pod, "out"), { recursive: true });
  await pipeline(Readable.from([response.body]), extract({ cwd: pod }));
  return pod;
}

async function packAsSidecar(pod: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of pack({ cwd: pod, portable: true }, ["workspace", "out"]) as unknown as Readable) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

describe("the job archive endpoints", () => {
  it("hand the pod its files once, and take its changes back once, into the host's job directory", async () => {
    const tokens = archives.openJob("j1", files, 600_000);
    const first = await download(tokens.download);
    expect(first.status).toBe(200);
    const pod = await unpackAsPod(first);
    expect((await readdir(pod)).sort()).toEqual(["context.json", "out", "prompt.md", "workspace"]);
    expect(await readFile(join(pod, "workspace", "src", "a.txt"), "utf8")).toBe("original\n");
    // Single use.
    expect((await download(tokens.download)).status).toBe(404);

    // The agent's work, then the sidecar's upload.
    await writeFile(join(pod, "workspace", "src", "a.txt"), "changed\n");
    await writeFile(join(pod, "out", "result.json"), '{"status":"done"}\n');
    const body = await packAsSidecar(pod);
    const returned = archives.waitForReturn("j1", 60_000);
    expect((await upload(bearer(tokens.upload), body)).status).toBe(204);
    await expect(returned).resolves.toBe(true);
    expect(await readFile(join(files.workspaceDir, "src", "a.txt"), "utf8")).toBe("changed\n");
    expect(await readFile(join(files.outDir, "result.json"), "utf8")).toBe('{"status":"done"}\n');
    expect((await upload(bearer(tokens.upload), body)).status).toBe(404);
  });

  it("refuse a wrong token, no token, the other job's token and the upload token for downloads, all alike", async () => {
    const tokens = archives.openJob("j1", files, 600_000);
    const other = archives.openJob("j2", files, 600_000);
    for (const headers of [bearer("not-the-token-at-all"), {}, bearer(other.download), bearer(tokens.upload)]) {
      const response = await send("GET", `${base}/workspace`, headers);
      expect(response.status).toBe(404);
      expect(JSON.parse(response.body.toString())).toMatchObject({ status: 404, title: "Not found" });
    }
    // None of those spent the real token.
    expect((await download(tokens.download)).status).toBe(200);
  });

  it("refuse an expired token", async () => {
    const tokens = archives.openJob("j1", files, 600_000);
    clock = 60_000;
    expect((await download(tokens.download)).status).toBe(404);
    clock = 600_000 + 60_000;
    expect((await upload(bearer(tokens.upload), "x")).status).toBe(404);
  });

  it("refuse every token once the job is closed", async () => {
    const tokens = archives.openJob("j1", files, 600_000);
    archives.closeJob("j1");
    expect((await download(tokens.download)).status).toBe(404);
  });

  it("refuse an upload that is not a tar, or is too large, and leave the host's files as they were", async () => {
    const tokens = archives.openJob("j1", files, 600_000);
    expect((await upload(bearer(tokens.upload), "this is not a tar archive".repeat(40))).status).toBe(400);
    const again = archives.openJob("j1", files, 600_000);
    const pod = join(root, "pod");
    await mkdir(join(pod, "workspace"), { recursive: true });
    await mkdir(join(pod, "out"), { recursive: true });
    await writeFile(join(pod, "workspace", "big.bin"), Buffer.alloc(128 * 1024, 1));
    expect((await upload(bearer(again.upload), await packAsSidecar(pod))).status).toBe(413);
    expect(await readFile(join(files.workspaceDir, "src", "a.txt"), "utf8")).toBe("original\n");
  });
});
