/**
 * The egress firewall's Docker networks: the proxy's upstream network, one internal network per
 * job (created, checked to be the job's, listed by label, removed with its policy), and the
 * proxy's attachment to each. Looked up before created; "already there" and "already gone" count
 * as done.
 */
import type Docker from "dockerode";
import { RUNNER_ERROR_CODES, RunnerError } from "../errors.js";
import { JOB_LABELS } from "../job-spec.js";
import type { EgressRequest, OrphanNetwork } from "../runner.js";
import { describe, ignoreStatus, inspectNetwork, stripPrefixLength } from "./docker-egress-calls.js";
import type { EgressContext } from "./docker-egress-context.js";
import { removePolicy } from "./docker-egress-files.js";
import {
  buildJobNetworkName,
  buildJobNetworkSpec,
  buildUpstreamNetworkSpec,
  EGRESS_LABELS,
  EGRESS_PROXY_ALIAS,
} from "./egress-spec.js";

/** Creates the proxy's upstream network unless it exists. */
export async function ensureUpstreamNetwork(context: EgressContext): Promise<void> {
  const { deps, names, settings } = context;
  if ((await inspectNetwork(deps, names.upstream)) !== null) return;
  await deps
    .call("create", (signal) =>
      deps.docker.createNetwork({
        ...buildUpstreamNetworkSpec(names, settings.replica),
        abortSignal: signal,
      } as Docker.NetworkCreateOptions),
    )
    .catch(ignoreStatus(409));
}

/** Creates the job's internal network unless it exists; one of that name that is not the job's is refused. */
export async function ensureJobNetwork(context: EgressContext, request: EgressRequest): Promise<void> {
  const { deps, names } = context;
  const name = buildJobNetworkName(names, request.jobId);
  const existing = await inspectNetwork(deps, name);
  if (existing !== null) {
    if (existing.Labels?.[JOB_LABELS.job] !== request.jobId || existing.Internal !== true) {
      throw new RunnerError(
        RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
        `Network ${name} exists but is not job ${request.jobId}'s internal network; remove it by hand.`,
      );
    }
    return;
  }
  await deps
    .call("create", (signal) =>
      deps.docker.createNetwork({
        ...buildJobNetworkSpec({
          names,
          taskId: request.taskId,
          jobId: request.jobId,
          replica: request.replica,
        }),
        abortSignal: signal,
      } as Docker.NetworkCreateOptions),
    )
    .catch(ignoreStatus(409));
}

/** Connects the proxy to a job network (already connected is fine) and returns its address there. */
export async function attachProxy(context: EgressContext, network: string, proxyId: string): Promise<string> {
  const { deps } = context;
  await deps
    .call("connect the egress proxy to", (signal) =>
      deps.docker.getNetwork(network).connect({
        Container: proxyId,
        EndpointConfig: { Aliases: [EGRESS_PROXY_ALIAS] },
        abortSignal: signal,
      } as Docker.NetworkConnectOptions),
    )
    .catch((error: unknown) => {
      // The daemon says 403 (or 500 on older engines) when the container is already on the network.
      if (!/already exists/i.test(describe(error))) throw error;
    });
  const info = await inspectNetwork(deps, network);
  const address = stripPrefixLength(info?.Containers?.[proxyId]?.IPv4Address);
  if (address === null) {
    throw new RunnerError(
      RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
      `The egress proxy has no IPv4 address on ${network}`,
    );
  }
  return address;
}

/** The job networks of this prefix (optionally of one replica only), by their labels. */
export async function listJobNetworks(
  context: EgressContext,
  options: { replica?: string } = {},
): Promise<OrphanNetwork[]> {
  const { deps, names } = context;
  const labels = [
    `${EGRESS_LABELS.role}=job`,
    `${EGRESS_LABELS.prefix}=${names.prefix}`,
    ...(options.replica === undefined ? [] : [`${JOB_LABELS.replica}=${options.replica}`]),
  ];
  const networks = await deps.call("list networks", (signal) =>
    deps.docker.listNetworks({ filters: { label: labels }, abortSignal: signal }),
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

/** Removes a job's network (detaching the proxy) and its policy; a missing network is a no-op. */
export async function removeJobNetwork(context: EgressContext, jobId: string): Promise<void> {
  const { deps, names, dirs } = context;
  const name = buildJobNetworkName(names, jobId);
  const info = await inspectNetwork(deps, name);
  if (info === null) return;
  for (const [containerId, endpoint] of Object.entries(info.Containers ?? {})) {
    const address = stripPrefixLength(endpoint.IPv4Address);
    if (address !== null) await removePolicy(dirs, address, jobId);
    // Only the proxy should still be there; anything else on a job network is a leftover of that job.
    await deps
      .call("disconnect a container from", (signal) =>
        deps.docker.getNetwork(name).disconnect({ Container: containerId, Force: true, abortSignal: signal }),
      )
      .catch(ignoreStatus(404));
  }
  await deps
    .call("remove", (signal) => deps.docker.getNetwork(name).remove({ abortSignal: signal }))
    .catch(ignoreStatus(404));
}
