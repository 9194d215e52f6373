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
  close(): Promise<void>;
}

/** Open a connection pool to PostgreSQL. */
export function openDatabase(url: string, options: { max?: number } = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 20,
    onnotice: () => {},
    // Timestamps come back as Date; bigints that fit are numbers in the schema's mode.
    connection: { application_name: "foreman" },
  });
  const db = drizzle(sql, { schema });
  return {
    db,
    sql,
    close: () => sql.end({ timeout: 5 }),
  };
}
