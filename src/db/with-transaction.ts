import type postgres from "postgres";
import type { SqlClient } from "./client.js";

/** Run `work` in a transaction: a new one on a pool, or the caller's when given a transaction. */
export async function withTransaction<T>(sql: SqlClient, work: (tx: SqlClient) => Promise<T>): Promise<T> {
  if ("begin" in sql) return (await (sql as postgres.Sql).begin((tx) => work(tx))) as T;
  return work(sql);
}
