import type { ApplicationFunction } from "probot";
import { createHealthRoutes } from "./http/health-routes.js";
import { registerWebhooks, type WebhookDeps } from "./webhooks/register-webhooks.js";

/** The Probot app: wiring only. Handlers store events; routes answer health checks. */
export function createApp(deps: WebhookDeps): ApplicationFunction {
  return (app, { addHandler }) => {
    registerWebhooks(app, deps);
    addHandler(createHealthRoutes(deps.database));
  };
}
