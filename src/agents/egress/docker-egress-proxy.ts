/**
 * The egress proxy container of one prefix, supervised: started with the current image and
 * configuration (a label carries their hash), replaced when it is dead, restarting or out of date,
 * waited on until squid accepts connections, and reattached to the running jobs' networks. Two
 * replicas creating it at once both end up with the one container.
 */
import { createHash } from "node:crypto";
import type Docker from "dockerode";
import { RUNNER_ERROR_CODES, RunnerError } from "../errors.js";
import { findImageId, ignoreStatus, inspectContainer, sleep, statusOf, toRunnerError } from "./docker-egress-calls.js";
import type { EgressContext } from "./docker-egress-context.js";
import { readPolicies, removePolicyFile, writeConfiguration, writePolicy } from "./docker-egress-files.js";
import { attachProxy, ensureUpstreamNetwork, listJobNetworks } from "./docker-egress-networks.js";
import { POLL_MS, readProxyLogs } from "./docker-egress-records.js";
import { buildProxyContainerSpec, EGRESS_LABELS } from "./egress-spec.js";
import { buildPolicyFileName, SQUID_READY_LINE } from "./squid-config.js";

/** The running proxy container. */
export interface ProxyState {
  readonly id: string;
}

/** Makes sure the proxy runs with the current image and configuration, (re)creating it if not. */
export async function ensureProxyContainer(context: EgressContext): Promise<ProxyState> {
  const { deps, names, settings, dirs } = context;
  const files = await writeConfiguration(dirs, settings.internalAllow);
  const imageId = await findImageId(deps, settings.image);
  const configHash = hashOf([settings.image, imageId, files.config, files.helper]);
  const spec = buildProxyContainerSpec({
    names,
    image: settings.image,
    hostDir: dirs.hostDir,
    configHash,
    replica: settings.replica,
  });
  await ensureUpstreamNetwork(context);
  const existing = await inspectContainer(deps, names.proxy);
  if (existing !== null) {
    const current = existing.Config.Labels?.[EGRESS_LABELS.config] === configHash && existing.Image === imageId;
    if (current && existing.State.Running && !existing.State.Restarting) return { id: existing.Id };
    // Dead, restarting in a loop, or built from another image or configuration: start afresh.
    await deps
      .call("remove", (signal) =>
        deps.docker.getContainer(existing.Id).remove({ force: true, v: true, abortSignal: signal }),
      )
      .catch(ignoreStatus(404, 409));
  }
  const id = await createProxy(context, spec);
  await waitUntilReady(context, id);
  await reattachJobNetworks(context, id);
  return { id };
}

/** Removes the proxy container and the upstream network (for tests and uninstalling); idempotent. */
export async function removeProxyContainer(context: EgressContext): Promise<void> {
  const { deps, names } = context;
  await deps
    .call("remove", (signal) =>
      deps.docker.getContainer(names.proxy).remove({ force: true, v: true, abortSignal: signal }),
    )
    .catch(ignoreStatus(404, 409));
  await deps
    .call("remove", (signal) => deps.docker.getNetwork(names.upstream).remove({ abortSignal: signal }))
    .catch(ignoreStatus(404));
}

async function createProxy(context: EgressContext, spec: Docker.ContainerCreateOptions): Promise<string> {
  const { deps, names } = context;
  let container: Docker.Container;
  try {
    container = await deps.call("create", (signal) => deps.docker.createContainer({ ...spec, abortSignal: signal }));
  } catch (error) {
    // 409: another replica or a concurrent start created it first; that one is ours too.
    if (statusOf(error) !== 409) throw toRunnerError(error, "create the egress proxy of");
    const raced = await inspectContainer(deps, names.proxy);
    if (raced === null) throw toRunnerError(error, "create the egress proxy of");
    container = deps.docker.getContainer(raced.Id);
  }
  await deps.call("start", (signal) => container.start({ abortSignal: signal })).catch(ignoreStatus(304));
  return container.id;
}

async function waitUntilReady(context: EgressContext, id: string): Promise<void> {
  const { deps, names, settings } = context;
  const deadline = Date.now() + (settings.readyTimeoutMs ?? 30_000);
  for (;;) {
    const lines = await readProxyLogs(context, id, 0);
    if (lines.some((line) => line.line.includes(SQUID_READY_LINE))) return;
    const info = await inspectContainer(deps, id);
    if (info === null || !info.State.Running || Date.now() > deadline) {
      const tail = lines
        .slice(-15)
        .map((line) => line.line)
        .join("\n");
      throw new RunnerError(
        RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
        `The egress proxy (${names.proxy}, image ${settings.image}) did not start accepting connections` +
          `${info?.State.Running === false ? ` (it exited with code ${info.State.ExitCode})` : ""}. ` +
          `Check that the image has Debian's squid at /usr/sbin/squid and a "proxy" user. Its last output:\n${tail}`,
      );
    }
    await sleep(POLL_MS);
  }
}

// A new proxy container knows none of the running jobs' networks: attach it to each and move
// each policy to the proxy's new address there (the agents reach the proxy by its alias).
async function reattachJobNetworks(context: EgressContext, proxyId: string): Promise<void> {
  const policies = await readPolicies(context.dirs);
  const networks = await listJobNetworks(context);
  const kept = new Set<string>();
  for (const network of networks) {
    const policy = policies.find((candidate) => candidate.jobId === network.jobId);
    if (policy === undefined) continue;
    const address = await attachProxy(context, network.network, proxyId).catch(() => null);
    if (address === null) continue;
    await writePolicy(context.dirs, address, policy.text);
    kept.add(buildPolicyFileName(address));
  }
  for (const policy of policies) {
    if (!kept.has(policy.file)) await removePolicyFile(context.dirs, policy.file);
  }
}

// The proxy's label: changes with the image or either file, so an out-of-date proxy is replaced.
function hashOf(parts: readonly string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(`${part.length}:${part}`);
  return hash.digest("hex").slice(0, 32);
}
