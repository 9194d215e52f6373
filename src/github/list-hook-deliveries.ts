import {
  findNextPageUrl,
  readConditionally,
  type EtagCache,
  type ReadBudget,
  type RequestClient,
} from "./conditional-read.js";

/** One attempt GitHub made to deliver a webhook to the app (`GET /app/hook/deliveries`). */
export interface HookDelivery {
  id: number;
  guid: string;
  deliveredAt: string;
  /** GitHub's word for the answer: "OK" when the app took it. */
  status: string;
  statusCode: number;
  event: string;
  action: string | null;
  redelivery: boolean;
}

interface DeliveryItem {
  id: number;
  guid: string;
  delivered_at: string;
  status: string;
  status_code: number;
  event: string;
  action?: string | null;
  redelivery: boolean;
}

/**
 * The app's webhook delivery attempts made at or after `since`, newest first, read with the app's JWT
 * page by page (cursor), stopping at the first page that reaches back past `since`.
 */
export async function listHookDeliveries(
  appClient: RequestClient,
  since: Date,
  cache: EtagCache,
  budget: ReadBudget,
): Promise<HookDelivery[]> {
  const found: HookDelivery[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page: { data: DeliveryItem[]; link: string | null } = await readConditionally<DeliveryItem[]>(
      appClient,
      "GET /app/hook/deliveries",
      { per_page: 100, ...(cursor ? { cursor } : {}) },
      cache,
      budget,
    );
    let older = false;
    for (const item of page.data) {
      if (Date.parse(item.delivered_at) < since.getTime()) {
        older = true;
        continue;
      }
      found.push({
        id: item.id,
        guid: item.guid,
        deliveredAt: item.delivered_at,
        status: item.status,
        statusCode: item.status_code,
        event: item.event,
        action: item.action ?? null,
        redelivery: item.redelivery,
      });
    }
    const next = findNextPageUrl(page.link);
    cursor = next ? new URL(next).searchParams.get("cursor") : null;
    if (older || page.data.length === 0 || !cursor) return found;
  }
}
