/**
 * Runs a small tsx script as another host user (by default uid:gid 1000:1000, the production
 * image's `node`), the way Foreman runs in its image: not root. Only root may start it. The child
 * reaches the Docker daemon through a socket this process forwards to the real one, so it needs no
 * membership in the socket's group; it prints one JSON value, which is returned.
 */
import { spawn } from "node:child_process";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The uid:gid of user `node` in node's images, and of Foreman's production image. */
export const NODE_USER = Object.freeze({ uid: 1000, gid: 1000 });

/** A Docker socket the host user may use, forwarding to the daemon's own. */
export interface ForwardedDockerSocket {
  /** `DOCKER_HOST` for the child. */
  readonly dockerHost: string;
  readonly close: () => Promise<void>;
}

/** Listens on a socket owned by `user` and pipes each connection to the daemon's socket. */
export async function forwardDockerSocket(
  user: { readonly uid: number; readonly gid: number },
  daemonSocket = "/var/run/docker.sock",
): Promise<ForwardedDockerSocket> {
  const dir = await mkdtemp(join(tmpdir(), "foreman-docker-sock-"));
  await chown(dir, user.uid, user.gid);
  const path = join(dir, "docker.sock");
  const server: Server = createServer((client) => {
    const daemon = createConnection(daemonSocket);
    client.pipe(daemon).pipe(client);
    client.on("error", () => daemon.destroy());
    daemon.on("error", () => client.destroy());
  });
  await new Promise<void>((done) => server.listen(path, done));
  await chown(path, user.uid, user.gid);
  return {
    dockerHost: `unix://${path}`,
    close: async () => {
      await new Promise<void>((done) => server.close(() => done()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `node --import tsx <script> <argument as JSON>` as `user`, and parses what it prints. */
export async function runAsHostUser<T>(
  script: string,
  argument: unknown,
  options: { user?: { uid: number; gid: number }; env?: Readonly<Record<string, string>> } = {},
): Promise<T> {
  const user = options.user ?? NODE_USER;
  const home = await mkdtemp(join(tmpdir(), "foreman-host-user-"));
  await chown(home, user.uid, user.gid);
  try {
    const child = spawn(process.execPath, ["--import", "tsx", resolve(script), JSON.stringify(argument)], {
      cwd: process.cwd(),
      uid: user.uid,
      gid: user.gid,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TMPDIR: home, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const code = await new Promise<number | null>((done, fail) => {
      child.on("error", fail);
      child.on("close", done);
    });
    const printed = Buffer.concat(stdout).toString("utf8");
    if (code !== 0)
      throw new Error(`${script} exited with ${code}:\n${Buffer.concat(stderr).toString("utf8")}\n${printed}`);
    return JSON.parse(printed) as T;
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
