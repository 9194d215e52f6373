import type { NewInboxEvent } from "../db/queries/insert-inbox-event.js";
import type { InstallationFacts, RepositoryFacts } from "../db/queries/upsert-installation.js";
import type { InstallationPayload, InstallationRepositoriesPayload } from "./webhook-payloads.js";

/** Events about installations: they change what Foreman may act on, not any task. */
export type DirectoryEvent =
  | { type: "installation_changed"; installation: InstallationFacts; added: RepositoryFacts[] }
  | { type: "repositories_changed"; installationId: number; added: RepositoryFacts[]; removed: number[] };

function toRepositoryFacts(
  repos: ReadonlyArray<{ id: number; full_name: string; private: boolean }> | undefined,
): RepositoryFacts[] {
  return (repos ?? []).map((repo) => ({ id: repo.id, fullName: repo.full_name, private: repo.private }));
}

/** `installation.*` → a directory event. */
export function adaptInstallationEvent(deliveryId: string, payload: InstallationPayload): NewInboxEvent {
  const account = payload.installation.account;
  const event: DirectoryEvent = {
    type: "installation_changed",
    installation: {
      id: payload.installation.id,
      accountLogin: account?.login ?? account?.slug ?? "unknown",
      accountType: account?.type ?? "Enterprise",
      suspended:
        payload.action === "suspend" || (payload.action !== "unsuspend" && payload.installation.suspended_at != null),
      deleted: payload.action === "deleted",
    },
    added: payload.action === "created" ? toRepositoryFacts(payload.repositories) : [],
  };
  return {
    deliveryId,
    dedupeKey: `delivery:${deliveryId}`,
    source: "github",
    eventName: `installation.${payload.action}`,
    lane: `installation:${payload.installation.id}`,
    event,
  };
}

/** `installation_repositories.added|removed` → a directory event. */
export function adaptInstallationRepositoriesEvent(
  deliveryId: string,
  payload: InstallationRepositoriesPayload,
): NewInboxEvent {
  const event: DirectoryEvent = {
    type: "repositories_changed",
    installationId: payload.installation.id,
    added: toRepositoryFacts(payload.repositories_added),
    removed: (payload.repositories_removed ?? []).flatMap((repo) => (typeof repo.id === "number" ? [repo.id] : [])),
  };
  return {
    deliveryId,
    dedupeKey: `delivery:${deliveryId}`,
    source: "github",
    eventName: `installation_repositories.${payload.action}`,
    lane: `installation:${payload.installation.id}`,
    event,
  };
}
