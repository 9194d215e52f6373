import { EffectKind, type Effect } from "../../workflow/effects.js";

/** Effects that only redraw what people see; a burst of them within the display delay is drawn once. */
export const DISPLAY_KINDS: readonly string[] = [EffectKind.upsertStatusComment, EffectKind.upsertCheckRun];
import { toJsonText, type SqlClient } from "../client.js";
import { captureCause } from "../../telemetry/tracing.js";

/** Queue a transition's effects in the caller's transaction, in order, with the current work's cause (delivery, span); they run only after commit. */
export async function insertEffects(
  sql: SqlClient,
  taskId: string,
  list: readonly Effect[],
  displayDelayMs = 0,
): Promise<void> {
  if (list.length === 0) return;
  const cause = captureCause();
  // One multi-row insert: ids (and so the run order) follow the list's order.
  const values = list
    .map(({ kind, ...payload }) => {
      const delaySeconds = DISPLAY_KINDS.includes(kind) ? displayDelayMs / 1000 : 0;
      return sql`(${taskId}, ${kind}, ${toJsonText(payload)}, now() + make_interval(secs => ${delaySeconds}), ${cause.deliveryId}, ${cause.traceparent})`;
    })
    .reduce((all, row) => sql`${all}, ${row}`);
  await sql`insert into effects (task_id, kind, payload, available_at, cause_delivery_id, traceparent) values ${values}`;
}
