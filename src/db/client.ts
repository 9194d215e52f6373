import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema.js";
import { sanitizeDeep } from "./sanitize-text.js";

/** The drizzle database handle used throughout; a transaction handle has the same shape. */
export type Db = PostgresJsDatabase<typeof schema>;

/**
 * A postgres.js handle, pool or transaction: every query function under db/queries takes one.
 * Queries are tagged templates, which postgres.js prepares once per connection (see docs/adr/0003).
 */
export type SqlClient = postgres.Sql | postgres.TransactionSql;

/** An open connection pool and its drizzle handle. */
export interface Database {
  db: Db;
  sql: postgres.Sql;
  url: string;
  close(): Promise<void>;
}

/** Options for a pool. */
export interface DatabaseOptions {
  max?: number;
  /**
   * Commit without waiting for the WAL flush (`synchronous_commit = off`). Only for work that is
   * re-derived after a crash: the engine's transactions, whose input (the inbox) was committed
   * durably by the webhook intake. Never for the intake itself. See docs/adr/0003.
   */
  asyncCommit?: boolean;
}

/** Open a connection pool to PostgreSQL. */
export function openDatabase(url: string, options: DatabaseOptions = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 20,
    onnotice: () => {},
    connection: {
      application_name: options.asyncCommit ? "foreman-engine" : "foreman",
      ...(options.asyncCommit ? { synchronous_commit: "off" } : {}),
    },
  });
  const db = drizzle(withPreparedStatements(sql), { schema });
  return {
    db,
    sql,
    url,
    close: () => sql.end({ timeout: 5 }),
  };
}

/**
 * A client of one connection for a session that must last as long as the process (the replica's
 * liveness lock, docs/adr/0005): never recycled by postgres.js (`max_lifetime`), and with TCP
 * keepalives on the server's side, so PostgreSQL also notices a vanished host (not only a killed
 * process, which closes its socket at once) within about half a minute.
 */
export function openSessionClient(url: string): postgres.Sql {
  return postgres(url, {
    max: 1,
    max_lifetime: null,
    idle_timeout: 0,
    onnotice: () => {},
    connection: {
      application_name: "foreman-liveness",
      tcp_keepalives_idle: 10,
      tcp_keepalives_interval: 5,
      tcp_keepalives_count: 3,
    } as Record<string, string | number>,
  });
}

/**
 * drizzle asks postgres.js not to prepare unnamed queries, so PostgreSQL would parse and plan every
 * statement on every call (about 1 ms each for the claim queries on a small VM). postgres.js caches
 * prepared statements per connection by their text, and Foreman's statements are a fixed set, so
 * preparing all of them is safe and cuts each round trip to its execution time.
 */
function withPreparedStatements<T extends postgres.Sql | postgres.TransactionSql>(client: T): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === "unsafe") {
        return (query: string, params?: unknown[], options?: postgres.UnsafeQueryOptions) =>
          target.unsafe(query, params as never, { ...options, prepare: true });
      }
      if (property === "begin") {
        return (...args: unknown[]) => {
          const callback = args.at(-1) as (tx: postgres.TransactionSql) => unknown;
          const rest = args.slice(0, -1);
          return (target as postgres.Sql).begin(...(rest as [string]), (tx: postgres.TransactionSql) =>
            callback(withPreparedStatements(tx)),
          );
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
    apply(target, thisArg, args) {
      return Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args);
    },
  });
}

/**
 * A value for a json/jsonb parameter: its JSON text, which PostgreSQL casts on the way in. (postgres.js
 * cannot serialize `sql.json()` for a prepared statement whose parameter is described as jsonb.) SQL NULL stays NULL.
 * Every string in it is sanitised first (`sanitizeDeep`): jsonb refuses U+0000 and lone surrogates.
 */
export function toJsonText(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(sanitizeDeep(value));
}
