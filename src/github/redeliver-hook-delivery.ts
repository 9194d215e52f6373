import type { RequestClient } from "./conditional-read.js";

/** Ask GitHub to deliver a webhook delivery again (`POST /app/hook/deliveries/{id}/attempts`, app JWT). */
export async function redeliverHookDelivery(appClient: RequestClient, deliveryId: number): Promise<void> {
  await appClient.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: deliveryId });
}
