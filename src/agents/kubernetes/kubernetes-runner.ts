/**
 * `Runner` on Kubernetes: each agent job is a Job (src/agents/kubernetes/kubernetes-job-spec.ts),
 * its files sent and brought back through the job-scoped archives (job-archives.ts), its output
 * read from the pod log API. Every create looks first and adopts what exists (409 included), so a
 * start that runs twice has one effect. The cluster comes in as a KubeConfig; nothing here reads
 * the process environment.
 */
import { Writable } from "node:stream";
import { BatchV1Api, CoreV1Api, Log, NetworkingV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { withTimeout } from "../../resilience/with-timeout.js";
import { RUNNER_ERROR_CODES, RunnerError } from "../errors.js";
import { adopt, findEnd, orConflict, orNull, sleep, toRunnerError } from "./kubernetes-api-calls.js";
import type {
  CapturedLogs,
  ContainerSpec,
  EgressReport,
  EgressRequest,
  EgressSession,
  JobHandle,
  JobLaunch,
  LogFollow,
  LogLine,
  OrphanContainer,
  Runner,
  WaitOutcome,
} from "../runner.js";
import type { JobArchives } from "./job-archives.js";
import { capturePodLog, readPodLogLine } from "./kubernetes-logs.js";
import {
  buildJobSelector,
  buildKubernetesJobObjects,
  KUBERNETES_JOB_KEYS,
  POD_CONTAINERS,
  type KubernetesJobSettings,
} from "./kubernetes-job-spec.js";
import { readContainerSpec } from "./read-container-spec.js";

/** Default cap on captured output per job (as Docker's). */
const DEFAULT_LOG_MAX_BYTES = 2 * 1024 * 1024;

/** The runner's collaborators and timings. */
export interface KubernetesRunnerOptions {
  readonly kubeConfig: KubeConfig;
  readonly settings: KubernetesJobSettings;
  readonly archives: JobArchives;
  /** The egress proxy's address as the agent's HTTP(S)_PROXY give it (an IP: jobs have no DNS). */
  readonly egressProxyUrl?: string;
  /** Between two reads of a running Job's status (default 2 s). */
  readonly pollIntervalMs?: number;
  /** How long the return sidecar's upload may take after the Job ended (default 60 s). */
  readonly returnTimeoutMs?: number;
  readonly now?: () => Date;
  /** Longest wait for one Kubernetes API call (default 60 s; not the job's run or the upload). */
  readonly callTimeoutMs?: number;
}

/** Runs agent jobs as Kubernetes Jobs in one namespace. */
export class KubernetesRunner implements Runner {
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly networking: NetworkingV1Api;
  private readonly namespace: string;
  private readonly stopped = new Set<string>();

  constructor(private readonly options: KubernetesRunnerOptions) {
    this.batch = options.kubeConfig.makeApiClient(BatchV1Api);
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.networking = options.kubeConfig.makeApiClient(NetworkingV1Api);
    this.namespace = options.settings.namespace;
  }

  async start(spec: ContainerSpec, launch?: JobLaunch): Promise<JobHandle> {
    const read = readContainerSpec(spec);
    if (!read.ok)
      throw new RunnerError(
        RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
        `The job cannot run on Kubernetes: ${read.reason}.`,
      );
    if (launch === undefined) {
      throw new RunnerError(
        RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
        "The Kubernetes runner needs the job's files to send them.",
      );
    }
    const agent = read.value;
    const tokens = this.options.archives.openJob(agent.jobId, launch.files, launch.timeoutMs);
    const objects = buildKubernetesJobObjects(
      { agent, settings: this.options.settings, timeoutSeconds: launch.timeoutMs / 1000 },
      tokens,
    );
    const name = objects.job.metadata!.name!;
    const namespace = this.namespace;
    // The policy first: the pod never runs a moment without it.
    await this.ensure("create the network policy of", () =>
      adopt(
        () => this.networking.readNamespacedNetworkPolicy({ name, namespace }),
        () => this.networking.createNamespacedNetworkPolicy({ namespace, body: objects.networkPolicy }),
      ),
    );
    // The Secret always carries this start's tokens (a retried start issues new ones).
    await this.ensure("store the tokens of", async () => {
      const existing = await orNull(() => this.core.readNamespacedSecret({ name, namespace }));
      if (existing === null) {
        const created = await orConflict(() => this.core.createNamespacedSecret({ namespace, body: objects.secret }));
        if (created !== "conflict") return;
      }
      await this.core.replaceNamespacedSecret({ name, namespace, body: objects.secret });
    });
    await this.ensure("create", () =>
      adopt(
        () => this.batch.readNamespacedJob({ name, namespace }),
        () => this.batch.createNamespacedJob({ namespace, body: objects.job }),
      ),
    );
    return { containerId: name, taskId: agent.taskId, jobId: agent.jobId };
  }

  async wait(handle: JobHandle, options: { timeoutMs: number }): Promise<WaitOutcome> {
    const name = handle.containerId;
    const namespace = this.namespace;
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const job = await this.ensure("read", () => orNull(() => this.batch.readNamespacedJob({ name, namespace })));
      // Gone or being deleted: stopped (freeze, `/foreman stop`).
      if (job === null || job.metadata?.deletionTimestamp !== undefined)
        return { exitCode: null, oomKilled: false, timedOut: false };
      const ended = findEnd(job);
      if (ended !== null) {
        const terminated = await this.findAgentTermination(name);
        return {
          exitCode: terminated?.exitCode ?? null,
          oomKilled: terminated?.reason === "OOMKilled",
          timedOut: ended === "DeadlineExceeded",
        };
      }
      if (Date.now() >= deadline) {
        // Foreman's own clock is up before the Job's deadline: stop it without grace.
        await this.stop(handle, { graceSeconds: 0 });
        return { exitCode: null, oomKilled: false, timedOut: true };
      }
      await sleep(this.options.pollIntervalMs ?? 2000);
    }
  }

  async retrieveFiles(handle: JobHandle): Promise<void> {
    if (this.stopped.has(handle.containerId)) return;
    const returned = await this.options.archives.waitForReturn(handle.jobId, this.options.returnTimeoutMs ?? 60_000);
    if (!returned) {
      throw new RunnerError(
        RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
        `The files of job ${handle.jobId} did not come back from its Kubernetes pod (the return sidecar could not reach ` +
          "Foreman at KUBERNETES_FOREMAN_URL, or the pod was deleted before it could upload).",
      );
    }
  }

  async stop(handle: JobHandle, options: { graceSeconds: number }): Promise<void> {
    this.stopped.add(handle.containerId);
    // Foreground: the pods are deleted (with the grace period) before the Job itself goes.
    await this.ensure("stop", () =>
      orNull(() =>
        this.batch.deleteNamespacedJob({
          name: handle.containerId,
          namespace: this.namespace,
          propagationPolicy: "Foreground",
          gracePeriodSeconds: options.graceSeconds,
        }),
      ),
    );
  }

  async logs(handle: JobHandle, options: { maxBytes?: number } = {}): Promise<CapturedLogs> {
    const pod = await this.findPod(handle.containerId);
    const maxBytes = options.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
    if (pod === null)
      return {
        lines: [{ t: null, stream: "system", line: "[the job's pod is gone; no output kept]" }],
        omittedBytes: 0,
      };
    const text = await this.ensure("read logs of", () =>
      orNull(() =>
        this.core.readNamespacedPodLog({
          name: pod.metadata!.name!,
          namespace: this.namespace,
          container: POD_CONTAINERS.agent,
          timestamps: true,
        }),
      ),
    );
    return capturePodLog(text ?? "", maxBytes);
  }

  followLogs(handle: JobHandle, onLine: (line: LogLine) => void): LogFollow {
    let stopped = false;
    let controller: AbortController | null = null;
    const follow = async (): Promise<void> => {
      // The agent container has no log until the init containers are done.
      let podName: string | null = null;
      while (!stopped && podName === null) {
        const pod = await this.findPod(handle.containerId);
        const agent = pod?.status?.containerStatuses?.find((status) => status.name === POD_CONTAINERS.agent);
        if (agent?.state?.running !== undefined || agent?.state?.terminated !== undefined)
          podName = pod!.metadata!.name!;
        else await sleep(this.options.pollIntervalMs ?? 2000);
      }
      if (podName === null) return;
      let pending = "";
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          pending += chunk.toString("utf8");
          const lines = pending.split("\n");
          pending = lines.pop() ?? "";
          for (const line of lines) onLine(readPodLogLine(line));
          callback();
        },
      });
      const ended = new Promise<void>((resolve) =>
        sink.on("finish", resolve).on("close", resolve).on("error", resolve),
      );
      controller = await new Log(this.options.kubeConfig).log(this.namespace, podName, POD_CONTAINERS.agent, sink, {
        follow: true,
        timestamps: true,
      });
      if (stopped) controller.abort();
      await ended;
      if (pending !== "") onLine(readPodLogLine(pending));
    };
    // Live lines are a convenience: a follow that fails or is stopped ends quietly.
    const done = follow().catch(() => undefined);
    return {
      stop: () => {
        stopped = true;
        controller?.abort();
      },
      done,
    };
  }

  async remove(handle: JobHandle): Promise<void> {
    const name = handle.containerId;
    const namespace = this.namespace;
    await this.ensure("remove", async () => {
      await orNull(() =>
        this.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: "Background", gracePeriodSeconds: 0 }),
      );
      await orNull(() => this.core.deleteNamespacedSecret({ name, namespace }));
      await orNull(() => this.networking.deleteNamespacedNetworkPolicy({ name, namespace }));
    });
    this.options.archives.closeJob(handle.jobId);
    this.stopped.delete(name);
  }

  async listOrphans(liveJobIds: ReadonlySet<string>, options: { replica?: string } = {}): Promise<OrphanContainer[]> {
    const list = await this.ensure("list", () =>
      this.batch.listNamespacedJob({ namespace: this.namespace, labelSelector: buildJobSelector(options) }),
    );
    return list.items
      .map((job) => {
        const annotations = job.metadata?.annotations ?? {};
        return {
          containerId: job.metadata?.name ?? "",
          taskId: annotations[KUBERNETES_JOB_KEYS.taskAnnotation] ?? "",
          jobId: annotations[KUBERNETES_JOB_KEYS.jobAnnotation] ?? "",
          replica: annotations[KUBERNETES_JOB_KEYS.replicaAnnotation] ?? "",
          state: findEnd(job) ?? ((job.status?.active ?? 0) > 0 ? "running" : "pending"),
        };
      })
      .filter((orphan) => !liveJobIds.has(orphan.jobId));
  }

  async removeOrphans(liveJobIds: ReadonlySet<string>, options: { replica?: string } = {}): Promise<OrphanContainer[]> {
    const orphans = await this.listOrphans(liveJobIds, options);
    for (const orphan of orphans) await this.remove(orphan);
    await this.removeLeftovers(liveJobIds, options);
    return orphans;
  }

  // Secrets and policies whose Job is gone already (its TTL ran out while no Foreman removed them).
  private async removeLeftovers(liveJobIds: ReadonlySet<string>, options: { replica?: string }): Promise<void> {
    const namespace = this.namespace;
    const labelSelector = buildJobSelector(options);
    const isOrphan = (metadata: { annotations?: Record<string, string> } | undefined): boolean =>
      !liveJobIds.has(metadata?.annotations?.[KUBERNETES_JOB_KEYS.jobAnnotation] ?? "");
    const secrets = await this.ensure("list the Secrets of", () =>
      this.core.listNamespacedSecret({ namespace, labelSelector }),
    );
    for (const secret of secrets.items.filter((item) => isOrphan(item.metadata))) {
      const name = secret.metadata?.name ?? "";
      await this.ensure("remove the Secret of", () =>
        orNull(() => this.core.deleteNamespacedSecret({ name, namespace })),
      );
    }
    const policies = await this.ensure("list the network policies of", () =>
      this.networking.listNamespacedNetworkPolicy({ namespace, labelSelector }),
    );
    for (const policy of policies.items.filter((item) => isOrphan(item.metadata))) {
      const name = policy.metadata?.name ?? "";
      await this.ensure("remove the network policy of", () =>
        orNull(() => this.networking.deleteNamespacedNetworkPolicy({ name, namespace })),
      );
    }
  }

  /**
   * The egress of a `network: egress` job is the shared egress proxy, which its NetworkPolicy lets it
   * reach: nothing to open per job. The proxy's own allow-list applies (docs/kubernetes.md).
   */
  async openEgress(request: EgressRequest): Promise<EgressSession> {
    if (this.options.egressProxyUrl === undefined) {
      throw new RunnerError(
        RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
        "This Kubernetes runner has no egress proxy configured (KUBERNETES_EGRESS_PROXY_URL), so a profile with `network: egress` cannot run.",
      );
    }
    return {
      jobId: request.jobId,
      network: "kubernetes-network-policy",
      proxyUrl: this.options.egressProxyUrl,
      proxyAddress: this.options.egressProxyUrl,
      proxyContainerId: "",
      dns: [],
      rules: request.rules.map((rule) => `${rule.host}:${rule.port}`),
      openedAt: (this.options.now ?? (() => new Date()))().toISOString(),
    };
  }

  async closeEgress(): Promise<EgressReport> {
    return {
      records: [],
      notes: ["On Kubernetes the egress proxy is shared by all jobs: per-job connection records are not collected."],
    };
  }

  private async findPod(jobName: string): Promise<V1Pod | null> {
    const pods = await this.ensure("find the pod of", () =>
      this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `job-name=${jobName}` }),
    );
    return pods.items[0] ?? null;
  }

  private async findAgentTermination(jobName: string): Promise<{ exitCode: number; reason?: string } | null> {
    const pod = await this.findPod(jobName);
    const agent = pod?.status?.containerStatuses?.find((status) => status.name === POD_CONTAINERS.agent);
    return agent?.state?.terminated ?? agent?.lastState?.terminated ?? null;
  }

  // One API call (or a look-then-create) under a timeout: a hung API server fails the attempt, which is retried.
  private async ensure<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(() => fn(), this.options.callTimeoutMs ?? 60_000, { service: "Kubernetes", action });
    } catch (error) {
      throw toRunnerError(error, action);
    }
  }
}
