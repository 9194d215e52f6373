/**
 * Names and Docker specifications of the egress firewall's pieces. Pure: every rule of the
 * proxy's sandbox and of the job networks is decided here, where a unit test can see it.
 *
 *   `<prefix>-egress`              the upstream network: a plain bridge, the proxy's only way out
 *   `<prefix>-egress-proxy`        the proxy container (one per prefix: per replica or host)
 *   `<prefix>-egress-job-<job id>` one job's network: internal (no route out) and without an IPv4
 *                                  address on the host (no gateway to the host's ports); only the
 *                                  agent and the proxy are on it
 */
import type { ContainerCreateOptions, NetworkCreateOptions } from "dockerode";
import { JOB_LABELS } from "../job-spec.js";
import { EGRESS_PROXY_PATHS, EGRESS_PROXY_PORT } from "./squid-config.js";

/** Labels of the firewall's containers and networks (job networks also carry the job labels). */
export const EGRESS_LABELS = Object.freeze({
  /** `proxy`, `upstream` or `job`. */
  role: "foreman.egress",
  prefix: "foreman.egress.prefix",
  /** Hash of the proxy's configuration: a proxy whose hash differs is recreated. */
  config: "foreman.egress.config",
} as const);

/** The proxy's name on every job network; the agent's proxy variables point at it. */
export const EGRESS_PROXY_ALIAS = "foreman-egress-proxy";

/**
 * The agent's DNS server: an address that is never routed (TEST-NET-1, RFC 5737), so Docker's
 * embedded DNS answers the proxy's name on the job network and forwards nothing else anywhere.
 */
export const EGRESS_AGENT_DNS = Object.freeze(["192.0.2.1"] as const);

/** Prefixes of the firewall's names: what Docker accepts in a name, short enough to leave room for a job id. */
export const EGRESS_PREFIX = /^[a-z0-9][a-z0-9_.-]{0,39}$/;

/** The firewall's Docker names for one prefix. */
export interface EgressNames {
  readonly proxy: string;
  readonly upstream: string;
  readonly prefix: string;
}

/** Builds the names for a prefix (EGRESS_NAME_PREFIX; tests use their own). */
export function buildEgressNames(prefix: string): EgressNames {
  if (!EGRESS_PREFIX.test(prefix)) throw new Error(`egress name prefix "${prefix}" must match ${EGRESS_PREFIX}`);
  return { prefix, proxy: `${prefix}-egress-proxy`, upstream: `${prefix}-egress` };
}

/** The job network's name: deterministic, so a retry or another replica finds it. */
export function buildJobNetworkName(names: EgressNames, jobId: string): string {
  return `${names.prefix}-egress-job-${jobId}`;
}

/** What the proxy container is built from. */
export interface ProxySpecInput {
  readonly names: EgressNames;
  readonly image: string;
  /** Host directory with squid.conf, the helper and the policies, mounted read-only. */
  readonly hostDir: string;
  readonly configHash: string;
  readonly replica: string;
}

/** The proxy container: squid as the image's `proxy` user, nothing writable but tmpfs, no capabilities. */
export function buildProxyContainerSpec(input: ProxySpecInput): ContainerCreateOptions {
  if (!input.hostDir.startsWith("/") || input.hostDir.includes(":")) {
    throw new Error(`egress directory "${input.hostDir}" must be an absolute path without ":"`);
  }
  return {
    name: input.names.proxy,
    Image: input.image,
    Entrypoint: [EGRESS_PROXY_PATHS.squid],
    Cmd: ["-N", "-f", EGRESS_PROXY_PATHS.config],
    // Debian's squid user. Started as it, squid needs no capability, and runc hands it the
    // container's stdout and stderr (the access and cache logs).
    User: "proxy",
    ExposedPorts: { [`${EGRESS_PROXY_PORT}/tcp`]: {} },
    Labels: {
      [EGRESS_LABELS.role]: "proxy",
      [EGRESS_LABELS.prefix]: input.names.prefix,
      [EGRESS_LABELS.config]: input.configHash,
      [JOB_LABELS.replica]: input.replica,
    },
    HostConfig: {
      NetworkMode: input.names.upstream,
      Binds: [`${input.hostDir}:${EGRESS_PROXY_PATHS.root}:ro`],
      ReadonlyRootfs: true,
      Tmpfs: { "/tmp": "rw,nosuid,nodev,size=64m", "/run": "rw,nosuid,nodev,size=8m" },
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Privileged: false,
      Memory: 512 * 1024 * 1024,
      MemorySwap: 512 * 1024 * 1024,
      PidsLimit: 256,
      Init: true,
      // A crash restarts squid in the same container: same addresses on the job networks, jobs unaffected.
      RestartPolicy: { Name: "unless-stopped" },
      // Small: closing a job reads the proxy's log since the job began, and the daemon scans it from the start.
      LogConfig: { Type: "json-file", Config: { "max-size": "20m", "max-file": "2" } },
    },
  };
}

/** The upstream network: an ordinary bridge, so the proxy (and only the proxy) reaches out. */
export function buildUpstreamNetworkSpec(names: EgressNames, replica: string): NetworkCreateOptions {
  return {
    Name: names.upstream,
    Driver: "bridge",
    CheckDuplicate: true,
    Labels: { [EGRESS_LABELS.role]: "upstream", [EGRESS_LABELS.prefix]: names.prefix, [JOB_LABELS.replica]: replica },
  };
}

/** What a job network is made for. */
export interface JobNetworkInput {
  readonly names: EgressNames;
  readonly taskId: string;
  readonly jobId: string;
  readonly replica: string;
}

/** A job's network: internal, no IPv4 address on the host, no IPv6. */
export function buildJobNetworkSpec(input: JobNetworkInput): NetworkCreateOptions {
  return {
    Name: buildJobNetworkName(input.names, input.jobId),
    Driver: "bridge",
    CheckDuplicate: true,
    Internal: true,
    EnableIPv6: false,
    Options: { "com.docker.network.bridge.inhibit_ipv4": "true" },
    Labels: {
      [EGRESS_LABELS.role]: "job",
      [EGRESS_LABELS.prefix]: input.names.prefix,
      [JOB_LABELS.task]: input.taskId,
      [JOB_LABELS.job]: input.jobId,
      [JOB_LABELS.replica]: input.replica,
    },
  };
}

/** The proxy's URL as the agent's proxy variables give it. */
export function buildProxyUrl(): string {
  return `http://${EGRESS_PROXY_ALIAS}:${EGRESS_PROXY_PORT}`;
}
