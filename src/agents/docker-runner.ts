/**
 * `Runner` on a Docker Engine through dockerode. The daemon address comes in through the
 * constructor (see `buildDockerOptions`); nothing here reads the process environment. The
 * container's lifecycle is here (create, start, wait, stop, logs); removing containers (one,
 * those a restarting daemon kept, orphans) is docker-reaper.ts's, and Docker's errors as runner
 * errors docker-errors.ts's.
 */
import Docker from "dockerode";
import type { Readable } from "node:stream";
import { CircuitBreaker } from "../resilience/circuit-breaker.js";
import { withTimeout } from "../resilience/with-timeout.js";
import { emitForemanEvent } from "../events/foreman-events.js";
import { watchContainerStats } from "./container-stats.js";
import { buildDockerOptions } from "./docker-connection.js";
import { isDaemonAbsent, waitForExit, wasKilledThroughEngine } from "./docker-daemon-calls.js";
import { createLogCollector, createLogLineStream } from "./docker-logs.js";
import { DockerEgress, type EgressSettings } from "./egress/docker-egress.js";
import { describe, guard, ignoreStatus, isDockerOutage, statusOf, toRunnerError } from "./docker-errors.js";
import { DockerReaper } from "./docker-reaper.js";
import { RUNNER_ERROR_CODES, RunnerError } from "./errors.js";
import { handBackWorkspace, isHandBackNeeded } from "./hand-back.js";
import { JOB_LABELS } from "./job-spec.js";
import type {
  CapturedLogs,
  ContainerSpec,
  EgressReport,
  EgressRequest,
  EgressSession,
  HandBackRequest,
  JobHandle,
  LogFollow,
  LogLine,
  OrphanContainer,
  OrphanNetwork,
  Runner,
  WaitOutcome,
} from "./runner.js";

/** Default cap on captured output per container. */
export const DEFAULT_LOG_MAX_BYTES = 2 * 1024 * 1024;

/** Longest wait for one daemon call unless `DOCKER_TIMEOUT_MS` says otherwise. */
export const DEFAULT_DOCKER_TIMEOUT_MS = 60_000;

export { isDockerOutage } from "./docker-errors.js";

/** The timeout and circuit breaker of the daemon calls (not of the container's run). */
export interface DockerResilience {
  /** Longest wait for one daemon call (`DOCKER_TIMEOUT_MS`). */
  timeoutMs?: number;
  /** The breaker of all calls to this daemon. Default: its own, counting only an unreachable daemon and timeouts. */
  breaker?: CircuitBreaker;
}

/**
 * Turns a `DOCKER_HOST` value alone into dockerode options (tests, benches and scripts on a local
 * daemon): the default socket, `unix:///path`, or plain HTTP to a loopback `tcp://` daemon. For TLS,
 * and the refusal of plain TCP to another host, see `buildDockerOptions` (src/agents/docker-connection.ts).
 */
export function dockerOptionsFromHost(dockerHost: string | undefined): Docker.DockerOptions {
  return buildDockerOptions({ host: dockerHost });
}

/** What the runner offers beyond containers. */
export interface DockerRunnerFeatures {
  /** The egress firewall (proxy image, name prefix, host directory); without it `network: egress` jobs fail. */
  egress?: EgressSettings;
  /** Run the hand-back after each agent (default: unless this process is root, which reads every file anyway). */
  handBack?: boolean;
}

/** Runs agent containers on one Docker daemon. */
export class DockerRunner implements Runner {
  private readonly docker: Docker;
  private readonly timeoutMs: number;
  private readonly breaker: CircuitBreaker;
  private readonly egress: DockerEgress | null;
  private readonly handBackNeeded: boolean;
  /** Containers this runner stopped itself (forgotten when removed): their kill events are its own. */
  private readonly stopping = new Set<string>();
  /** Removes containers: one, those a restarting daemon kept, orphans. */
  private readonly reaper: DockerReaper;

  constructor(options: Docker.DockerOptions, resilience: DockerResilience = {}, features: DockerRunnerFeatures = {}) {
    this.docker = new Docker(options);
    this.timeoutMs = resilience.timeoutMs ?? DEFAULT_DOCKER_TIMEOUT_MS;
    this.breaker = resilience.breaker ?? new CircuitBreaker({ service: "Docker", isFailure: isDockerOutage });
    this.handBackNeeded = features.handBack ?? isHandBackNeeded();
    // A removed container's kill events are no longer this runner's to recognise.
    this.reaper = new DockerReaper(
      this.docker,
      (action, fn, extraMs) => this.call(action, fn, extraMs),
      (id) => this.stopping.delete(id),
    );
    this.egress =
      features.egress === undefined
        ? null
        : new DockerEgress(
            {
              docker: this.docker,
              call: (action, fn, extraMs) => this.call(action, fn, extraMs),
              pullImage: (image) => this.pullImage(image),
            },
            features.egress,
          );
  }

  /** Answers whether the daemon responds at all (for readiness checks and test set-up); the breaker does not apply. */
  async ping(): Promise<boolean> {
    try {
      // dockerode accepts the signal here; its type declarations do not say so.
      const ping = this.docker.ping.bind(this.docker) as unknown as (options: {
        abortSignal: AbortSignal;
      }) => Promise<unknown>;
      await withTimeout((signal) => ping({ abortSignal: signal }), this.timeoutMs, {
        service: "Docker",
        action: "ping",
      });
      return true;
    } catch {
      return false;
    }
  }

  /** Answers whether an image is present on the daemon (no pull). */
  async hasImage(image: string): Promise<boolean> {
    try {
      await this.call("inspect an image", () => this.docker.getImage(image).inspect());
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw toRunnerError(error, "inspect the image of");
    }
  }

  async start(spec: ContainerSpec): Promise<JobHandle> {
    const container = await this.createContainer(spec);
    // The daemon answers again: what it kept of the jobs it lost while restarting goes now.
    await this.reaper.removeLeftBehind();
    try {
      await this.call("start", (signal) => container.start({ abortSignal: signal }));
    } catch (error) {
      await this.call("remove", (signal) => container.remove({ force: true, abortSignal: signal })).catch(
        () => undefined,
      );
      // No HTTP status: the daemon did not answer (or is failing fast), not a verdict on this container.
      if (statusOf(error) === undefined) throw toRunnerError(error, "start");
      throw new RunnerError(
        RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
        `Container for job ${spec.Labels?.[JOB_LABELS.job] ?? "?"} did not start: ${describe(error)}`,
        { cause: error },
      );
    }
    // The image's content id, for the record of what ran (a tag can move; the id cannot).
    const info = await this.call("inspect", (signal) => container.inspect({ abortSignal: signal })).catch(() => null);
    return {
      containerId: container.id,
      taskId: spec.Labels?.[JOB_LABELS.task] ?? "",
      jobId: spec.Labels?.[JOB_LABELS.job] ?? "",
      ...(info?.Image ? { imageId: info.Image } : {}),
    };
  }

  async wait(handle: JobHandle, options: { timeoutMs: number }): Promise<WaitOutcome> {
    const container = this.docker.getContainer(handle.containerId);
    const stats = watchContainerStats(container);
    const exited = guard(waitForExit(this.docker, handle.containerId), "wait for");
    // Marked as handled here; it is still awaited (and its error thrown) below.
    exited.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), options.timeoutMs);
    });
    const first = await Promise.race([exited.then(() => "exited" as const), deadline]).finally(() =>
      clearTimeout(timer),
    );
    if (first === "timeout") {
      // The wall clock is up: no grace period, the agent has had its time.
      await this.call("kill", (signal) => container.kill({ abortSignal: signal })).catch(ignoreStatus(404, 409));
      await exited;
    }
    const usage = await stats.finish();
    const info = await guard(
      this.call("inspect", (signal) => container.inspect({ abortSignal: signal })),
      "inspect",
    );
    const profile = info.Config?.Labels?.[JOB_LABELS.profile];
    if (profile) emitForemanEvent({ type: "container.finished", profile, ...usage });
    const exitCode = typeof info.State.ExitCode === "number" ? info.State.ExitCode : null;
    const oomKilled = info.State.OOMKilled === true;
    // Ended by SIGTERM or SIGKILL that neither the agent's clock nor this runner sent: the daemon
    // stopping (a restart) or someone's `docker stop` took the container away; the agent did not fail.
    const killedOutside =
      first !== "timeout" &&
      !oomKilled &&
      (exitCode === 137 || exitCode === 143) &&
      !this.stopping.has(handle.containerId) &&
      (await wasKilledThroughEngine(this.docker, handle.containerId, info.State.StartedAt, this.timeoutMs));
    return { exitCode, oomKilled, timedOut: first === "timeout", ...(killedOutside ? { killedOutside } : {}) };
  }

  async stop(handle: JobHandle, options: { graceSeconds: number }): Promise<void> {
    this.stopping.add(handle.containerId);
    const container = this.docker.getContainer(handle.containerId);
    // `t` in the query only: dockerode would also send the options as a JSON body, which the
    // daemon does not read when it answers 304 at once — the unread body then fails with EPIPE.
    const stopOptions = (signal: AbortSignal) =>
      ({
        _query: { t: options.graceSeconds },
        _body: {},
        abortSignal: signal,
      }) as unknown as Docker.ContainerStopOptions;
    // 304: already stopped; 404: already gone. Both mean the job is not running, as asked.
    // The daemon answers after the grace period, so that is added to the timeout.
    await this.call("stop", (signal) => container.stop(stopOptions(signal)), options.graceSeconds * 1000).catch(
      ignoreStatus(304, 404),
    );
  }

  async logs(handle: JobHandle, options: { maxBytes?: number } = {}): Promise<CapturedLogs> {
    const container = this.docker.getContainer(handle.containerId);
    const collector = createLogCollector({ maxBytes: options.maxBytes ?? DEFAULT_LOG_MAX_BYTES, timestamps: true });
    // follow: true streams instead of buffering the whole log; on an exited container it ends at EOF.
    // The timeout covers opening the stream; reading it lasts as long as the output does.
    const stream = (await guard(
      this.call("read logs", (signal) =>
        container.logs({ follow: true, stdout: true, stderr: true, timestamps: true, abortSignal: signal }),
      ),
      "read logs of",
    )) as unknown as Readable;
    for await (const chunk of stream) collector.push(chunk as Buffer);
    return collector.finish();
  }

  followLogs(handle: JobHandle, onLine: (line: LogLine) => void): LogFollow {
    const container = this.docker.getContainer(handle.containerId);
    const controller = new AbortController();
    const lines = createLogLineStream({ timestamps: true, onLine });
    const follow = async (): Promise<void> => {
      const stream = (await this.call("follow logs", (signal) => {
        signal.addEventListener("abort", () => controller.abort(), { once: true });
        return container.logs({
          follow: true,
          stdout: true,
          stderr: true,
          timestamps: true,
          abortSignal: controller.signal,
        });
      })) as unknown as Readable;
      for await (const chunk of stream) lines.push(chunk as Buffer);
      lines.finish();
    };
    // Live lines are a convenience: a stream that fails or is stopped ends quietly.
    const done = follow().catch(() => undefined);
    return { stop: () => controller.abort(), done };
  }

  async remove(handle: JobHandle): Promise<void> {
    await this.reaper.removeOne(handle.containerId);
    // The daemon answered: what it kept of the jobs it lost while restarting goes too.
    await this.reaper.removeLeftBehind();
  }

  async handBack(request: HandBackRequest): Promise<void> {
    if (this.handBackNeeded) await handBackWorkspace(this, request);
  }

  async listOrphans(liveJobIds: ReadonlySet<string>, options: { replica?: string } = {}): Promise<OrphanContainer[]> {
    return this.reaper.listOrphans(liveJobIds, options);
  }

  async removeOrphans(liveJobIds: ReadonlySet<string>, options: { replica?: string } = {}): Promise<OrphanContainer[]> {
    return this.reaper.removeOrphans(liveJobIds, options);
  }

  /** Starts the egress proxy if it is not running with the current image and configuration; idempotent. */
  async ensureEgressProxy(): Promise<{ id: string }> {
    return this.requireEgress().ensureProxy();
  }

  /** Removes the egress proxy and its upstream network (tests, uninstalling); idempotent. */
  async removeEgressProxy(): Promise<void> {
    await this.requireEgress().removeProxy();
  }

  async openEgress(request: EgressRequest): Promise<EgressSession> {
    return this.requireEgress().open(request);
  }

  async closeEgress(session: EgressSession): Promise<EgressReport> {
    return this.requireEgress().close(session);
  }

  async listOrphanNetworks(
    liveJobIds: ReadonlySet<string>,
    options: { replica?: string } = {},
  ): Promise<OrphanNetwork[]> {
    return this.egress === null ? [] : this.egress.listOrphanNetworks(liveJobIds, options);
  }

  async removeJobNetwork(jobId: string): Promise<void> {
    await this.egress?.removeJobNetwork(jobId);
  }

  private requireEgress(): DockerEgress {
    if (this.egress !== null) return this.egress;
    throw new RunnerError(
      RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
      "This Docker runner has no egress firewall configured, so a profile with `network: egress` cannot run. " +
        "Give the runner its egress settings (EGRESS_PROXY_IMAGE, EGRESS_DIR).",
    );
  }

  private async createContainer(spec: ContainerSpec): Promise<Docker.Container> {
    // A copy: dockerode deletes the signal from the options it is given.
    const create = () => this.call("create", (signal) => this.docker.createContainer({ ...spec, abortSignal: signal }));
    let failure: unknown;
    try {
      return await create();
    } catch (error) {
      failure = error;
    }
    // No daemon behind the socket: it is being restarted. Wait for it (up to DOCKER_TIMEOUT_MS)
    // rather than spend the job's attempt; a daemon that hangs or a breaker already open fails now.
    if (isDaemonAbsent(failure) && (await this.waitForDaemon())) {
      try {
        return await create();
      } catch (error) {
        failure = error;
      }
    }
    if (statusOf(failure) !== 404 || spec.Image === undefined) throw toRunnerError(failure, "create");
    // 404 on create: the image is not here yet. Pull it once, then create again.
    await this.pullImage(spec.Image);
    return guard(create(), "create");
  }

  /**
   * One daemon call under the timeout and the Docker breaker: an open breaker fails it at once, as
   * an unreachable daemon would (INFRA_DOCKER_UNAVAILABLE). The container's run (`wait`) and image
   * pulls are long by nature and do not come here.
   */
  private call<T>(action: string, fn: (signal: AbortSignal) => Promise<T>, extraMs = 0): Promise<T> {
    return this.breaker.run(() => withTimeout(fn, this.timeoutMs + extraMs, { service: "Docker", action }));
  }

  /** Ping until the daemon answers, for at most `timeoutMs`; whether it did. */
  private async waitForDaemon(): Promise<boolean> {
    const deadline = Date.now() + this.timeoutMs;
    while (Date.now() < deadline) {
      if (await this.ping()) return true;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return false;
  }

  private async pullImage(image: string): Promise<void> {
    try {
      const progress = (await this.docker.pull(image)) as NodeJS.ReadableStream;
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(progress, (error: Error | null) =>
          error === null ? resolve() : reject(error),
        );
      });
    } catch (error) {
      throw new RunnerError(
        RUNNER_ERROR_CODES.INFRA_IMAGE_PULL_FAILED,
        `Image "${image}" is not on the Docker host and could not be pulled: ${describe(error)}. ` +
          "Check the image name, or pull it on the host (private registries need the daemon to be logged in).",
        { cause: error },
      );
    }
  }
}
