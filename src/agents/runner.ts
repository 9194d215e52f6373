/**
 * The Runner port: what the rest of Foreman needs from a container engine to run one agent
 * job. `DockerRunner` implements it with dockerode, `KubernetesRunner` (src/agents/kubernetes/) with
 * Kubernetes Jobs (ADR 0013).
 */
import type { ContainerCreateOptions } from "dockerode";
import type { EgressRecord } from "./egress/egress-record.js";
import type { EgressRule } from "./egress/egress-rule.js";

/** A container specification, as built by `buildContainerSpec`. */
export type ContainerSpec = ContainerCreateOptions;

/** A started job's container. Plain data: it can be stored and used by another replica. */
export interface JobHandle {
  readonly containerId: string;
  readonly taskId: string;
  readonly jobId: string;
  /** The content id (sha256) of the image the container runs, when the engine reports it: the evidence of what ran. */
  readonly imageId?: string;
}

/** How a container ended. `exitCode` is null only when the engine could not tell. */
export interface WaitOutcome {
  readonly exitCode: number | null;
  readonly oomKilled: boolean;
  readonly timedOut: boolean;
  /**
   * The container was killed through the engine, not by this runner (the daemon shutting down or
   * restarting, someone's `docker stop`): the agent did not fail, its container was taken away.
   */
  readonly killedOutside?: boolean;
}

/** The stream a log line came from; `system` lines are Foreman's own notes (e.g. truncation). */
export type LogStream = "stdout" | "stderr" | "system";

/** One line of container output, demultiplexed. `t` is the engine's ISO timestamp when known. */
export interface LogLine {
  readonly t: string | null;
  readonly stream: LogStream;
  readonly line: string;
}

/** The captured output of a container, capped in bytes. */
export interface CapturedLogs {
  readonly lines: readonly LogLine[];
  /** Bytes of output dropped between the kept head and the kept tail. */
  readonly omittedBytes: number;
}

/** A log being followed while its container runs (`Runner.followLogs`). */
export interface LogFollow {
  /** Stops following (the stream also ends by itself when the container exits). */
  stop(): void;
  /** Settles once the stream has ended or was stopped; never rejects. */
  readonly done: Promise<void>;
}

/** A container labelled as a Foreman job whose job is no longer live. */
export interface OrphanContainer {
  readonly containerId: string;
  readonly taskId: string;
  readonly jobId: string;
  readonly replica: string;
  readonly state: string;
}

/** What a job asks of the egress firewall: its ids and the `host:port` rules its profile allows. */
export interface EgressRequest {
  readonly taskId: string;
  readonly jobId: string;
  readonly replica: string;
  readonly rules: readonly EgressRule[];
}

/** A job's way out while it runs: its network, the proxy on it, the DNS it gets. Plain data. */
export interface EgressSession {
  readonly jobId: string;
  /** The job's own internal network; the container joins it (`NetworkMode`). */
  readonly network: string;
  /** The proxy as the agent's HTTP(S)_PROXY variables give it. */
  readonly proxyUrl: string;
  /** The proxy's address on the job network: the key of the job's policy. */
  readonly proxyAddress: string;
  readonly proxyContainerId: string;
  /** DNS servers of the agent container: none that answers outside names. */
  readonly dns: readonly string[];
  /** The policy, as `host:port` entries. */
  readonly rules: readonly string[];
  readonly openedAt: string;
}

/** What closing a job's egress found: a record per connection attempt, and what they cannot say. */
export interface EgressReport {
  readonly records: readonly EgressRecord[];
  /** E.g. requests still open when the job ended, or a proxy recreated during the job. */
  readonly notes: readonly string[];
}

/** A job network whose job is no longer live. */
export interface OrphanNetwork {
  readonly network: string;
  readonly taskId: string;
  readonly jobId: string;
  readonly replica: string;
}

/** The job whose files the hand-back gives to the host user (see src/agents/hand-back.ts). */
export interface HandBackRequest {
  readonly taskId: string;
  readonly jobId: string;
  readonly replica: string;
  readonly image: string;
  /** The agent's `uid:gid`: only the owner may change a file's mode. */
  readonly user: string;
  readonly workspaceDir: string;
  readonly outDir: string;
}

/** A job's files on Foreman's host (as `JobPaths` in job-spec.ts): what the Docker runner binds, and what the Kubernetes runner ships. */
export interface JobFiles {
  readonly workspaceDir: string;
  readonly promptPath: string;
  readonly contextPath: string;
  readonly outDir: string;
}

/**
 * What a runner may need beyond the spec to start a job: its host files (a runner without a shared
 * host directory sends them to the job and brings them back, see `retrieveFiles`) and its time limit
 * (a Kubernetes Job's `activeDeadlineSeconds`).
 */
export interface JobLaunch {
  readonly files: JobFiles;
  readonly timeoutMs: number;
}

/** Runs agent containers. Implementations throw `RunnerError` when the engine itself fails. */
export interface Runner {
  /** Creates and starts a container (pulling its image if needed). The Docker runner binds the spec's mounts and ignores `launch`. */
  start(spec: ContainerSpec, launch?: JobLaunch): Promise<JobHandle>;
  /**
   * After `wait`, before the host reads the job's files: brings what the agent wrote back into the
   * host's workspace and out directories. Runners whose container writes the host's files directly
   * (Docker's bind mounts) leave it out.
   */
  retrieveFiles?(handle: JobHandle): Promise<void>;
  /** Waits for exit; after `timeoutMs` of wall-clock time the container is killed. */
  wait(handle: JobHandle, options: { timeoutMs: number }): Promise<WaitOutcome>;
  /** Stops a container: SIGTERM, then SIGKILL after `graceSeconds`. Stopping a stopped one is a no-op. */
  stop(handle: JobHandle, options: { graceSeconds: number }): Promise<void>;
  /** The output of an exited container, at most `maxBytes` (head and tail kept). */
  logs(handle: JobHandle, options?: { maxBytes?: number }): Promise<CapturedLogs>;
  /**
   * Follows a running container's output, handing each line to `onLine` as it arrives (live readers;
   * the stored log still comes from `logs`). A failure to follow ends `done` quietly. Optional.
   */
  followLogs?(handle: JobHandle, onLine: (line: LogLine) => void): LogFollow;
  /** Removes a container; removing a missing one is a no-op. */
  remove(handle: JobHandle): Promise<void>;
  /**
   * After the agent's container is gone: makes what the agent wrote readable (and removable) by the
   * host user, running as the agent's uid. A runner whose host reads everything (root) does nothing.
   */
  handBack?(request: HandBackRequest): Promise<void>;
  /** Job containers whose `foreman.job` label is not in `liveJobIds` (optionally of one replica only). */
  listOrphans(liveJobIds: ReadonlySet<string>, options?: { replica?: string }): Promise<OrphanContainer[]>;
  /** Force-removes what `listOrphans` returns, and returns what it removed. */
  removeOrphans(liveJobIds: ReadonlySet<string>, options?: { replica?: string }): Promise<OrphanContainer[]>;
  /**
   * Opens a job's egress: its own network, the supervised proxy attached to it, the job's policy.
   * Runners without an egress firewall leave it out, and profiles with `network: egress` fail on them.
   */
  openEgress?(request: EgressRequest): Promise<EgressSession>;
  /** Collects the job's egress records, then removes its policy and network (after its container is gone). */
  closeEgress?(session: EgressSession): Promise<EgressReport>;
  /** Job networks whose job is not in `liveJobIds` (optionally of one replica only). */
  listOrphanNetworks?(liveJobIds: ReadonlySet<string>, options?: { replica?: string }): Promise<OrphanNetwork[]>;
  /** Removes a job's network and policy; removing a missing one is a no-op. */
  removeJobNetwork?(jobId: string): Promise<void>;
}
