import type { SqlClient } from "../client.js";

/**
 * Delete up to `limit` check suites of no task (other SHAs, the default branch) stored more than
 * `retentionDays` ago by the database's clock. A task's suites stay: its evidence bundle, the API
 * and the dashboard show them, and the summaries and template statistics count them. So does the
 * latest default-branch suite of each repository and CI app, which decides red mode
 * (`is-repo-red.ts`). Returns how many went.
 */
export async function deleteOldCiResults(sql: SqlClient, retentionDays: number, limit: number): Promise<number> {
  const rows = await sql`
    delete from ci_results
     where id in (
       select c.id from ci_results c
        where c.task_id is null
          and c.created_at < now() - make_interval(days => ${retentionDays})
          and (not c.on_default_branch
               or exists (select 1 from ci_results newer
                           where newer.repo_id = c.repo_id and newer.app = c.app
                             and newer.on_default_branch and newer.id > c.id))
        order by c.id
        limit ${limit}
        for update of c skip locked)
    returning id`;
  return rows.count;
}
