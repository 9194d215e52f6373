import type { SqlClient } from "../client.js";
import type { OutboundHookKind } from "../schema.js";

/** An outgoing notification to queue. `body` null: built from the database at the first attempt. */
export interface NewOutboundHook {
  kind: OutboundHookKind;
  idempotencyKey: string;
  taskId: string | null;
  body: string | null;
  /** When the first attempt is due, on the injected clock that also decides when it is due (never the database's). */
  nextAt: Date;
}

/** Queue a notification; queuing the same kind and key again changes nothing. Returns whether this call queued it. */
export async function insertOutboundHook(sql: SqlClient, hook: NewOutboundHook): Promise<boolean> {
  const rows = await sql`
    insert into outbound_hooks (kind, idempotency_key, task_id, body, next_at)
    values (${hook.kind}, ${hook.idempotencyKey}, ${hook.taskId}, ${hook.body}, ${hook.nextAt.toISOString()})
    on conflict (kind, idempotency_key) do nothing
    returning id`;
  return rows.length > 0;
}
