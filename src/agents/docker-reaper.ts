/**
 * Removing agent containers from one Docker daemon: one job's container, those a restarting
 * daemon kept after a failed removal (tried again once it answers), and the orphans of jobs
 * no longer live (recovery). The Docker runner owns one and calls it after each container.
 */
import type Docker from "dockerode";
import { guard, ignoreStatus, statusOf } from "./docker-errors.js";
import type { DockerCall } from "./egress/docker-egress-context.js";
import { JOB_LABELS } from "./job-spec.js";
import type { OrphanContainer } from "./runner.js";

export class DockerReaper {
  /** Containers whose removal failed (the daemon away or failing, as in a restart): removed once it answers again. */
  private readonly leftBehind = new Set<string>();

  /** `onRemoved`: a container is gone (or was already), so the runner forgets it stopped it. */
  constructor(
    private readonly docker: Docker,
    private readonly call: DockerCall,
    private readonly onRemoved: (containerId: string) => void,
  ) {}

  async removeOne(containerId: string): Promise<void> {
    const container = this.docker.getContainer(containerId);
    try {
      await this.call("remove", (signal) => container.remove({ force: true, v: true, abortSignal: signal }));
    } catch (error) {
      // Not removed: the daemon away (a restart: without live-restore the container is still there,
      // stopped, once it is back) or failing (a restore under way). Tried again at the next start or
      // removal, once the daemon answers; recovery is the backstop.
      const status = statusOf(error);
      if (status !== 404 && status !== 409) this.leftBehind.add(containerId);
      ignoreStatus(404, 409)(error);
    }
    this.onRemoved(containerId);
    this.leftBehind.delete(containerId);
  }

  /** Remove the containers a restarting daemon kept (best effort: what fails stays for the next start or removal, or recovery). */
  async removeLeftBehind(): Promise<void> {
    for (const containerId of [...this.leftBehind]) await this.removeOne(containerId).catch(() => undefined);
  }

  async listOrphans(liveJobIds: ReadonlySet<string>, options: { replica?: string } = {}): Promise<OrphanContainer[]> {
    const labels = [
      JOB_LABELS.job,
      ...(options.replica === undefined ? [] : [`${JOB_LABELS.replica}=${options.replica}`]),
    ];
    const containers = await guard(
      this.call("list", (signal) =>
        this.docker.listContainers({ all: true, filters: { label: labels }, abortSignal: signal }),
      ),
      "list",
    );
    return containers
      .map((info) => ({
        containerId: info.Id,
        taskId: info.Labels[JOB_LABELS.task] ?? "",
        jobId: info.Labels[JOB_LABELS.job] ?? "",
        replica: info.Labels[JOB_LABELS.replica] ?? "",
        state: info.State,
      }))
      .filter((orphan) => !liveJobIds.has(orphan.jobId));
  }

  // Each as the runner's `remove` does it: the container, then what a restart left behind.
  async removeOrphans(liveJobIds: ReadonlySet<string>, options: { replica?: string } = {}): Promise<OrphanContainer[]> {
    const orphans = await this.listOrphans(liveJobIds, options);
    for (const orphan of orphans) {
      await this.removeOne(orphan.containerId);
      await this.removeLeftBehind();
    }
    return orphans;
  }
}
