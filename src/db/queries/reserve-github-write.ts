import type { SqlClient } from "../client.js";

/** How fast an installation's writes may go: one every `intervalSeconds`, with bursts of `burst`. */
export interface WritePaceSettings {
  intervalSeconds: number;
  burst: number;
}

/**
 * Reserve the installation's next write slot (GCRA, on the database's clock, in one atomic
 * upsert shared by every replica) and return how many seconds the caller must wait before sending:
 * 0 within the burst, else until its slot, and never before GitHub's `retry-after` has passed.
 * Slots are handed out in the order the reservations reach the row.
 */
export async function reserveGitHubWrite(
  sql: SqlClient,
  installationId: number,
  { intervalSeconds, burst }: WritePaceSettings,
): Promise<number> {
  const tolerance = Math.max(0, burst - 1) * intervalSeconds;
  const [row] = await sql<{ waitSeconds: number }[]>`
    insert into github_write_pace as p (installation_id, next_at, updated_at)
    values (${installationId}, now() + make_interval(secs => ${intervalSeconds}), now())
    on conflict (installation_id) do update set
      next_at = greatest(p.next_at, now(), coalesce(p.blocked_until + make_interval(secs => ${tolerance}), now()))
                + make_interval(secs => ${intervalSeconds}),
      updated_at = now()
    returning greatest(0, extract(epoch from (
      next_at - make_interval(secs => ${intervalSeconds + tolerance}) - now())))::float8 as "waitSeconds"`;
  return row!.waitSeconds;
}
