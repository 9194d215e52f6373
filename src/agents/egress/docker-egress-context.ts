/**
 * What the egress firewall's Docker modules share: the operator's settings, the runner's
 * collaborators (the Docker client, its guarded call, the image pull), and the names and host
 * directories derived from them once. Types and one pure constructor; no I/O.
 */
import { join } from "node:path";
import type Docker from "dockerode";
import { buildEgressNames, type EgressNames } from "./egress-spec.js";

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

/** The host directory the proxy mounts (`<dir>/<prefix>`) and its `policies/` folder. */
export interface EgressDirs {
  readonly hostDir: string;
  readonly policyDir: string;
}

/** Everything one prefix's firewall works with, passed to each of its Docker modules. */
export interface EgressContext {
  readonly deps: DockerEgressDeps;
  readonly settings: EgressSettings;
  readonly names: EgressNames;
  readonly dirs: EgressDirs;
}

/** The context of the firewall of `settings.prefix`: its Docker names and its host directories. */
export function buildEgressContext(deps: DockerEgressDeps, settings: EgressSettings): EgressContext {
  const hostDir = join(settings.dir, settings.prefix);
  return {
    deps,
    settings,
    names: buildEgressNames(settings.prefix),
    dirs: { hostDir, policyDir: join(hostDir, "policies") },
  };
}
