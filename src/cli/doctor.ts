import { createSign } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getPrivateKey } from "@probot/get-private-key";
import Docker from "dockerode";
import { buildDockerOptions, findDockerConnectionProblem } from "../agents/docker-connection.js";
import { BUILT_IN_PROFILES } from "../agents/profiles.js";
import { buildGitHubBaseUrl, EnvError, parseEnv, readDockerConnection, type Env } from "../config/env.js";
import { loadAgentProfiles } from "../config/load-agent-profiles.js";
import { openDatabase } from "../db/client.js";
import { MIGRATIONS_FOLDER } from "../db/migrate.js";
import { findMigrationStatus } from "../db/queries/find-migration-status.js";

/** The usage of `foreman doctor`. */
export const DOCTOR_USAGE = `Usage: foreman doctor [--progress]
Checks the environment, the database and its migrations, the Docker engine, the agent images, the
GitHub App's credentials, its recent webhook deliveries and the egress proxy image, and says for each
what to fix. Exit 0 when every check passes, 1 when any fails. --progress names each check as it
starts (on stderr; the default when stderr is a terminal).`;

/** What one check found: ok, failed (with the fix), or skipped because an earlier check failed. */
export interface CheckResult {
  status: "ok" | "failed" | "skipped";
  detail: string;
  fix?: string;
}

/** What the doctor uses; tests pass their own environment and outputs. */
export interface DoctorDeps {
  /** The raw environment (process.env with .env applied). */
  environment: Record<string, string | undefined>;
  out: (text: string) => void;
  /** Progress lines (stderr). */
  progress: (text: string) => void;
  /** Whether stderr is a terminal: progress is shown then, or with --progress. */
  progressByDefault: boolean;
  now?: () => Date;
}

interface Check {
  name: string;
  run: () => Promise<CheckResult>;
}

/** `foreman doctor`: run every check in turn, print each result as it comes, exit non-zero if any failed. */
export async function runDoctorCommand(args: readonly string[], deps: DoctorDeps): Promise<number> {
  if (args.includes("--help")) {
    deps.out(DOCTOR_USAGE);
    return 0;
  }
  const unknown = args.find((arg) => arg !== "--progress");
  if (unknown !== undefined) {
    deps.out(`unknown option ${unknown}\n\n${DOCTOR_USAGE}`);
    return 2;
  }
  const showProgress = args.includes("--progress") || deps.progressByDefault;
  const now = deps.now ?? (() => new Date());
  let env: Env | null = null;
  const context: { env: () => Env; appOk: boolean } = { env: () => env!, appOk: false };
  const checks: Check[] = [
    {
      name: "environment",
      run: async () => {
        try {
          env = parseEnv(deps.environment);
          return { status: "ok", detail: "every variable parses" };
        } catch (error) {
          if (!(error instanceof EnvError)) throw error;
          return {
            status: "failed",
            detail: error.problems.join("; "),
            fix: "set or correct the variables named (README, Environment variables); a .env in the working directory is read too",
          };
        }
      },
    },
    { name: "database", run: () => checkDatabase(context.env()) },
    { name: "docker", run: () => checkDocker(context.env()) },
    { name: "agent images", run: () => checkAgentImages(context.env()) },
    {
      name: "github app",
      run: async () => {
        const result = await checkGitHubApp(context.env(), now());
        context.appOk = result.status === "ok";
        return result;
      },
    },
    {
      name: "webhook deliveries",
      run: () =>
        context.appOk
          ? checkWebhookDeliveries(context.env(), now())
          : Promise.resolve({ status: "skipped", detail: "needs the GitHub App's credentials (see above)" }),
    },
    { name: "egress proxy image", run: () => checkEgressImage(context.env()) },
  ];
  let failed = 0;
  for (const [index, check] of checks.entries()) {
    if (showProgress) deps.progress(`[${index + 1}/${checks.length}] checking ${check.name}…`);
    const result: CheckResult =
      index > 0 && env === null
        ? { status: "skipped", detail: "needs a valid environment (see above)" }
        : await check.run().catch((error: unknown): CheckResult => ({
            status: "failed",
            detail: `the check itself failed: ${(error as Error).message}`,
          }));
    if (result.status === "failed") failed += 1;
    const label = result.status === "ok" ? "ok     " : result.status === "failed" ? "FAILED " : "skipped";
    deps.out(`${label} ${check.name.padEnd(18)} ${result.detail}`);
    if (result.fix) deps.out(`${" ".repeat(8)}${" ".repeat(19)}fix: ${result.fix}`);
  }
  deps.out(
    failed === 0 ? "All checks passed." : `${failed} check${failed === 1 ? "" : "s"} failed: fix what each says.`,
  );
  return failed === 0 ? 0 : 1;
}

async function checkDatabase(env: Env): Promise<CheckResult> {
  if (env.DATABASE_URL === undefined)
    return {
      status: "ok",
      detail: `DATABASE_URL is unset: the embedded PostgreSQL under ${env.DATA_DIR} is used (foreman serve starts and migrates it); not checked`,
    };
  const database = openDatabase(env.DATABASE_URL, { max: 1 });
  try {
    const status = await findMigrationStatus(database.sql);
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
      entries: Array<{ tag: string; when: number }>;
    };
    const pending = journal.entries.filter(
      (entry) => status.lastAppliedAt === null || entry.when > status.lastAppliedAt,
    );
    if (pending.length > 0)
      return {
        status: "failed",
        detail: `PostgreSQL ${status.serverVersion} reached; ${pending.length} of ${journal.entries.length} migrations pending (${pending
          .slice(0, 3)
          .map((entry) => entry.tag)
          .join(", ")}${pending.length > 3 ? ", …" : ""})`,
        fix: "run foreman migrate (foreman serve also migrates at start); if this is not Foreman's database, point DATABASE_URL at it",
      };
    return {
      status: "ok",
      detail: `PostgreSQL ${status.serverVersion} reached; all ${journal.entries.length} migrations applied`,
    };
  } catch (error) {
    return {
      status: "failed",
      detail: `cannot reach the database at DATABASE_URL: ${(error as Error).message}`,
      fix: "check DATABASE_URL (host, port, user, password, database name) and that PostgreSQL is running and reachable from here",
    };
  } finally {
    await database.close();
  }
}

function openDocker(env: Env): Docker | CheckResult {
  const problem = findDockerConnectionProblem(readDockerConnection(env));
  if (problem !== null) return { status: "failed", detail: problem, fix: "correct the Docker settings named" };
  try {
    return new Docker(buildDockerOptions(readDockerConnection(env)));
  } catch (error) {
    return {
      status: "failed",
      detail: `cannot use the Docker settings: ${(error as Error).message}`,
      fix: "check DOCKER_HOST, DOCKER_TLS_VERIFY and the files in DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem)",
    };
  }
}

async function checkDocker(env: Env): Promise<CheckResult> {
  if (!env.AGENTS_ENABLED) return { status: "ok", detail: "AGENTS_ENABLED=false: this replica runs no agents" };
  const docker = openDocker(env);
  if (!(docker instanceof Docker)) return docker;
  try {
    const version = (await withDeadline(docker.version(), env.DOCKER_TIMEOUT_MS)) as { Version?: string };
    return {
      status: "ok",
      detail: `Docker Engine ${version.Version ?? "?"} at ${env.DOCKER_HOST ?? "/var/run/docker.sock"}`,
    };
  } catch (error) {
    return {
      status: "failed",
      detail: `the Docker daemon at ${env.DOCKER_HOST ?? "/var/run/docker.sock"} does not answer: ${(error as Error).message}`,
      fix: "start the Docker daemon (or point DOCKER_HOST at it) and give this user access to its socket; without it agent jobs fail (AGENTS_ENABLED=false on replicas that run none)",
    };
  }
}

async function checkAgentImages(env: Env): Promise<CheckResult> {
  if (!env.AGENTS_ENABLED) return { status: "ok", detail: "AGENTS_ENABLED=false: no agent images needed" };
  const docker = openDocker(env);
  if (!(docker instanceof Docker)) return { status: "skipped", detail: "needs the Docker settings (see above)" };
  let defaultImage: string | undefined;
  try {
    defaultImage =
      loadAgentProfiles(env.AGENT_PROFILES_FILE)[env.DEFAULT_AGENT]?.image ??
      BUILT_IN_PROFILES[env.DEFAULT_AGENT]?.image;
  } catch (error) {
    return { status: "failed", detail: (error as Error).message, fix: "correct AGENT_PROFILES_FILE" };
  }
  if (defaultImage === undefined)
    return {
      status: "failed",
      detail: `DEFAULT_AGENT=${env.DEFAULT_AGENT} names no profile`,
      fix: `set DEFAULT_AGENT to a built-in profile (${Object.keys(BUILT_IN_PROFILES).join(", ")}) or one in AGENT_PROFILES_FILE`,
    };
  let present: string[];
  try {
    const images = await withDeadline(docker.listImages(), env.DOCKER_TIMEOUT_MS);
    present = images.flatMap((image) => image.RepoTags ?? []);
  } catch {
    return { status: "skipped", detail: "needs the Docker daemon (see above)" };
  }
  const ours = present.filter((tag) => tag.startsWith("foreman-agents/") && tag.endsWith(":latest")).sort();
  const names = ours.map((tag) => tag.slice("foreman-agents/".length, -":latest".length)).join(", ") || "none";
  // Profiles whose image is missing fail their jobs, but only the default agent's is needed by every task.
  const otherMissing = [
    ...new Set(
      Object.entries(BUILT_IN_PROFILES)
        .filter(([, profile]) => profile.image.startsWith("foreman-agents/") && profile.image !== defaultImage)
        .filter(([, profile]) => !present.includes(withTag(profile.image)))
        .map(([name]) => name),
    ),
  ];
  const note =
    otherMissing.length > 0 ? `; profiles without their image (their jobs fail): ${otherMissing.join(", ")}` : "";
  if (!present.includes(withTag(defaultImage)))
    return {
      status: "failed",
      detail: `DEFAULT_AGENT=${env.DEFAULT_AGENT}'s image ${defaultImage} is not on the daemon; foreman-agents/* present: ${names}${note}`,
      fix: "build the agent images on this daemon: sudo npm run images:build (offline; docs/agents.md, Agent images), or load the image, or set DEFAULT_AGENT to a profile whose image is present",
    };
  return {
    status: "ok",
    detail: `DEFAULT_AGENT=${env.DEFAULT_AGENT}'s image ${defaultImage} is present; foreman-agents/* present: ${names}${note}`,
  };
}

async function checkEgressImage(env: Env): Promise<CheckResult> {
  if (!env.AGENTS_ENABLED) return { status: "ok", detail: "AGENTS_ENABLED=false: no egress proxy" };
  const docker = openDocker(env);
  if (!(docker instanceof Docker)) return { status: "skipped", detail: "needs the Docker settings (see above)" };
  try {
    await withDeadline(docker.getImage(env.EGRESS_PROXY_IMAGE).inspect(), env.DOCKER_TIMEOUT_MS);
    return { status: "ok", detail: `${env.EGRESS_PROXY_IMAGE} is present` };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404)
      return { status: "skipped", detail: "needs the Docker daemon (see above)" };
    return {
      status: "failed",
      detail: `EGRESS_PROXY_IMAGE=${env.EGRESS_PROXY_IMAGE} is not on the daemon: network: egress jobs (every built-in CLI profile) fail`,
      fix: "build it with sudo npm run images:build (foreman-agents/egress-proxy), or load it and set EGRESS_PROXY_IMAGE to its name",
    };
  }
}

/** The app's JWT (RS256, 10 minutes at most, issued a minute early for clock drift), as GitHub asks for `/app`. */
function buildAppJwt(appId: number, privateKey: string, now: Date): string {
  const seconds = Math.floor(now.getTime() / 1000);
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${encode({ alg: "RS256", typ: "JWT" })}.${encode({ iat: seconds - 60, exp: seconds + 540, iss: appId })}`;
  const signature = createSign("RSA-SHA256").update(unsigned).sign(privateKey).toString("base64url");
  return `${unsigned}.${signature}`;
}

async function requestAsApp(env: Env, path: string, now: Date): Promise<Response | CheckResult> {
  if (env.APP_ID === undefined)
    return {
      status: "failed",
      detail: "APP_ID is not set: the GitHub App is not registered yet",
      fix: "register it: run foreman serve and open the setup page (README, Registering the app), then set APP_ID, PRIVATE_KEY_PATH and WEBHOOK_SECRET",
    };
  const key = getPrivateKey({ env: { PRIVATE_KEY: env.PRIVATE_KEY, PRIVATE_KEY_PATH: env.PRIVATE_KEY_PATH } });
  let jwt: string;
  try {
    if (!key) throw new Error("no key");
    jwt = buildAppJwt(env.APP_ID, key, now);
  } catch {
    return {
      status: "failed",
      detail: "the private key (PRIVATE_KEY or PRIVATE_KEY_PATH) is not a PEM RSA key",
      fix: "download a private key from the app's settings page (Private keys) and point PRIVATE_KEY_PATH at the .pem file",
    };
  }
  return fetch(`${buildGitHubBaseUrl(env)}${path}`, {
    headers: {
      accept: "application/vnd.github+json",
      authorization: `Bearer ${jwt}`,
      "user-agent": "foreman-doctor",
      "x-github-api-version": "2022-11-28",
    },
    signal: AbortSignal.timeout(env.GITHUB_TIMEOUT_MS),
  });
}

async function checkGitHubApp(env: Env, now: Date): Promise<CheckResult> {
  let response: Response | CheckResult;
  try {
    response = await requestAsApp(env, "/app", now);
  } catch (error) {
    return {
      status: "failed",
      detail: `cannot reach GitHub at ${buildGitHubBaseUrl(env)}: ${(error as Error).message}`,
      fix: "check this host's network and proxy settings (and GHE_HOST for GitHub Enterprise Server)",
    };
  }
  if (!(response instanceof Response)) return response;
  if (response.status === 401)
    return {
      status: "failed",
      detail: `GitHub refused the app's credentials (401): the private key does not belong to APP_ID=${env.APP_ID}, or this host's clock is off`,
      fix: "check APP_ID against the app's settings page, generate a new private key there and point PRIVATE_KEY_PATH at it; check the clock (NTP)",
    };
  if (response.status === 404)
    return {
      status: "failed",
      detail: `GitHub knows no app with APP_ID=${env.APP_ID} (404)`,
      fix: "set APP_ID to the App ID on the app's settings page (and GHE_HOST if it lives on GitHub Enterprise Server)",
    };
  if (!response.ok)
    return {
      status: "failed",
      detail: `GET /app answered ${response.status}`,
      fix: "try again; if it persists, check githubstatus.com (or your GitHub Enterprise Server)",
    };
  const app = (await response.json()) as { slug?: string; name?: string; html_url?: string };
  return { status: "ok", detail: `authenticated as ${app.name ?? "?"} (${app.slug ?? "?"}, APP_ID=${env.APP_ID})` };
}

/** A delivery as `GET /app/hook/deliveries` lists it (the fields read). */
interface HookDelivery {
  guid: string;
  delivered_at: string;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
}

async function checkWebhookDeliveries(env: Env, now: Date): Promise<CheckResult> {
  const response = await requestAsApp(env, "/app/hook/deliveries?per_page=50", now);
  if (!(response instanceof Response)) return response;
  if (!response.ok)
    return {
      status: "failed",
      detail: `GET /app/hook/deliveries answered ${response.status}`,
      fix: "check that the app has a webhook URL and is active (the app's settings page, Webhook)",
    };
  const deliveries = (await response.json()) as HookDelivery[];
  if (deliveries.length === 0)
    return {
      status: "ok",
      detail: "no deliveries yet (install the app on a repository and label an issue to see one)",
    };
  const failures = deliveries.filter((delivery) => delivery.status_code === 0 || delivery.status_code >= 400);
  if (failures.length === 0) return { status: "ok", detail: `the last ${deliveries.length} deliveries all succeeded` };
  const newest = failures[0]!;
  const what = `${newest.event}${newest.action ? `.${newest.action}` : ""}`;
  return {
    status: "failed",
    detail: `${failures.length} of the last ${deliveries.length} deliveries failed; the newest: ${what} at ${newest.delivered_at}, ${newest.status_code === 0 ? "no answer" : `HTTP ${newest.status_code}`} (${newest.status}, delivery ${newest.guid})`,
    fix: `${fixForDelivery(newest.status_code, env)}; then redeliver from the app's settings page (Advanced → Recent Deliveries)`,
  };
}

function fixForDelivery(statusCode: number, env: Env): string {
  if (statusCode === 0)
    return `GitHub could not reach Foreman: check the app's webhook URL (https://<host>${env.WEBHOOK_PATH}), that foreman serve is running and that the host is reachable from GitHub`;
  if (statusCode === 400 || statusCode === 401)
    return "the signature did not match: WEBHOOK_SECRET must equal the app's webhook secret";
  if (statusCode === 404)
    return `the webhook URL's path is not WEBHOOK_PATH (${env.WEBHOOK_PATH}): correct it in the app's settings`;
  if (statusCode === 413) return "the payload was too large for a proxy in front of Foreman: raise its body limit";
  return "Foreman (or a proxy in front of it) failed on the delivery: see its logs around that time";
}

function withTag(image: string): string {
  return /:[^/]+$/.test(image) ? image : `${image}:latest`;
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
