import type { ChainRecord } from "../../chain/chain.js";
import type { SqlClient } from "../client.js";
import { RECORD_COLUMNS, toChainRecord } from "./list-compliance-records.js";

/** Every record of one task, in `seq` order. */
export async function listTaskComplianceRecords(sql: SqlClient, taskId: string): Promise<ChainRecord[]> {
  const rows = await sql.unsafe(`select ${RECORD_COLUMNS} from compliance_records where task_id = $1 order by seq`, [
    taskId,
  ]);
  return rows.map((row) => toChainRecord(row));
}
