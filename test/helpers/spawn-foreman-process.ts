import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./foreman-process.ts", import.meta.url));

/** A Foreman process started by `spawnForemanProcess`. */
export interface ForemanProcess {
  child: ChildProcess;
  /** Resolves when it printed "ready" (started, and delivered the webhooks if asked). */
  ready: Promise<void>;
  /** The port it serves webhooks on (with `listen`), once ready; else null. */
  port: number | null;
  /** Resolves when it exited. */
  exited: Promise<void>;
  /** SIGKILL it and wait for its end. */
  kill(): Promise<void>;
  /** SIGTERM it (Foreman stops cleanly, waiting for its work in flight) and wait for its end. */
  stop(): Promise<void>;
}

/**
 * Start `foreman-process.ts` as one node process (`node --import tsx`, no wrapper process that a
 * SIGKILL would miss) on `databaseUrl`, with GitHub at `githubHost`, under `replica`.
 */
export function spawnForemanProcess(options: {
  databaseUrl: string;
  githubHost: string;
  replica: string;
  leaseMs: number;
  /** Deliver the label webhook of issue 1 (true), or of issues 1..n, before saying "ready". */
  deliver?: boolean | number;
  pollMs?: number;
  /** Run agent jobs with the Docker runner. */
  agents?: boolean;
  /** Serve webhooks over HTTP (on a free port). */
  listen?: boolean;
  /** More environment for Foreman (WORKSPACE_DIR, MAX_CONCURRENT_JOBS, ...). */
  env?: Record<string, string>;
}): ForemanProcess {
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPT], {
    env: {
      ...process.env,
      FOREMAN_CHILD_DATABASE: options.databaseUrl,
      FOREMAN_CHILD_GITHUB: options.githubHost,
      FOREMAN_CHILD_REPLICA: options.replica,
      FOREMAN_CHILD_LEASE_MS: String(options.leaseMs),
      FOREMAN_CHILD_DELIVER: String(Number(options.deliver ?? 0)),
      ...(options.pollMs ? { FOREMAN_CHILD_POLL_MS: String(options.pollMs) } : {}),
      FOREMAN_CHILD_AGENTS: options.agents ? "1" : "0",
      FOREMAN_CHILD_LISTEN: options.listen ? "1" : "0",
      FOREMAN_CHILD_ENV: JSON.stringify(options.env ?? {}),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let port: number | null = null;
  const ready = new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      port = Number(/^port (\d+)$/m.exec(out)?.[1] ?? NaN) || null;
      if (out.includes("ready\n")) resolve();
    });
    child.once("exit", (code, signal) =>
      reject(new Error(`Foreman process ended (${code ?? signal}) before it was ready`)),
    );
  });
  ready.catch(() => undefined);
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    ready,
    exited,
    get port() {
      return port;
    },
    async kill() {
      if (alive()) child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (alive()) child.kill("SIGTERM");
      await exited;
    },
  };
}
