import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";

/**
 * A Docker daemon of the fault suite's own (as root: `dockerd` with its own socket, data root, exec
 * root and pidfile, no bridge, no iptables, no live-restore), so a test can kill it and start it
 * again without touching the shared daemon at /var/run/docker.sock.
 */
export interface PrivateDockerDaemon {
  /** `unix://…/docker.sock`: what `DOCKER_HOST` would say. */
  readonly host: string;
  readonly socketPath: string;
  /** A client of this daemon (for the test's own looks; Foreman gets its own through `buildDockerOptions`). */
  readonly docker: Docker;
  /** Kill the daemon with `signal` and wait until its process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Start the daemon again on the same data and socket, and wait until it answers. */
  restart(): Promise<void>;
  /** Stop the daemon (its containers go with it: no live-restore) and remove its directory. */
  close(): Promise<void>;
}

/** Why a private daemon cannot run here, in words that say what to do, or null. Tests fail with it, never skip. */
export function findPrivateDaemonProblem(): string | null {
  if (process.getuid?.() !== 0)
    return "the Docker restart fault test starts a Docker daemon of its own and must run as root (sudo npm run test:faults)";
  try {
    execFileSync("dockerd", ["--version"], { stdio: "ignore" });
  } catch {
    return "the Docker restart fault test needs `dockerd` on the PATH (apt-get install docker.io) to start a daemon of its own";
  }
  return null;
}

/** Start a private daemon in a new directory under the system's temporary directory. */
export async function startPrivateDockerDaemon(): Promise<PrivateDockerDaemon> {
  const problem = findPrivateDaemonProblem();
  if (problem !== null) throw new Error(problem);
  // Short: a unix socket's path has a limit of about 100 bytes.
  const dir = await mkdtemp(join(tmpdir(), "fdd-"));
  const socketPath = join(dir, "docker.sock");
  const docker = new Docker({ socketPath });
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const launch = async (): Promise<void> => {
    const started = spawn(
      "dockerd",
      [
        `--host=unix://${socketPath}`,
        `--data-root=${join(dir, "data")}`,
        `--exec-root=${join(dir, "exec")}`,
        `--pidfile=${join(dir, "docker.pid")}`,
        "--bridge=none",
        "--iptables=false",
        "--ip-masq=false",
        "--ip-forward=false",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    started.stderr?.on("data", (chunk: Buffer) => {
      log = (log + chunk.toString("utf8")).slice(-4000);
    });
    child = started;
    exited = new Promise((resolve) => started.once("exit", () => resolve()));
    for (let tries = 0; ; tries += 1) {
      if (started.exitCode !== null) throw new Error(`the private dockerd exited at start:\n${log}`);
      try {
        await docker.ping();
        return;
      } catch {
        if (tries > 600) throw new Error(`the private dockerd did not answer within a minute:\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };

  await launch();
  return {
    host: `unix://${socketPath}`,
    socketPath,
    docker,
    async kill(signal) {
      child?.kill(signal);
      await exited;
      child = null;
      // Its containerd ends a moment later (parent-death signal); a new dockerd cannot start beside it.
      await waitForProcessesGone(`${dir}/exec/containerd/containerd.toml`);
    },
    restart: launch,
    async close() {
      if (child !== null) {
        child.kill("SIGTERM");
        await exited;
      }
      // Whatever this daemon started and left (a shim of a container it lost): this test's own processes.
      for (const pid of listProcessesMentioning(dir)) process.kill(pid, "SIGKILL");
      await waitForProcessesGone(dir);
      // dockerd bind-mounts its data root onto itself; a shim may still hold an exec root mount.
      for (const mount of listMountsUnder(dir).reverse()) {
        try {
          execFileSync("umount", ["-l", mount], { stdio: "ignore" });
        } catch {
          // Already gone.
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Copy an image from one daemon to another through the Engine API (`GET /images/{name}/get`, `POST /images/load`). */
export async function copyImage(from: Docker, to: Docker, image: string): Promise<void> {
  const tar = await from.getImage(image).get();
  const loading = (await to.loadImage(tar, { quiet: true })) as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) =>
    to.modem.followProgress(loading, (error: Error | null) => (error === null ? resolve() : reject(error))),
  );
  await to.getImage(image).inspect();
}

/** Processes whose command line mentions `text` (this daemon's directory is unique to it). */
function listProcessesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) pids.push(Number(entry));
    } catch {
      // It ended meanwhile.
    }
  }
  return pids;
}

async function waitForProcessesGone(text: string): Promise<void> {
  while (listProcessesMentioning(text).length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
}

function listMountsUnder(dir: string): string[] {
  return readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((mount) => mount === dir || mount.startsWith(`${dir}/`));
}
