import type { SqlClient } from "../client.js";

/** GitHub refused a write with `retry-after`: no write of the installation goes before that time, on any replica. */
export async function blockGitHubWrites(
  sql: SqlClient,
  installationId: number,
  retryAfterSeconds: number,
): Promise<void> {
  await sql`
    insert into github_write_pace as p (installation_id, next_at, blocked_until, updated_at)
    values (${installationId}, now(), now() + make_interval(secs => ${retryAfterSeconds}), now())
    on conflict (installation_id) do update set
      blocked_until = greatest(p.blocked_until, now() + make_interval(secs => ${retryAfterSeconds})),
      updated_at = now()`;
}
