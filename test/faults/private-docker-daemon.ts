import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import Docker from "dockerode";

/**
 * A Docker daemon of the fault suite's own, so a test can stop it and start it again without
 * touching the shared daemon at /var/run/docker.sock. It runs as root in a network namespace of its
 * own (`ip netns add`, entered with `nsenter --net`): a dockerd started with `--bridge=none` deletes
 * the interface `docker0` of the namespace it runs in (removeDefaultBridgeInterface in moby's
 * daemon_unix.go), which in the host's namespace is the shared daemon's bridge, and every bridge
 * container on the machine then fails to start. The namespace is named, so the daemon started again
 * joins the same one (its containerd must reach the shims the killed one left). Its own socket, data
 * root, exec root, pidfile and an empty configuration file; no bridge, no iptables, no live-restore.
 * Its jobs use `network: none`.
 */
export interface PrivateDockerDaemon {
  /** `unix://…/docker.sock`: what `DOCKER_HOST` says. */
  readonly host: string;
  /** A client of this daemon (for the test's own looks; Foreman gets its own from `DOCKER_HOST`). */
  readonly docker: Docker;
  /** Stop the daemon with `signal` and wait until it and its containerd have exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Start the daemon again on the same data and socket, and wait until it answers. */
  restart(): Promise<void>;
  /** Stop the daemon (its containers go with it) and remove its directory; idempotent. */
  close(): Promise<void>;
}

/** Why a private daemon cannot run here, in words that say what to do, or null. Tests fail with it, never skip. */
export function findPrivateDaemonProblem(): string | null {
  if (process.getuid?.() !== 0)
    return "the Docker restart fault test starts a Docker daemon of its own and must run as root (sudo npm run test:faults)";
  for (const [command, version, hint] of [
    ["dockerd", "--version", "apt-get install docker.io"],
    ["nsenter", "--version", "apt-get install util-linux"],
    ["ip", "-V", "apt-get install iproute2"],
  ] as const) {
    try {
      execFileSync(command, [version], { stdio: "ignore" });
    } catch {
      return `the Docker restart fault test needs \`${command}\` on the PATH (${hint}) to start a daemon of its own`;
    }
  }
  return null;
}

/** Whether the host's network namespace has the interface `name` (the shared daemon's `docker0`). */
export function hasHostInterface(name: string): boolean {
  try {
    execFileSync("ip", ["link", "show", name], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Start a private daemon in a new directory under the system's temporary directory. */
export async function startPrivateDockerDaemon(): Promise<PrivateDockerDaemon> {
  const problem = findPrivateDaemonProblem();
  if (problem !== null) throw new Error(problem);
  // Short: a unix socket's path has a limit of about 100 bytes.
  const dir = await mkdtemp(join(tmpdir(), "fdd-"));
  const socketPath = join(dir, "docker.sock");
  const configFile = join(dir, "daemon.json");
  // Not /etc/docker/daemon.json: whatever the host's daemon is told there (hosts, a bridge) is not for this one.
  await writeFile(configFile, "{}\n");
  const docker = new Docker({ socketPath });
  const namespace = basename(dir);
  execFileSync("ip", ["netns", "add", namespace], { stdio: "ignore" });
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const launch = async (): Promise<void> => {
    // nsenter runs dockerd itself (no fork): the child's pid is the daemon's, for the signals below.
    const started = spawn(
      "nsenter",
      [
        `--net=/run/netns/${namespace}`,
        "--",
        "dockerd",
        `--host=unix://${socketPath}`,
        `--config-file=${configFile}`,
        `--data-root=${join(dir, "data")}`,
        `--exec-root=${join(dir, "exec")}`,
        `--pidfile=${join(dir, "docker.pid")}`,
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
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

  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (child === null) return;
    child.kill(signal);
    await exited;
    child = null;
    // Its containerd ends a moment later (parent-death signal), and may stay a zombie for a while
    // (whoever inherits it reaps it): a new dockerd takes a pid in its pidfile for a containerd still
    // running and waits for its socket in vain. Once it has ended, its pidfile goes.
    const pidFile = join(dir, "exec", "containerd", "containerd.pid");
    const containerd = Number(await readFile(pidFile, "utf8").catch(() => ""));
    if (containerd > 0) while (isRunning(containerd)) await new Promise((resolve) => setTimeout(resolve, 50));
    await rm(pidFile, { force: true });
  };

  await launch();
  return {
    host: `unix://${socketPath}`,
    docker,
    kill: stop,
    restart: launch,
    async close() {
      await stop("SIGTERM");
      // Whatever this daemon started and left (the shim of a container it lost, and what runs under
      // it): this test's own processes, the container's first.
      const leftovers = listProcessesMentioning(dir);
      for (const pid of [...listDescendants(leftovers), ...leftovers]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // It ended meanwhile.
        }
      }
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
      try {
        execFileSync("ip", ["netns", "delete", namespace], { stdio: "ignore" });
      } catch {
        // Already gone.
      }
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

/** Whether a process exists and has not ended (a zombie has ended: only its exit status is left). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Every process below `parents` (children first found, then theirs), from /proc's parent pids. */
function listDescendants(parents: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The parent pid is the 2nd field after the command name, which is in parentheses and may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // It ended meanwhile.
    }
  }
  const found: number[] = [];
  const queue = [...parents];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
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
