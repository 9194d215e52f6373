/**
 * What a job's workspace costs from each source, in one run: GitHub's tarball every step
 * (WORKSPACE_SOURCE=tarball) beside this host's repository mirror (WORKSPACE_SOURCE=mirror), both
 * served over real HTTP by test/helpers/git-http-server.ts (`git http-backend`, and the tarball
 * endpoint as `git archive --format=tar.gz`). Before each step a small commit lands on the branch,
 * as a previous step's push would. Prints, per source: step start (the repository fetched and the
 * workspace prepared, `prepareWorkspace` returned) p50 and p95, the bytes sent per step, and the
 * host disk per job (the job directory; the mirror is shared by every job of the repository and
 * printed once), next to the targets: ≥ 10× fewer bytes per step on a warm mirror, step start < 1 s.
 *
 *   npm run bench:workspace           # = npx tsx bench/workspace/run.ts
 *   BENCH_FILES=10000 BENCH_STEPS=4 npm run bench:workspace   # scaled down; the scale is printed
 *
 * The repository (BENCH_FILES files of BENCH_FILE_BYTES, default 100 000 × 3 000 bytes ≈ 300 MB)
 * is generated once with `git fast-import` into BENCH_CACHE_DIR (default <tmp>/foreman-bench-workspace).
 * Asserts nothing. Needs git with git-http-backend.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import { Octokit } from "@octokit/core";
import { prepareWorkspace } from "../../src/agents/workspace.js";
import { downloadRepoTarball } from "../../src/github/download-repo-tarball.js";
import type { GitHubClient } from "../../src/github/octokit.js";
import { mirrorPathOf, openMirrorArchive } from "../../src/github/repo-mirror.js";
import { startGitHttpServer } from "../../test/helpers/git-http-server.js";
import { fmt, quantile } from "../lib/stats.js";

const FILES = Number(process.env.BENCH_FILES ?? 100_000);
const FILE_BYTES = Number(process.env.BENCH_FILE_BYTES ?? 3_000);
const STEPS = Number(process.env.BENCH_STEPS ?? 4);
const CACHE = process.env.BENCH_CACHE_DIR ?? join(tmpdir(), "foreman-bench-workspace");
const TOKEN = "ghs_benchWorkspaceToken0123456789abcdef";
const TARGETS = { bytesRatio: 10, stepStartSeconds: 1 };
const MB = 1024 * 1024;

interface StepFigures {
  readonly seconds: number;
  readonly bytes: number;
  readonly jobDiskBytes: number;
}

function runGit(args: readonly string[], input?: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, {
      stdio: [input ? "pipe" : "ignore", "pipe", "inherit"],
      env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
    });
    if (input && child.stdin) input.pipe(child.stdin);
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
    child.on("close", (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`git ${args[0]} exited ${code}`)),
    );
  });
}

// A fast-import stream of FILES random files in 100 directories, one commit on main.
async function* generateRepository(): AsyncGenerator<Buffer> {
  yield Buffer.from("commit refs/heads/main\ncommitter Bench <b@b> 1700000000 +0000\ndata 4\nbase\n");
  for (let index = 0; index < FILES; index += 1) {
    const content = randomBytes(Math.ceil((FILE_BYTES * 3) / 4))
      .toString("base64")
      .slice(0, FILE_BYTES);
    yield Buffer.from(`M 100644 inline dir${index % 100}/file${index}.txt\ndata ${content.length}\n${content}\n`);
  }
}

async function ensureRepository(): Promise<string> {
  const root = join(CACHE, `${FILES}x${FILE_BYTES}`);
  const origin = join(root, "o", "r.git");
  if (!existsSync(join(origin, "refs", "heads", "main"))) {
    await rm(root, { recursive: true, force: true });
    await mkdir(join(root, "o"), { recursive: true });
    await runGit(["init", "--quiet", "--bare", "--initial-branch=main", origin]);
    const started = performance.now();
    const { Readable } = await import("node:stream");
    await runGit(["--git-dir", origin, "fast-import", "--quiet"], Readable.from(generateRepository()));
    await runGit(["--git-dir", origin, "repack", "-a", "-d", "--quiet"]);
    await runGit(["--git-dir", origin, "update-server-info"]);
    console.log(`generated ${FILES} files in ${fmt((performance.now() - started) / 1000)} s into ${root}`);
  }
  return root;
}

// A previous step's push: one new file on main.
async function pushSmallCommit(origin: string, step: string): Promise<string> {
  const { Readable } = await import("node:stream");
  const body = `step ${step}\n`;
  const stream = `commit refs/heads/main\ncommitter Bench <b@b> 1700000001 +0000\ndata 5\nstep\nfrom refs/heads/main^0\nM 100644 inline steps/${step}.txt\ndata ${body.length}\n${body}\n`;
  await runGit(["--git-dir", origin, "fast-import", "--quiet"], Readable.from([Buffer.from(stream)]));
  return runGit(["--git-dir", origin, "rev-parse", "refs/heads/main"]);
}

async function measureDisk(path: string): Promise<number> {
  const stats = await lstat(path).catch(() => null);
  if (stats === null) return 0;
  if (!stats.isDirectory()) return stats.blocks * 512;
  let total = stats.blocks * 512;
  for (const child of await readdir(path)) total += await measureDisk(join(path, child));
  return total;
}

async function main(): Promise<void> {
  const root = await ensureRepository();
  const origin = join(root, "o", "r.git");
  const originBytes = await measureDisk(origin);
  console.log(
    `scale: ${FILES} files × ${FILE_BYTES} bytes = ${fmt((FILES * FILE_BYTES) / MB)} MB of files, ${fmt(originBytes / MB)} MB packed; ${STEPS} steps per source`,
  );
  const server = await startGitHttpServer({ projectRoot: root, token: TOKEN });
  const work = await mkdtemp(join(tmpdir(), "foreman-bench-ws-"));
  const octokit = new Octokit({ auth: TOKEN, baseUrl: server.url }) as unknown as GitHubClient;
  const mirrorsDir = join(work, "mirrors");
  let jobs = 0;

  const step = async (source: "tarball" | "mirror", commit: string): Promise<StepFigures> => {
    const jobId = `job-${(jobs += 1)}`;
    server.takeBytesSent();
    const started = performance.now();
    const tarball =
      source === "tarball"
        ? await downloadRepoTarball(octokit, {
            owner: "o",
            repo: "r",
            ref: commit,
            maxBytes: 4096 * MB,
            timeoutMs: 600_000,
          })
        : (
            await openMirrorArchive({
              mirrorsDir,
              repoId: 1,
              remoteUrl: `${server.url}/o/r.git`,
              token: () => Promise.resolve(TOKEN),
              commit,
              timeoutMs: 600_000,
              now: new Date(),
            })
          ).archive;
    const workspace = await prepareWorkspace({
      baseDir: join(work, "workspaces"),
      jobId,
      tarball,
      prompt: "p",
      context: {},
      sandboxUser: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
      maxBytes: 64 * 1024 * MB,
      hostCommandTimeoutMs: 600_000,
      now: new Date(),
    });
    const seconds = (performance.now() - started) / 1000;
    const figures = { seconds, bytes: server.takeBytesSent(), jobDiskBytes: await measureDisk(workspace.jobDir) };
    await rm(workspace.jobDir, { recursive: true, force: true });
    console.log(
      `  ${source} ${jobId}: ${fmt(seconds)} s, ${fmt(figures.bytes / MB)} MB sent, job dir ${fmt(figures.jobDiskBytes / MB)} MB`,
    );
    return figures;
  };

  try {
    const results: Record<"tarball" | "mirror", StepFigures[]> = { tarball: [], mirror: [] };
    const cold = await step("mirror", await runGit(["--git-dir", origin, "rev-parse", "refs/heads/main"]));
    for (let index = 0; index < STEPS; index += 1) {
      const commit = await pushSmallCommit(origin, `${Date.now()}-${index}`);
      results.tarball.push(await step("tarball", commit));
      results.mirror.push(await step("mirror", commit));
    }
    const mirrorDisk = await measureDisk(mirrorPathOf(mirrorsDir, 1));
    console.log("");
    console.log("source         step start p50   p95     bytes/step (mean)   host disk per job");
    for (const source of ["tarball", "mirror"] as const) {
      const figures = results[source];
      const seconds = figures.map((figure) => figure.seconds);
      const bytes = figures.reduce((sum, figure) => sum + figure.bytes, 0) / figures.length;
      const disk = figures.reduce((sum, figure) => sum + figure.jobDiskBytes, 0) / figures.length;
      console.log(
        `${source.padEnd(14)} ${fmt(quantile(seconds, 0.5)).padStart(8)} s ${fmt(quantile(seconds, 0.95)).padStart(6)} s ${fmt(bytes / MB).padStart(10)} MB ${fmt(disk / MB).padStart(16)} MB`,
      );
    }
    console.log(
      `mirror, cold (first step on this host): ${fmt(cold.seconds)} s, ${fmt(cold.bytes / MB)} MB sent; the mirror takes ${fmt(mirrorDisk / MB)} MB on the host, shared by every job of the repository`,
    );
    const tarballBytes = results.tarball.reduce((sum, figure) => sum + figure.bytes, 0);
    const mirrorBytes = Math.max(
      1,
      results.mirror.reduce((sum, figure) => sum + figure.bytes, 0),
    );
    const ratio = tarballBytes / mirrorBytes;
    const mirrorP50 = quantile(
      results.mirror.map((figure) => figure.seconds),
      0.5,
    );
    console.log("");
    console.log(
      `bytes per step, tarball ÷ warm mirror: ${fmt(ratio)}× (target ≥ ${TARGETS.bytesRatio}×) ${ratio >= TARGETS.bytesRatio ? "met" : "NOT met"}`,
    );
    console.log(
      `warm mirror step start p50: ${fmt(mirrorP50)} s (target < ${TARGETS.stepStartSeconds} s) ${mirrorP50 < TARGETS.stepStartSeconds ? "met" : "NOT met"}`,
    );
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
