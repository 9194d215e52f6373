import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { buildActorName } from "../../engine/operator-actions.js";
import { changeRuntimeSettings, readRuntimeSettings } from "../../engine/runtime-settings.js";
import type { ApiCaller, ApiRouteDeps } from "./api-deps.js";
import { readJsonBody, sendJson } from "./problem.js";

const limit = z.number().int().min(1).max(1000).nullable();
const SettingsChange = z
  .object({
    paused: z.boolean().optional(),
    reason: z.string().max(500).nullable().optional(),
    maxConcurrentJobs: limit.optional(),
    maxJobsPerRepo: limit.optional(),
  })
  .strict()
  .refine((change) => Object.keys(change).length > 0, "name at least one of paused, maxConcurrentJobs, maxJobsPerRepo");

/** `GET /api/settings`: the global pause and the job limits now. */
export async function getSettings(deps: ApiRouteDeps, res: ServerResponse): Promise<true> {
  return sendJson(res, 200, await readRuntimeSettings(deps.sql, deps.environment));
}

/** `PUT /api/settings`: change the pause or a limit; each change is a compliance record naming the token. */
export async function putSettings(
  deps: ApiRouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
  caller: ApiCaller,
): Promise<true> {
  const change = SettingsChange.parse(await readJsonBody(req));
  await changeRuntimeSettings(
    deps.sql,
    {
      ...(change.paused !== undefined ? { paused: change.paused } : {}),
      ...(change.reason !== undefined ? { reason: change.reason } : {}),
      ...(change.maxConcurrentJobs !== undefined ? { maxConcurrentJobs: change.maxConcurrentJobs } : {}),
      ...(change.maxJobsPerRepo !== undefined ? { maxJobsPerRepo: change.maxJobsPerRepo } : {}),
    },
    buildActorName({ kind: "api", tokenId: caller.id, tokenName: caller.name }),
    deps.environment,
    deps.engine.now(),
  );
  return sendJson(res, 200, await readRuntimeSettings(deps.sql, deps.environment));
}
