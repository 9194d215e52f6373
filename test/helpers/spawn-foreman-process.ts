import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./foreman-process.ts", import.meta.url));

/** A Foreman process started by `spawnForemanProcess`. */
export interface ForemanProcess {
  child: ChildProcess;
  /** Resolves when it printed "ready" (started, and delivered the webhooks if asked). */
  ready: Promise<void>;
  /** Resolves when it exited. */
  exited: Promise<void>;
  /** SIGKILL it and wait for its end. */
  kill(): Promise<void>;
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
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      if (out.includes("ready\n")) resolve();
    });
    child.once("exit", (code, signal) =>
      reject(new Error(`Foreman process ended (${code ?? signal}) before it was ready`)),
    );
  });
  ready.catch(() => undefined);
  return {
    child,
    ready,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
