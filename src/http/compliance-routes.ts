import type { KeyObject } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { FileArtifactStore, resolveArtifactsDir, type ArtifactStore } from "../compliance/artifacts.js";
import { resolveVerifyingKeys } from "../chain/checkpoints.js";
import { buildEvidenceBundle } from "../compliance/evidence-bundle.js";
import { writeEvidenceTarball } from "../compliance/write-evidence-tarball.js";
import type { Env } from "../config/env.js";
import type { SqlClient } from "../db/client.js";
import { listCheckpoints } from "../db/queries/list-checkpoints.js";
import { COMPLIANCE_READERS } from "./api-tokens.js";
import { authenticateRequest } from "./authenticate-request.js";

/** What the compliance routes read from. */
export interface ComplianceRouteDeps {
  sql: SqlClient;
  /** Null: bundles list artifacts as `unchecked` and carry no artifact files. */
  artifacts: ArtifactStore | null;
  /** Checkpoint public keys to publish beside the checkpoints (null: not configured). */
  publicKeys?: ReadonlyMap<string, KeyObject> | null;
  now?: () => Date;
  log?: Pick<Logger, "error">;
}

/** What the routes read from, as configured: the artifact store under ARTIFACTS_DIR and the checkpoint keys. */
export function buildComplianceRouteOptions(env: Env): Pick<ComplianceRouteDeps, "artifacts" | "publicKeys"> {
  return { artifacts: new FileArtifactStore(resolveArtifactsDir(env)), publicKeys: resolveVerifyingKeys(env) };
}

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const TASK_PATH = new RegExp(`^/api/compliance/(?:tasks/)?(${UUID})(/bundle\\.tar\\.gz)?$`, "i");

/**
 * Read-only evidence API under `/api/compliance` (auditor or admin tokens): a task's bundle as JSON
 * or as `bundle.tar.gz`, and the signed checkpoints. Nothing here writes. Other paths fall through.
 */
export function createComplianceRoutes(deps: ComplianceRouteDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://foreman.invalid");
    if (url.pathname !== "/api/compliance" && !url.pathname.startsWith("/api/compliance/")) return false;
    try {
      const auth = await authenticateRequest(deps.sql, req.headers.authorization, COMPLIANCE_READERS);
      if (!auth.ok)
        return reply(
          res,
          auth.status,
          auth.body,
          auth.status === 401 ? { "www-authenticate": 'Bearer realm="foreman"' } : {},
        );
      if (req.method !== "GET") {
        return reply(
          res,
          405,
          { error: "method_not_allowed", message: "The compliance API is read-only: only GET is served." },
          { allow: "GET" },
        );
      }
      if (url.pathname === "/api/compliance/checkpoints") return await sendCheckpoints(deps, url, res);
      const task = TASK_PATH.exec(url.pathname);
      if (!task)
        return reply(res, 404, {
          error: "not_found",
          message:
            "Unknown compliance path. Use /api/compliance/tasks/<task id>, …/bundle.tar.gz or /api/compliance/checkpoints.",
        });
      const taskId = task[1]!.toLowerCase();
      const bundle = await buildEvidenceBundle(deps.sql, taskId, deps.artifacts, (deps.now ?? (() => new Date()))());
      if (!bundle)
        return reply(res, 404, { error: "not_found", message: `No task ${taskId} and no compliance record for it.` });
      if (!task[2]) return reply(res, 200, bundle);
      res.writeHead(200, {
        "content-type": "application/gzip",
        "content-disposition": `attachment; filename="foreman-evidence-${taskId}.tar.gz"`,
        "cache-control": "no-store",
      });
      await writeEvidenceTarball(bundle, deps.artifacts, res);
      return true;
    } catch (error) {
      deps.log?.error({ err: error, path: url.pathname }, "compliance API request failed");
      if (res.headersSent) {
        res.destroy();
        return true;
      }
      return reply(res, 500, {
        error: "internal",
        message: "Foreman could not read the evidence; the server log has the details.",
      });
    }
  };
}

async function sendCheckpoints(deps: ComplianceRouteDeps, url: URL, res: ServerResponse): Promise<true> {
  const after = Number(url.searchParams.get("after") ?? 0);
  const limit = Number(url.searchParams.get("limit") ?? 100);
  if (!Number.isInteger(after) || after < 0 || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return reply(res, 400, { error: "bad_request", message: "`after` must be a seq (0 or more) and `limit` 1-1000." });
  }
  const checkpoints = await listCheckpoints(deps.sql, after, limit);
  const publicKeys = [...(deps.publicKeys ?? new Map<string, KeyObject>())].map(([keyId, key]) => ({
    keyId,
    pem: key.export({ type: "spki", format: "pem" }).toString(),
  }));
  return reply(res, 200, {
    checkpoints,
    next: checkpoints.length === limit ? checkpoints.at(-1)!.seq : null,
    publicKeys,
  });
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true {
  res
    .writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers })
    .end(JSON.stringify(body));
  return true;
}
