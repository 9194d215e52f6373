import type { SqlClient } from "../client.js";

/** An outgoing notification to queue. `body` null: built from the database at the first attempt. */
export interface NewOutboundHook {
  kind: "change" | "checkpoint";
  idempotencyKey: string;
  taskId: string | null;
  body: string | null;
}

/** Queue a notification; queuing the same kind and key again changes nothing. */
export async function insertOutboundHook(sql: SqlClient, hook: NewOutboundHook): Promise<void> {
  await sql`
    insert into outbound_hooks (kind, idempotency_key, task_id, body)
    values (${hook.kind}, ${hook.idempotencyKey}, ${hook.taskId}, ${hook.body})
    on conflict (kind, idempotency_key) do nothing`;
}
