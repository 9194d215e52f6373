import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema.js";

/** The drizzle database handle used throughout; a transaction handle has the same shape. */
export type Db = PostgresJsDatabase<typeof schema>;

/** A transaction or the database itself: every query function under db/queries takes one. */
export type DbOrTx = Db | Parameters<Parameters<Db["transaction"]>[0]>[0];

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
  const db = drizzle(sql, { schema });
  return {
    db,
    sql,
    url,
    close: () => sql.end({ timeout: 5 }),
  };
}
