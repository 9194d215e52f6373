import { ReadBudgetSpentError } from "../../github/conditional-read.js";
import { findStoredDeliveryIds } from "../../db/queries/find-stored-delivery-ids.js";
import { listHookDeliveries, type HookDelivery } from "../../github/list-hook-deliveries.js";
import { redeliverHookDelivery } from "../../github/redeliver-hook-delivery.js";
import type { SweepRound } from "./reconcile-deps.js";

/** How far back a process's first round looks: GitHub redelivers deliveries of the last three days. */
export const FIRST_ROUND_LOOKBACK_MS = 3 * 24 * 60 * 60 * 1000;

/**
 * Ask GitHub to redeliver each webhook it failed to deliver since the last round: a guid with no OK
 * attempt whose event the inbox does not hold. The inbox's dedupe makes a redelivery harmless.
 */
export async function repairFailedDeliveries(round: SweepRound): Promise<void> {
  const { deps } = round;
  const since = round.since ?? new Date(deps.now().getTime() - FIRST_ROUND_LOOKBACK_MS);
  const app = await deps.app();
  const budget = round.budgetFor("app");
  const attempts = await listHookDeliveries(app, since, round.cache, budget);
  const byGuid = new Map<string, HookDelivery[]>();
  for (const attempt of attempts) byGuid.set(attempt.guid, [...(byGuid.get(attempt.guid) ?? []), attempt]);
  const failed = [...byGuid.entries()].filter(([, tries]) => tries.every((attempt) => attempt.status !== "OK"));
  const stored = await findStoredDeliveryIds(
    deps.sql,
    failed.map(([guid]) => guid),
  );
  for (const [guid, tries] of failed) {
    if (stored.has(guid)) continue;
    // Newest first as GitHub lists them: redeliver the latest attempt.
    const latest = tries[0];
    if (!latest) continue;
    if (budget.remaining <= 0) throw new ReadBudgetSpentError();
    await redeliverHookDelivery(app, latest.id);
    budget.spent += 1;
    budget.remaining -= 1;
    round.repairs.push({
      kind: "delivery",
      detail: {
        guid,
        deliveryId: latest.id,
        event: latest.event,
        action: latest.action,
        statusCode: latest.statusCode,
      },
    });
  }
}
