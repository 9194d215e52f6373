import type { SqlClient } from "../client.js";

/**
 * Remember the default branch's latest CI conclusion (red mode while it failed). Returns whether the
 * repo just turned green, so waiting tasks can start. The suite that completed last wins, whatever
 * its app (Foreman's own check runs' suites are left out by the caller).
 */
export async function saveDefaultBranchCi(
  sql: SqlClient,
  repo: { id: number; installationId: number; fullName: string },
  sha: string,
  conclusion: "success" | "failure",
): Promise<{ turnedGreen: boolean }> {
  const [row] = await sql<{ was: string | null }[]>`
    with before as (select default_branch_ci as was from repositories where id = ${repo.id})
    insert into repositories (id, installation_id, full_name, default_branch_ci, default_branch_ci_sha, default_branch_ci_at)
    values (${repo.id}, ${repo.installationId}, ${repo.fullName}, ${conclusion}, ${sha}, now())
    on conflict (id) do update set default_branch_ci = excluded.default_branch_ci, default_branch_ci_sha = excluded.default_branch_ci_sha,
                                   default_branch_ci_at = now(), updated_at = now()
    returning (select was from before) as was`;
  return { turnedGreen: conclusion === "success" && row?.was === "failure" };
}
