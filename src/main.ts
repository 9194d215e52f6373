import { randomUUID } from "node:crypto";
import { availableParallelism, hostname } from "node:os";
import { getPrivateKey } from "@probot/get-private-key";
import { Probot, Server, type Logger } from "probot";
import { guardRequestBodies, type LargerBodies } from "./http/body-limit.js";
import { addSecurityHeaders } from "./http/security-headers.js";
import { createApiRoutes } from "./http/api/api-routes.js";
import { createJobLimitsReader } from "./engine/runtime-settings.js";
import {
  buildGitHubBaseUrl,
  listSecretValues,
  listSummaryRecipients,
  readDockerConnection,
  readKubernetesSettings,
  type Env,
} from "./config/env.js";
import { openDatabase, type Database } from "./db/client.js";
import type { EngineDeps } from "./engine/deps.js";
import { createIntake } from "./webhooks/intake.js";
import { Worker, type WorkerOptions } from "./engine/worker.js";
import { JobRunner } from "./engine/job-runner.js";
import { buildDockerOptions } from "./agents/docker-connection.js";
import type { Runner } from "./agents/runner.js";
import { parseGlobList } from "./agents/glob.js";
import { loadAgentProfiles } from "./config/load-agent-profiles.js";
import { resolve } from "node:path";
import { buildWritePaceSettings } from "./github/write-pacer.js";
import { buildDatabaseWritePacer } from "./engine/database-write-pacer.js";
import { buildOctokitClass, DEFAULT_OCTOKIT_TUNING, type GitHubClient, type OctokitTuning } from "./github/octokit.js";
import { createApp } from "./index.js";
import { createJobLogRoute } from "./http/job-log-route.js";
import { ARCHIVE_UPLOAD_PATH, createJobArchiveRoute } from "./http/job-archive-route.js";
import { buildComplianceRouteOptions } from "./http/compliance-routes.js";
import { createPauseCheck } from "./engine/pause.js";
import { FileArtifactStore, resolveArtifactsDir } from "./compliance/artifacts.js";
import { startCheckpointScheduler, type CheckpointSchedulerOptions } from "./compliance/checkpoint-scheduler.js";
import { loadCheckpointSigner } from "./chain/checkpoints.js";
import type { SqlClient } from "./db/client.js";
import { createMetricsRoute } from "./http/metrics-route.js";
import { createForemanMetrics, type ForemanMetrics } from "./metrics/foreman-metrics.js";
import { subscribeForemanEvents } from "./events/foreman-events.js";
import { ReplicaLiveness } from "./engine/replica-liveness.js";
import { LocalEffectLeases } from "./engine/local-effect-leases.js";
import { createUiRoutes, type UiSettings } from "./ui/ui-routes.js";
import { resolveVerifyingKeys } from "./chain/checkpoints.js";
import { buildEvidenceUrl, buildJobLogUrl, buildRepoWebUrl } from "./engine/links.js";
import { createSmtpMailer } from "./summary/summary-mailer.js";
import { startSummaryScheduler, type SummarySchedulerOptions } from "./summary/summary-scheduler.js";
import { ReconcileSweeper } from "./engine/reconcile/reconcile-sweep.js";
import { createRenderWorkerPool } from "./prompts/render-prompt.js";

/** What composing Foreman needs. Tests pass their own database, logger, tuning and clock. */

/** Probot's server, with the request body limit in front of every route (Probot's webhook route included). */
class GuardedServer extends Server {
  /** Set when the Kubernetes runner's uploads are served (up to WORKSPACE_MAX_MB). */
  largerBodies: LargerBodies | null = null;

  override async start(): ReturnType<Server["start"]> {
    const http = await super.start();
    guardRequestBodies(http, undefined, this.largerBodies);
    addSecurityHeaders(http);
    return http;
  }
}

export interface ForemanOptions {
  env: Env;
  database: Database;
  log: Logger;
  octokitTuning?: OctokitTuning;
  worker?: Partial<WorkerOptions>;
  /** Agent jobs: off to compose without a Docker daemon; a runner to use instead of Docker. */
  agents?: { enabled?: boolean; runner?: Runner; heartbeatMs?: number };
  engine?: Partial<Pick<EngineDeps, "now" | "random" | "newId" | "leaseMs" | "retryBaseMs">>;
  /** Connections of the engine's own pool (default 20); tests running several processes on one server use fewer. */
  enginePoolMax?: number;
}

/** What `Foreman.start()` starts; everything by default (tests leave out what they drive themselves). */
export interface StartOptions {
  /** Listen for HTTP (webhooks, health, the APIs). */
  listen?: boolean;
  /** Run the compliance scheduler (checkpoints and the durable delivery of outbound hooks) and the daily summaries. */
  compliance?: boolean;
  /** Run the reconciliation sweep (default: when listening for webhooks, whose misses it repairs). */
  reconcile?: boolean;
}

/** A composed Foreman: the Probot server, the app instance, the worker and the job runner, not yet started. */
export interface Foreman {
  server: Server;
  probot: Probot;
  worker: Worker;
  /** The agent job runner, when agents are enabled. */
  jobs: JobRunner | null;
  deps: EngineDeps;
  /** The metrics `GET /metrics` serves; fed by Foreman's events while started. */
  metrics: ForemanMetrics;
  /** The reconciliation sweep of missed webhooks (tests call `sweep()` themselves). */
  reconcile: ReconcileSweeper;
  /** Start everything: the HTTP server, the worker, the job runner, the compliance scheduler. Nothing else starts any of them. */
  start(options?: StartOptions): Promise<void>;
  /** Stop what `start()` started, waiting for work in flight, and close the engine's pool (the caller's database is the caller's). */
  stop(): Promise<void>;
}

/** The compliance scheduler's settings from the environment: signing key, policy, publication and hook delivery. */
export function buildCheckpointSchedulerOptions(
  env: Env,
  sql: SqlClient,
  log: CheckpointSchedulerOptions["log"],
): CheckpointSchedulerOptions {
  return {
    sql,
    signer: env.CHECKPOINT_SIGNING_KEY ? loadCheckpointSigner(env.CHECKPOINT_SIGNING_KEY) : null,
    policy: { everyRecords: env.CHECKPOINT_EVERY_RECORDS, everyMinutes: env.CHECKPOINT_EVERY_MINUTES },
    publish: env.CHECKPOINT_PUBLISH_URL !== undefined,
    hooks: {
      changeHookUrl: env.CHANGE_HOOK_URL,
      changeHookSecret: env.CHANGE_HOOK_SECRET,
      checkpointPublishUrl: env.CHECKPOINT_PUBLISH_URL,
      artifacts: new FileArtifactStore(resolveArtifactsDir(env)),
      log,
    },
    log,
  };
}

/** The dashboard's settings from the environment; null (the dashboard off) without UI_SESSION_SECRET and the OAuth client. */
export function buildUiSettings(env: Env): UiSettings | null {
  if (!env.UI_SESSION_SECRET || !env.GITHUB_CLIENT_ID || !env.GITHUB_CLIENT_SECRET) return null;
  return {
    oauth: {
      clientId: env.GITHUB_CLIENT_ID,
      clientSecret: env.GITHUB_CLIENT_SECRET,
      webBaseUrl: env.GHE_HOST ? `${env.GHE_PROTOCOL}://${env.GHE_HOST}` : "https://github.com",
      apiBaseUrl: buildGitHubBaseUrl(env),
    },
    sessionSecret: env.UI_SESSION_SECRET,
    operators: env.UI_OPERATORS,
    auditors: env.UI_AUDITORS,
    publicUrl: env.PUBLIC_URL?.replace(/\/+$/, "") ?? null,
  };
}

/**
 * The daily summaries' settings from the environment (webhook, email over SMTP, hour, links), or
 * null when neither `SUMMARY_WEBHOOK_URL` nor `SUMMARY_EMAIL_TO` is set.
 */
export function buildSummarySchedulerOptions(
  env: Env,
  sql: SqlClient,
  log: SummarySchedulerOptions["log"],
): SummarySchedulerOptions | null {
  const to = listSummaryRecipients(env);
  if (env.SUMMARY_WEBHOOK_URL === undefined && to.length === 0) return null;
  const publicUrl = env.PUBLIC_URL?.replace(/\/+$/, "") ?? null;
  const webBaseUrl = env.GHE_HOST ? `${env.GHE_PROTOCOL}://${env.GHE_HOST}` : "https://github.com";
  const smtp = env.SMTP_URL
    ? { url: env.SMTP_URL }
    : {
        host: env.SMTP_HOST ?? "",
        port: env.SMTP_PORT,
        secure: env.SMTP_SECURE,
        user: env.SMTP_USER,
        pass: env.SMTP_PASS,
      };
  return {
    sql,
    webhookUrl: env.SUMMARY_WEBHOOK_URL,
    webhookSecret: env.SUMMARY_WEBHOOK_SECRET,
    email:
      to.length > 0 && env.SUMMARY_EMAIL_FROM
        ? { to, from: env.SUMMARY_EMAIL_FROM, mailer: createSmtpMailer(smtp) }
        : undefined,
    hourUtc: env.SUMMARY_HOUR_UTC,
    links: {
      jobLog: (jobId, token) => (publicUrl ? buildJobLogUrl(publicUrl, jobId, token) : null),
      evidence: (taskId) => (publicUrl ? buildEvidenceUrl(publicUrl, taskId) : null),
      issue: (fullName, issueNumber) => {
        const [owner = "", name = ""] = fullName.split("/");
        return `${buildRepoWebUrl(webBaseUrl, { owner, name })}/issues/${issueNumber}`;
      },
    },
    log,
  };
}

/** Compose Foreman from its parts: Probot with our Octokit, the webhook handlers, the engine worker. */
export async function buildForeman(options: ForemanOptions): Promise<Foreman> {
  const { env, database, log } = options;
  const ProbotClass = Probot.defaults({
    appId: env.APP_ID,
    privateKey:
      getPrivateKey({ env: { PRIVATE_KEY: env.PRIVATE_KEY, PRIVATE_KEY_PATH: env.PRIVATE_KEY_PATH } }) ?? undefined,
    secret: env.WEBHOOK_SECRET,
    baseUrl: buildGitHubBaseUrl(env),
    log,
    Octokit: buildOctokitClass(options.octokitTuning ?? DEFAULT_OCTOKIT_TUNING, {
      timeoutMs: env.GITHUB_TIMEOUT_MS,
      log,
      ...(env.GITHUB_WRITES_PER_HOUR > 0
        ? {
            pacer: buildDatabaseWritePacer(
              database.sql,
              buildWritePaceSettings({ writesPerHour: env.GITHUB_WRITES_PER_HOUR, burst: env.GITHUB_WRITE_BURST }),
            ),
          }
        : {}),
    }),
  });
  const server = new GuardedServer({
    Probot: ProbotClass,
    host: env.HOST ?? "0.0.0.0",
    // Probot takes 0 for "unset" (`port || 3000`); the string "0" gets to listen(), which then picks a free port.
    port: env.PORT === 0 ? ("0" as unknown as number) : env.PORT,
    webhookPath: env.WEBHOOK_PATH,
    webhookProxy: env.WEBHOOK_PROXY_URL,
    log,
    enableStaticFiles: false,
  });

  let worker: Worker | null = null;
  const intake = createIntake(database, () => worker?.wake(), log);
  let probot: Probot | null = null;
  const policy = { productionMode: env.PRODUCTION_MODE, allowedRepos: env.ALLOWED_REPOS };
  const appFn = createApp({ database, intake, policy, compliance: buildComplianceRouteOptions(env) });
  await server.load(async (app, appOptions) => {
    probot = app;
    await appFn(app, appOptions);
  });
  if (!probot) throw new Error("Probot did not load the app");
  server.addHandler(createJobLogRoute(database));
  // RUNNER=kubernetes: a Job per agent job, its files through this replica's archive endpoints.
  // Each runner's client is imported only when it is used: the Kubernetes client alone is ~70 MB
  // of RSS, dockerode ~25 MB (docs/performance.md#rss).
  const agentsEnabled = options.agents?.enabled ?? env.AGENTS_ENABLED;
  const runnerKind = !agentsEnabled || options.agents?.runner !== undefined ? null : env.RUNNER;
  const kubernetes =
    runnerKind === "kubernetes"
      ? (await import("./agents/kubernetes/build-kubernetes-runner.js")).buildKubernetesRunner(
          readKubernetesSettings(env),
        )
      : null;
  if (kubernetes !== null) {
    server.addHandler(createJobArchiveRoute(kubernetes.archives));
    server.largerBodies = { path: ARCHIVE_UPLOAD_PATH, maxBytes: env.WORKSPACE_MAX_MB * 1024 * 1024 };
  }
  const metrics = createForemanMetrics({ sql: database.sql });
  server.addHandler(createMetricsRoute(metrics, env.METRICS_TOKEN));
  const ui = createUiRoutes({
    sql: database.sql,
    settings: buildUiSettings(env),
    artifacts: new FileArtifactStore(resolveArtifactsDir(env)),
    publicKeys: resolveVerifyingKeys(env),
    pausedByEnv: env.FOREMAN_PAUSED,
    pollMs: env.POLL_INTERVAL_MS,
    log: log.child({ name: "ui" }),
  });
  server.addHandler(ui.handle);
  const loaded: Probot = probot;

  // The engine's own pool commits asynchronously: everything it writes is re-derived from the
  // durably stored inbox after a crash, and effects are idempotent (docs/adr/0003).
  const engineDatabase = openDatabase(database.url, { asyncCommit: true, max: options.enginePoolMax ?? 20 });
  // One client per installation: its auth strategy renews the installation token by itself.
  const clients = new Map<number, Promise<GitHubClient>>();
  const replicaId = env.REPLICA_ID ?? `${hostname()}-${process.pid}`;
  const liveness = new ReplicaLiveness(database.url, replicaId, log.child({ name: "liveness" }), env.POLL_INTERVAL_MS);
  const deps: EngineDeps = {
    database: engineDatabase,
    github: (installationId) => {
      let client = clients.get(installationId);
      if (!client) {
        client = loaded.auth(installationId) as Promise<GitHubClient>;
        client.catch(() => clients.delete(installationId));
        clients.set(installationId, client);
      }
      return client;
    },
    log: log.child({ name: "engine" }),
    now: () => new Date(),
    random: Math.random,
    newId: randomUUID,
    webBaseUrl: env.GHE_HOST ? `${env.GHE_PROTOCOL}://${env.GHE_HOST}` : "https://github.com",
    replicaId,
    liveness,
    localLeases: new LocalEffectLeases(),
    maxEffectAttempts: env.EFFECT_MAX_ATTEMPTS,
    leaseMs: 60_000,
    retryBaseMs: 1000,
    defaultAgent: env.DEFAULT_AGENT,
    publicUrl: env.PUBLIC_URL?.replace(/\/+$/, "") ?? null,
    displayDelayMs: env.DISPLAY_DELAY_MS,
    ...(env.APP_ID !== undefined ? { appId: env.APP_ID } : {}),
    isPaused: createPauseCheck(database.sql, env.FOREMAN_PAUSED),
    evidence: { store: new FileArtifactStore(resolveArtifactsDir(env)), secrets: listSecretValues(env) },
    ...options.engine,
  };
  worker = new Worker(deps, {
    concurrency: env.WORKER_CONCURRENCY,
    pollIntervalMs: env.POLL_INTERVAL_MS,
    listen: true,
    ...options.worker,
  });
  const running = worker;
  const runner =
    options.agents?.runner ??
    kubernetes?.runner ??
    (runnerKind === "docker"
      ? new (await import("./agents/docker-runner.js")).DockerRunner(
          buildDockerOptions(readDockerConnection(env)),
          { timeoutMs: env.DOCKER_TIMEOUT_MS },
          {
            egress: {
              image: env.EGRESS_PROXY_IMAGE,
              prefix: env.EGRESS_NAME_PREFIX,
              dir: resolve(env.EGRESS_DIR ?? `${env.DATA_DIR}/egress`),
              internalAllow: env.EGRESS_INTERNAL_ALLOW,
              replica: deps.replicaId,
            },
          },
        )
      : null);
  // Prompts render in a few long-lived workers, started at the first render (docs/adr/0106).
  const renderPool = createRenderWorkerPool(Math.min(2, availableParallelism()));
  const jobs =
    agentsEnabled && runner !== null
      ? new JobRunner(
          {
            engine: deps,
            artifacts: new FileArtifactStore(resolveArtifactsDir(env)),
            secrets: listSecretValues(env),
            runner,
            imageAllowlist: parseGlobList(env.AGENT_IMAGE_ALLOWLIST),
            egressAllow: env.AGENT_EGRESS_ALLOW,
            appProfiles: loadAgentProfiles(env.AGENT_PROFILES_FILE),
            repoOverrides: { fields: env.REPO_PROFILE_OVERRIDES, secretProfiles: env.REPO_PROFILE_SECRETS },
            maxLimits: {
              memoryMb: env.AGENT_MAX_MEMORY_MB,
              cpus: env.AGENT_MAX_CPUS,
              pidsLimit: env.AGENT_MAX_PIDS,
              timeoutSeconds: env.AGENT_MAX_TIMEOUT_SECONDS,
            },
            agentSecrets: env.agentSecrets,
            workspaceDir: resolve(env.WORKSPACE_DIR ?? `${env.DATA_DIR}/workspaces`),
            keepFailedWorkspaceMs: env.KEEP_FAILED_WORKSPACE_MINUTES * 60_000,
            hostCommandTimeoutMs: env.HOST_COMMAND_TIMEOUT_SECONDS * 1000,
            workspaceMaxBytes: env.WORKSPACE_MAX_MB * 1024 * 1024,
            repoTarballMaxBytes: env.REPO_TARBALL_MAX_MB * 1024 * 1024,
            ...(env.WORKSPACE_SOURCE === "mirror"
              ? {
                  mirror: {
                    dir: resolve(env.MIRROR_DIR ?? `${env.DATA_DIR}/mirrors`),
                    gitBaseUrl: `${env.GHE_PROTOCOL}://${env.GHE_HOST ?? "github.com"}`,
                    maxBytes: env.MIRROR_MAX_GB * 1024 * 1024 * 1024,
                    maxAgeMs: env.MIRROR_MAX_AGE_DAYS * 24 * 60 * 60 * 1000,
                  },
                }
              : {}),
            heartbeatMs: options.agents?.heartbeatMs ?? 1000,
            maxAttempts: 3,
            renderPool,
          },
          {
            maxConcurrent: env.MAX_CONCURRENT_JOBS,
            maxPerRepo: env.MAX_JOBS_PER_REPO,
            readLimits: createJobLimitsReader(database.sql, {
              maxConcurrent: env.MAX_CONCURRENT_JOBS,
              maxPerRepo: env.MAX_JOBS_PER_REPO,
            }),
            ...(deps.isPaused ? { isPaused: deps.isPaused } : {}),
            pollIntervalMs: env.POLL_INTERVAL_MS,
            listen: options.worker?.listen ?? true,
          },
        )
      : null;
  deps.onJobCancelled = (jobId) => jobs?.cancel(jobId);
  server.addHandler(
    createApiRoutes({
      sql: database.sql,
      engine: deps,
      environment: {
        maxConcurrent: env.MAX_CONCURRENT_JOBS,
        maxPerRepo: env.MAX_JOBS_PER_REPO,
        paused: env.FOREMAN_PAUSED,
      },
      rateLimitPerMinute: env.API_RATE_LIMIT_PER_MINUTE,
      log,
    }),
  );
  const reconcile = new ReconcileSweeper(
    {
      sql: database.sql,
      github: (installationId) => deps.github(installationId),
      app: () => loaded.auth() as Promise<GitHubClient>,
      wake: () => running.wake(),
      log: log.child({ name: "reconcile" }),
      now: () => deps.now(),
      policy,
      appId: env.APP_ID ?? null,
      requestBudget: 500,
      rateLimitFloor: 500,
      retentionDays: env.RETENTION_DAYS,
    },
    env.RECONCILE_INTERVAL_MINUTES * 60_000,
  );
  let listening = false;
  let stopCompliance: (() => Promise<void>) | null = null;
  let unsubscribeMetrics: (() => void) | null = null;
  let stopSummaries: (() => Promise<void>) | null = null;
  return {
    server,
    probot: loaded,
    worker: running,
    jobs,
    deps,
    metrics,
    reconcile,
    async start(startOptions = {}) {
      unsubscribeMetrics ??= subscribeForemanEvents(metrics.handle);
      if (startOptions.listen !== false) {
        await server.start();
        listening = true;
      }
      await liveness.start();
      await running.start();
      await jobs?.start();
      if (startOptions.compliance !== false) {
        // Checkpoints and change hooks write through the durable pool (not the engine's async-commit one).
        // Outbound hook leases name this replica; right after taking its lock it also frees its predecessor's.
        const replica = { name: replicaId, restarted: liveness.restarted };
        stopCompliance = startCheckpointScheduler({
          ...buildCheckpointSchedulerOptions(env, database.sql, log.child({ name: "compliance" })),
          replica,
        });
        const summaries = buildSummarySchedulerOptions(env, database.sql, log.child({ name: "summary" }));
        if (summaries) stopSummaries = startSummaryScheduler({ ...summaries, replica });
      }
      if (startOptions.reconcile ?? startOptions.listen !== false) reconcile.start();
    },
    async stop() {
      // Live streams hold their connections open: end them, or the server waits for them.
      ui.close();
      if (listening) await server.stop();
      listening = false;
      await reconcile.stop();
      await jobs?.stop();
      await renderPool.close();
      await running.stop();
      await stopCompliance?.();
      stopCompliance = null;
      unsubscribeMetrics?.();
      unsubscribeMetrics = null;
      await liveness.stop();
      await stopSummaries?.();
      stopSummaries = null;
      await engineDatabase.close();
    },
  };
}
