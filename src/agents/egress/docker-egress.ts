/**
 * The egress firewall on a Docker Engine: the supervised proxy container, its upstream network,
 * one internal network per job, and the per-job policy files in the host directory the proxy
 * mounts. Used by `DockerRunner` (the Runner port's `openEgress` / `closeEgress`); the rules are
 * in the pure modules beside it (egress-spec.ts, squid-config.ts, access-log.ts).
 *
 * Every operation is idempotent: names are deterministic, everything is looked up before it is
 * created, and "already there" / "already gone" answers count as done.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import type Docker from "dockerode";
import { parseDockerLogs } from "../docker-logs.js";
import { RUNNER_ERROR_CODES, RunnerError } from "../errors.js";
import { JOB_LABELS } from "../job-spec.js";
import type { EgressReport, EgressRequest, EgressSession, OrphanNetwork } from "../runner.js";
import { collectJobEgress, type ProxyLogLine } from "./access-log.js";
import { formatEgressRule } from "./egress-rule.js";
import {
  buildEgressNames,
  buildJobNetworkName,
  buildJobNetworkSpec,
  buildProxyContainerSpec,
  buildProxyUrl,
  buildUpstreamNetworkSpec,
  EGRESS_AGENT_DNS,
  EGRESS_LABELS,
  EGRESS_PROXY_ALIAS,
  type EgressNames,
} from "./egress-spec.js";
import {
  buildPolicyFileName,
  POLICY_JOB_ID,
  readPolicyJobId,
  renderPolicyFile,
  renderPolicyHelper,
  renderSquidConfig,
  SQUID_READY_LINE,
} from "./squid-config.js";

/** The operator's egress settings (EGRESS_* in the environment), as the runner takes them. */
export interface EgressSettings {
  /** The proxy image (EGRESS_PROXY_IMAGE): Debian's squid; Foreman brings the configuration. */
  readonly image: string;
  /** Prefix of the firewall's Docker names (EGRESS_NAME_PREFIX): one proxy per prefix. */
  readonly prefix: string;
  /** Host directory for the proxy's configuration and the job policies (EGRESS_DIR); the Docker daemon must see it at the same path. */
  readonly dir: string;
  /** Internal address ranges allowed names may resolve to (EGRESS_INTERNAL_ALLOW). */
  readonly internalAllow: readonly string[];
  /** The replica that owns the proxy and the job networks it creates. */
  readonly replica: string;
  /** How long `close` waits for requests the proxy judged but had not finished (default 2 s). */
  readonly settleMs?: number;
  /** How long a new proxy may take to accept connections (default 30 s). */
  readonly readyTimeoutMs?: number;
}

/** One daemon call under the runner's timeout and circuit breaker. */
export type DockerCall = <T>(action: string, fn: (signal: AbortSignal) => Promise<T>, extraMs?: number) => Promise<T>;

/** The runner's collaborators the firewall reuses. */
export interface DockerEgressDeps {
  readonly docker: Docker;
  readonly call: DockerCall;
  readonly pullImage: (image: string) => Promise<void>;
}

interface ProxyState {
  readonly id: string;
}

const POLL_MS = 100;

/** The egress firewall of one prefix on one Docker daemon. */
export class DockerEgress {
  readonly names: EgressNames;
  private readonly hostDir: string;
  private readonly policyDir: string;
  private ensuring: Promise<ProxyState> | null = null;

  constructor(
    private readonly deps: DockerEgressDeps,
    private readonly settings: EgressSettings,
  ) {
    this.names = buildEgressNames(settings.prefix);
    this.hostDir = join(settings.dir, settings.prefix);
    this.policyDir = join(this.hostDir, "policies");
  }

  /** Makes sure the proxy runs with the current image and configuration; one call at a time per process. */
  async ensureProxy(): Promise<ProxyState> {
    // Concurrent jobs share one check; the next call after it settles checks again (a proxy can die).
    this.ensuring ??= this.ensureProxyOnce().finally(() => {
      this.ensuring = null;
    });
    return this.ensuring;
  }

  /** Opens a job's network, attaches the proxy and writes the job's policy. */
  async open(request: EgressRequest): Promise<EgressSession> {
    if (!POLICY_JOB_ID.test(request.jobId)) {
      throw new RunnerError(
        RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
        `Job id "${request.jobId}" cannot name an egress network`,
      );
    }
    const proxy = await this.ensureProxy();
    const name = buildJobNetworkName(this.names, request.jobId);
    const openedAt = new Date().toISOString();
    await this.ensureJobNetwork(request);
    try {
      const proxyAddress = await this.attachProxy(name, proxy.id);
      await this.writePolicy(proxyAddress, renderPolicyFile(request.jobId, request.rules));
      return {
        jobId: request.jobId,
        network: name,
        proxyUrl: buildProxyUrl(),
        proxyAddress,
        proxyContainerId: proxy.id,
        dns: [...EGRESS_AGENT_DNS],
        rules: request.rules.map(formatEgressRule),
        openedAt,
      };
    } catch (error) {
      await this.removeJobNetwork(request.jobId).catch(() => undefined);
      throw toRunnerError(error, "open the egress network of");
    }
  }

  /** Collects the job's records, then removes its policy and network. Closing twice is harmless. */
  async close(session: EgressSession): Promise<EgressReport> {
    const notes: string[] = [];
    // The policy goes first: from here on nothing new gets out, whatever happens below.
    await this.removePolicy(session.proxyAddress, session.jobId);
    // The records are in the proxy's log already: they are read while the network goes (which also
    // ends any tunnel still open, so its record completes).
    const removing = this.removeJobNetwork(session.jobId);
    // Handled here, still awaited (and its error thrown) below.
    removing.catch(() => undefined);
    let records: EgressReport["records"] = [];
    try {
      const collected = await this.collect(session);
      records = collected.records;
      notes.push(...collected.notes);
    } catch (error) {
      notes.push(`The egress records could not be read from the proxy: ${describe(error)}`);
    } finally {
      await removing;
    }
    return { records, notes };
  }

  /** Removes a job's network (detaching the proxy) and its policy; a missing network is a no-op. */
  async removeJobNetwork(jobId: string): Promise<void> {
    const name = buildJobNetworkName(this.names, jobId);
    const info = await this.inspectNetwork(name);
    if (info === null) return;
    for (const [containerId, endpoint] of Object.entries(info.Containers ?? {})) {
      const address = stripPrefixLength(endpoint.IPv4Address);
      if (address !== null) await this.removePolicy(address, jobId);
      // Only the proxy should still be there; anything else on a job network is a leftover of that job.
      await this.deps
        .call("disconnect a container from", (signal) =>
          this.deps.docker.getNetwork(name).disconnect({ Container: containerId, Force: true, abortSignal: signal }),
        )
        .catch(ignoreStatus(404));
    }
    await this.deps
      .call("remove", (signal) => this.deps.docker.getNetwork(name).remove({ abortSignal: signal }))
      .catch(ignoreStatus(404));
  }

  /** Job networks of this prefix whose job is not live (optionally of one replica only). */
  async listOrphanNetworks(
    liveJobIds: ReadonlySet<string>,
    options: { replica?: string } = {},
  ): Promise<OrphanNetwork[]> {
    return (await this.listJobNetworks(options)).filter((network) => !liveJobIds.has(network.jobId));
  }

  private async listJobNetworks(options: { replica?: string } = {}): Promise<OrphanNetwork[]> {
    const labels = [
      `${EGRESS_LABELS.role}=job`,
      `${EGRESS_LABELS.prefix}=${this.names.prefix}`,
      ...(options.replica === undefined ? [] : [`${JOB_LABELS.replica}=${options.replica}`]),
    ];
    const networks = await this.deps.call("list networks", (signal) =>
      this.deps.docker.listNetworks({ filters: { label: labels }, abortSignal: signal }),
    );
    return networks
      .map((network) => ({
        network: network.Name,
        taskId: network.Labels?.[JOB_LABELS.task] ?? "",
        jobId: network.Labels?.[JOB_LABELS.job] ?? "",
        replica: network.Labels?.[JOB_LABELS.replica] ?? "",
      }))
      .filter((network) => network.jobId !== "");
  }

  /** Removes the proxy container and the upstream network (for tests and uninstalling); idempotent. */
  async removeProxy(): Promise<void> {
    await this.deps
      .call("remove", (signal) =>
        this.deps.docker.getContainer(this.names.proxy).remove({ force: true, v: true, abortSignal: signal }),
      )
      .catch(ignoreStatus(404, 409));
    await this.deps
      .call("remove", (signal) => this.deps.docker.getNetwork(this.names.upstream).remove({ abortSignal: signal }))
      .catch(ignoreStatus(404));
  }

  private async ensureProxyOnce(): Promise<ProxyState> {
    const files = await this.writeConfiguration();
    const imageId = await this.findImageId();
    const configHash = hashOf([this.settings.image, imageId, files.config, files.helper]);
    const spec = buildProxyContainerSpec({
      names: this.names,
      image: this.settings.image,
      hostDir: this.hostDir,
      configHash,
      replica: this.settings.replica,
    });
    await this.ensureUpstreamNetwork();
    const existing = await this.inspectContainer(this.names.proxy);
    if (existing !== null) {
      const current = existing.Config.Labels?.[EGRESS_LABELS.config] === configHash && existing.Image === imageId;
      if (current && existing.State.Running && !existing.State.Restarting) return { id: existing.Id };
      // Dead, restarting in a loop, or built from another image or configuration: start afresh.
      await this.deps
        .call("remove", (signal) =>
          this.deps.docker.getContainer(existing.Id).remove({ force: true, v: true, abortSignal: signal }),
        )
        .catch(ignoreStatus(404, 409));
    }
    const id = await this.createProxy(spec);
    await this.waitUntilReady(id);
    await this.reattachJobNetworks(id);
    return { id };
  }

  private async createProxy(spec: Docker.ContainerCreateOptions): Promise<string> {
    let container: Docker.Container;
    try {
      container = await this.deps.call("create", (signal) =>
        this.deps.docker.createContainer({ ...spec, abortSignal: signal }),
      );
    } catch (error) {
      // 409: another replica or a concurrent start created it first; that one is ours too.
      if (statusOf(error) !== 409) throw toRunnerError(error, "create the egress proxy of");
      const raced = await this.inspectContainer(this.names.proxy);
      if (raced === null) throw toRunnerError(error, "create the egress proxy of");
      container = this.deps.docker.getContainer(raced.Id);
    }
    await this.deps.call("start", (signal) => container.start({ abortSignal: signal })).catch(ignoreStatus(304));
    return container.id;
  }

  private async waitUntilReady(id: string): Promise<void> {
    const deadline = Date.now() + (this.settings.readyTimeoutMs ?? 30_000);
    for (;;) {
      const lines = await this.readProxyLogs(id, 0);
      if (lines.some((line) => line.line.includes(SQUID_READY_LINE))) return;
      const info = await this.inspectContainer(id);
      if (info === null || !info.State.Running || Date.now() > deadline) {
        const tail = lines
          .slice(-15)
          .map((line) => line.line)
          .join("\n");
        throw new RunnerError(
          RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
          `The egress proxy (${this.names.proxy}, image ${this.settings.image}) did not start accepting connections` +
            `${info?.State.Running === false ? ` (it exited with code ${info.State.ExitCode})` : ""}. ` +
            `Check that the image has Debian's squid at /usr/sbin/squid and a "proxy" user. Its last output:\n${tail}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  // A new proxy container knows none of the running jobs' networks: attach it to each and move
  // each policy to the proxy's new address there (the agents reach the proxy by its alias).
  private async reattachJobNetworks(proxyId: string): Promise<void> {
    const policies = await this.readPolicies();
    const networks = await this.listJobNetworks();
    const kept = new Set<string>();
    for (const network of networks) {
      const policy = policies.find((candidate) => candidate.jobId === network.jobId);
      if (policy === undefined) continue;
      const address = await this.attachProxy(network.network, proxyId).catch(() => null);
      if (address === null) continue;
      await this.writePolicy(address, policy.text);
      kept.add(buildPolicyFileName(address));
    }
    for (const policy of policies) {
      if (!kept.has(policy.file)) await rm(join(this.policyDir, policy.file), { force: true });
    }
  }

  private async ensureUpstreamNetwork(): Promise<void> {
    if ((await this.inspectNetwork(this.names.upstream)) !== null) return;
    await this.deps
      .call("create", (signal) =>
        this.deps.docker.createNetwork({
          ...buildUpstreamNetworkSpec(this.names, this.settings.replica),
          abortSignal: signal,
        } as Docker.NetworkCreateOptions),
      )
      .catch(ignoreStatus(409));
  }

  private async ensureJobNetwork(request: EgressRequest): Promise<void> {
    const name = buildJobNetworkName(this.names, request.jobId);
    const existing = await this.inspectNetwork(name);
    if (existing !== null) {
      if (existing.Labels?.[JOB_LABELS.job] !== request.jobId || existing.Internal !== true) {
        throw new RunnerError(
          RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
          `Network ${name} exists but is not job ${request.jobId}'s internal network; remove it by hand.`,
        );
      }
      return;
    }
    await this.deps
      .call("create", (signal) =>
        this.deps.docker.createNetwork({
          ...buildJobNetworkSpec({
            names: this.names,
            taskId: request.taskId,
            jobId: request.jobId,
            replica: request.replica,
          }),
          abortSignal: signal,
        } as Docker.NetworkCreateOptions),
      )
      .catch(ignoreStatus(409));
  }

  // Connects the proxy to a job network (already connected is fine) and returns its address there.
  private async attachProxy(network: string, proxyId: string): Promise<string> {
    await this.deps
      .call("connect the egress proxy to", (signal) =>
        this.deps.docker.getNetwork(network).connect({
          Container: proxyId,
          EndpointConfig: { Aliases: [EGRESS_PROXY_ALIAS] },
          abortSignal: signal,
        } as Docker.NetworkConnectOptions),
      )
      .catch((error: unknown) => {
        // The daemon says 403 (or 500 on older engines) when the container is already on the network.
        if (!/already exists/i.test(describe(error))) throw error;
      });
    const info = await this.inspectNetwork(network);
    const address = stripPrefixLength(info?.Containers?.[proxyId]?.IPv4Address);
    if (address === null) {
      throw new RunnerError(
        RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
        `The egress proxy has no IPv4 address on ${network}`,
      );
    }
    return address;
  }

  private async collect(session: EgressSession): Promise<{ records: EgressReport["records"]; notes: string[] }> {
    const notes: string[] = [];
    const proxy = await this.inspectContainer(this.names.proxy);
    if (proxy === null) return { records: [], notes: ["The egress proxy was gone when the job ended: no records."] };
    if (proxy.Id !== session.proxyContainerId) {
      notes.push("The egress proxy was recreated while the job ran: records from before that are missing.");
    }
    const since = Math.floor(Date.parse(session.openedAt) / 1000) - 1;
    const key = { jobId: session.jobId, proxyAddress: session.proxyAddress };
    const deadline = Date.now() + (this.settings.settleMs ?? 2000);
    let collected = collectJobEgress(await this.readProxyLogs(proxy.Id, since), key);
    // A request the helper judged is logged when it ends (a tunnel when it closes): wait for those a little.
    while (collected.pending.length > 0 && Date.now() < deadline) {
      await sleep(POLL_MS);
      collected = collectJobEgress(await this.readProxyLogs(proxy.Id, since), key);
    }
    const open = collected.records.filter((record) => !record.complete).length;
    if (open > 0)
      notes.push(`${open} egress request(s) had not finished when the job ended: their byte counts are missing.`);
    return { records: collected.records, notes };
  }

  private async readProxyLogs(id: string, since: number): Promise<readonly ProxyLogLine[]> {
    const buffer = (await this.deps.call("read logs of", (signal) =>
      this.deps.docker.getContainer(id).logs({
        follow: false,
        stdout: true,
        stderr: true,
        timestamps: true,
        since,
        abortSignal: signal,
      }),
    )) as unknown as Buffer;
    return parseDockerLogs(Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer), {
      maxBytes: 16 * 1024 * 1024,
      timestamps: true,
    }).lines;
  }

  private async writeConfiguration(): Promise<{ config: string; helper: string }> {
    const config = renderSquidConfig({ internalAllow: this.settings.internalAllow });
    const helper = renderPolicyHelper();
    await mkdir(this.policyDir, { recursive: true });
    // The proxy reads these as its own user: world-readable, never writable by it.
    await chmod(this.hostDir, 0o755);
    await chmod(this.policyDir, 0o755);
    await writeIfChanged(join(this.hostDir, "squid.conf"), config);
    await writeIfChanged(join(this.hostDir, "policy-helper.sh"), helper);
    return { config, helper };
  }

  private async writePolicy(proxyAddress: string, text: string): Promise<void> {
    const path = join(this.policyDir, buildPolicyFileName(proxyAddress));
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, text, { mode: 0o644 });
    await chmod(temporary, 0o644);
    await rename(temporary, path);
  }

  // Removes the policy at an address only if it is this job's: the address may be another job's by now.
  private async removePolicy(proxyAddress: string, jobId: string): Promise<void> {
    const path = join(this.policyDir, buildPolicyFileName(proxyAddress));
    const text = await readFile(path, "utf8").catch(() => null);
    if (text !== null && readPolicyJobId(text) === jobId) await rm(path, { force: true });
  }

  private async readPolicies(): Promise<{ file: string; jobId: string | null; text: string }[]> {
    const files = await readdir(this.policyDir).catch(() => [] as string[]);
    const policies = [];
    for (const file of files.filter((name) => name.endsWith(".policy"))) {
      const text = await readFile(join(this.policyDir, file), "utf8").catch(() => "");
      policies.push({ file, jobId: readPolicyJobId(text), text });
    }
    return policies;
  }

  private async findImageId(): Promise<string> {
    const inspect = () =>
      this.deps.call("inspect an image", () => this.deps.docker.getImage(this.settings.image).inspect());
    try {
      return (await inspect()).Id;
    } catch (error) {
      if (statusOf(error) !== 404) throw toRunnerError(error, "inspect the egress proxy image of");
    }
    await this.deps.pullImage(this.settings.image);
    return (await inspect()).Id;
  }

  private async inspectContainer(name: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      return await this.deps.call("inspect", (signal) =>
        this.deps.docker.getContainer(name).inspect({ abortSignal: signal }),
      );
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw toRunnerError(error, "inspect the egress proxy of");
    }
  }

  private async inspectNetwork(name: string): Promise<Docker.NetworkInspectInfo | null> {
    try {
      // No signal: network inspect sends its options as the query string.
      return (await this.deps.call("inspect a network", () =>
        this.deps.docker.getNetwork(name).inspect(),
      )) as Docker.NetworkInspectInfo;
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw toRunnerError(error, "inspect the egress network of");
    }
  }
}

async function writeIfChanged(path: string, text: string): Promise<void> {
  const current = await readFile(path, "utf8").catch(() => null);
  if (current !== text) {
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, text, { mode: 0o644 });
    await chmod(temporary, 0o644);
    await rename(temporary, path);
  }
}

function hashOf(parts: readonly string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(`${part.length}:${part}`);
  return hash.digest("hex").slice(0, 32);
}

function stripPrefixLength(address: string | undefined): string | null {
  if (address === undefined || address === "") return null;
  return address.split("/")[0] ?? null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function ignoreStatus(...statuses: number[]): (error: unknown) => void {
  return (error) => {
    if (!statuses.includes(statusOf(error) ?? -1)) throw toRunnerError(error, "change the egress firewall of");
  };
}

function toRunnerError(error: unknown, action: string): RunnerError {
  if (error instanceof RunnerError) return error;
  const code =
    statusOf(error) === undefined
      ? RUNNER_ERROR_CODES.INFRA_DOCKER_UNAVAILABLE
      : RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED;
  return new RunnerError(code, `Docker could not ${action} a job: ${describe(error)}`, { cause: error });
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
