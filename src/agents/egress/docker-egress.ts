/**
 * The egress firewall on a Docker Engine: the supervised proxy container, its upstream network,
 * one internal network per job, and the per-job policy files in the host directory the proxy
 * mounts. Used by `DockerRunner` (the Runner port's `openEgress` / `closeEgress`); the rules are
 * in the pure modules beside it (egress-spec.ts, squid-config.ts, access-log.ts). This class is
 * the firewall's one entry point; its Docker work is in the `docker-egress-*.ts` modules: the
 * proxy container (`-proxy`), the networks (`-networks`), the host directory (`-files`), the
 * records from the proxy's log (`-records`), and the daemon's answers (`-calls`).
 *
 * Every operation is idempotent: names are deterministic, everything is looked up before it is
 * created, and "already there" / "already gone" answers count as done.
 */
import { RUNNER_ERROR_CODES, RunnerError } from "../errors.js";
import type { EgressReport, EgressRequest, EgressSession, OrphanNetwork } from "../runner.js";
import { describe, toRunnerError } from "./docker-egress-calls.js";
import {
  buildEgressContext,
  type DockerEgressDeps,
  type EgressContext,
  type EgressSettings,
} from "./docker-egress-context.js";
import { removePolicy, writePolicy } from "./docker-egress-files.js";
import { attachProxy, ensureJobNetwork, listJobNetworks, removeJobNetwork } from "./docker-egress-networks.js";
import { ensureProxyContainer, removeProxyContainer, type ProxyState } from "./docker-egress-proxy.js";
import { collectSessionRecords } from "./docker-egress-records.js";
import { formatEgressRule } from "./egress-rule.js";
import { buildJobNetworkName, buildProxyUrl, EGRESS_AGENT_DNS, type EgressNames } from "./egress-spec.js";
import { POLICY_JOB_ID, renderPolicyFile } from "./squid-config.js";

export type { DockerCall, DockerEgressDeps, EgressSettings } from "./docker-egress-context.js";

/** The egress firewall of one prefix on one Docker daemon. */
export class DockerEgress {
  readonly names: EgressNames;
  private readonly context: EgressContext;
  private ensuring: Promise<ProxyState> | null = null;

  constructor(deps: DockerEgressDeps, settings: EgressSettings) {
    this.context = buildEgressContext(deps, settings);
    this.names = this.context.names;
  }

  /** Makes sure the proxy runs with the current image and configuration; one call at a time per process. */
  async ensureProxy(): Promise<ProxyState> {
    // Concurrent jobs share one check; the next call after it settles checks again (a proxy can die).
    this.ensuring ??= ensureProxyContainer(this.context).finally(() => {
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
    await ensureJobNetwork(this.context, request);
    try {
      const proxyAddress = await attachProxy(this.context, name, proxy.id);
      await writePolicy(this.context.dirs, proxyAddress, renderPolicyFile(request.jobId, request.rules));
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
    await removePolicy(this.context.dirs, session.proxyAddress, session.jobId);
    // The records are in the proxy's log already: they are read while the network goes (which also
    // ends any tunnel still open, so its record completes).
    const removing = this.removeJobNetwork(session.jobId);
    // Handled here, still awaited (and its error thrown) below.
    removing.catch(() => undefined);
    let records: EgressReport["records"] = [];
    try {
      const collected = await collectSessionRecords(this.context, session);
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
    await removeJobNetwork(this.context, jobId);
  }

  /** Job networks of this prefix whose job is not live (optionally of one replica only). */
  async listOrphanNetworks(
    liveJobIds: ReadonlySet<string>,
    options: { replica?: string } = {},
  ): Promise<OrphanNetwork[]> {
    return (await listJobNetworks(this.context, options)).filter((network) => !liveJobIds.has(network.jobId));
  }

  /** Removes the proxy container and the upstream network (for tests and uninstalling); idempotent. */
  async removeProxy(): Promise<void> {
    await removeProxyContainer(this.context);
  }
}
