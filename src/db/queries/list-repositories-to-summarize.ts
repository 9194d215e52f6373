import type { SqlClient } from "../client.js";
import type { OutboundHookKind } from "../schema.js";

/** A repository and the summary kinds it has not been queued for yet. */
export interface RepositoryToSummarize {
  id: number;
  fullName: string;
  missing: OutboundHookKind[];
}

/** The idempotency key of a repository's summary for one day (`summary:<repo id>:<YYYY-MM-DD>`), shared by all replicas. */
export function buildSummaryKey(repoId: number, day: string): string {
  return `summary:${repoId}:${day}`;
}

/**
 * Repositories Foreman still has access to whose summary of `day` is not yet queued for one of
 * `kinds` (the channels configured now), by id.
 */
export async function listRepositoriesToSummarize(
  sql: SqlClient,
  day: string,
  kinds: readonly OutboundHookKind[],
): Promise<RepositoryToSummarize[]> {
  const rows = await sql<Array<{ id: string; fullName: string; missing: OutboundHookKind[] }>>`
    select r.id, r.full_name as "fullName",
           array(select k from unnest(${kinds as string[]}::text[]) k
                  where not exists (select 1 from outbound_hooks h
                                     where h.kind = k and h.idempotency_key = 'summary:' || r.id || ':' || ${day})) as missing
      from repositories r
     where r.removed_at is null
     order by r.id`;
  return rows
    .map((row) => ({ id: Number(row.id), fullName: row.fullName, missing: row.missing }))
    .filter((row) => row.missing.length > 0);
}
