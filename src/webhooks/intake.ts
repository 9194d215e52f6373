import type { Logger } from "probot";
import type { Database } from "../db/client.js";
import type { NewInboxEvent } from "../db/queries/insert-inbox-event.js";
import { createInboxBatcher } from "./batch-inbox-inserts.js";

/** Which repos Foreman may act on: everything, or in production mode only the allow-list. */
export interface RepoPolicy {
  productionMode: boolean;
  allowedRepos: readonly string[];
}

/** Whether Foreman acts on a repository at all. Outside the allow-list it stays silent. */
export function isRepoAllowed(policy: RepoPolicy, fullName: string): boolean {
  if (!policy.productionMode) return true;
  const wanted = fullName.toLowerCase();
  return policy.allowedRepos.some((entry) => entry.toLowerCase() === wanted);
}

/** The webhook side of the engine: store an event durably, wake the worker, return. */
export interface Intake {
  record(event: NewInboxEvent): Promise<boolean>;
}

/**
 * Build the intake over a database: concurrent deliveries share one commit (group commit,
 * `createInboxBatcher`), each acknowledged only once its row is committed; the local worker is
 * woken after each commit that stored something new.
 */
export function createIntake(database: Database, wake: () => void, log: Logger): Intake {
  const insert = createInboxBatcher(database, (storedCount) => {
    if (storedCount > 0) wake();
  });
  return {
    async record(event) {
      const stored = await insert(event);
      log.debug(
        { deliveryId: event.deliveryId, lane: event.lane, stored },
        stored ? "event stored" : "duplicate event ignored",
      );
      return stored;
    },
  };
}
