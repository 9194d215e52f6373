import type { Logger } from "probot";
import type { Database } from "../db/client.js";
import { insertInboxEvent, type NewInboxEvent } from "../db/queries/insert-inbox-event.js";

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

/** Build the intake over a database, waking the local worker after each new event. */
export function createIntake(database: Database, wake: () => void, log: Logger): Intake {
  return {
    async record(event) {
      const stored = await insertInboxEvent(database.sql, event);
      log.debug(
        { deliveryId: event.deliveryId, lane: event.lane, stored },
        stored ? "event stored" : "duplicate event ignored",
      );
      if (stored) wake();
      return stored;
    },
  };
}
