/**
 * The Runner port: what the rest of Foreman needs from a container engine to run one agent
 * job. `DockerRunner` implements it with dockerode; a Kubernetes Job runner can follow.
 */
import type { ContainerCreateOptions } from "dockerode";

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

/** A container labelled as a Foreman job whose job is no longer live. */
export interface OrphanContainer {
  readonly containerId: string;
  readonly taskId: string;
  readonly jobId: string;
  readonly replica: string;
  readonly state: string;
}

/** Runs agent containers. Implementations throw `RunnerError` when the engine itself fails. */
export interface Runner {
  /** Creates and starts a container (pulling its image if needed). */
  start(spec: ContainerSpec): Promise<JobHandle>;
  /** Waits for exit; after `timeoutMs` of wall-clock time the container is killed. */
  wait(handle: JobHandle, options: { timeoutMs: number }): Promise<WaitOutcome>;
  /** Stops a container: SIGTERM, then SIGKILL after `graceSeconds`. Stopping a stopped one is a no-op. */
  stop(handle: JobHandle, options: { graceSeconds: number }): Promise<void>;
  /** The output of an exited container, at most `maxBytes` (head and tail kept). */
  logs(handle: JobHandle, options?: { maxBytes?: number }): Promise<CapturedLogs>;
  /** Removes a container; removing a missing one is a no-op. */
  remove(handle: JobHandle): Promise<void>;
  /** Job containers whose `foreman.job` label is not in `liveJobIds` (optionally of one replica only). */
  listOrphans(liveJobIds: ReadonlySet<string>, options?: { replica?: string }): Promise<OrphanContainer[]>;
  /** Force-removes what `listOrphans` returns, and returns what it removed. */
  removeOrphans(liveJobIds: ReadonlySet<string>, options?: { replica?: string }): Promise<OrphanContainer[]>;
}
