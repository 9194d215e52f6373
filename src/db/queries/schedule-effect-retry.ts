import type { SqlClient } from "../client.js";
import { sanitizeText } from "../sanitize-text.js";

/** Put an effect back with a delay after a transient failure. */
export async function scheduleEffectRetry(sql: SqlClient, id: number, error: string, delayMs: number): Promise<void> {
  await sql`
    update effects
       set status = 'pending', last_error = ${sanitizeText(error.slice(0, 2000))}, lease_until = null, locked_by = null,
           available_at = now() + make_interval(secs => ${delayMs / 1000})
     where id = ${id}`;
}
