import type { ApplicationFunction } from "probot";
import { createComplianceRoutes, type ComplianceRouteDeps } from "./http/compliance-routes.js";
import { createHealthRoutes } from "./http/health-routes.js";
import { registerWebhooks, type WebhookDeps } from "./webhooks/register-webhooks.js";

/** What the app needs: the webhook handlers' deps, and what the evidence API reads (artifact store, checkpoint keys). */
export interface AppDeps extends WebhookDeps {
  compliance?: Omit<ComplianceRouteDeps, "sql">;
}

/** The Probot app: wiring only. Handlers store events; routes answer health checks and serve compliance evidence. */
export function createApp(deps: AppDeps): ApplicationFunction {
  return (app, { addHandler }) => {
    registerWebhooks(app, deps);
    addHandler(createHealthRoutes(deps.database));
    addHandler(createComplianceRoutes({ sql: deps.database.sql, artifacts: null, log: app.log, ...deps.compliance }));
  };
}
