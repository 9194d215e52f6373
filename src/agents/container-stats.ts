import type Docker from "dockerode";
import type { Readable } from "node:stream";

/** What the Docker engine reported of one container's use: peak memory and CPU time (null when it sent nothing). */
export interface ContainerUsage {
  peakMemoryBytes: number | null;
  cpuSeconds: number | null;
}

/** One sample of the engine's stats stream, the fields read here. */
interface StatsSample {
  memory_stats?: { usage?: number; max_usage?: number };
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
}

/**
 * Fold engine stats samples into peak memory (the highest `usage`, or cgroup v1's `max_usage`) and
 * CPU seconds (the highest cumulative `total_usage`, in nanoseconds). Pure.
 */
export function foldContainerStats(samples: readonly StatsSample[]): ContainerUsage {
  let memory: number | null = null;
  let cpu: number | null = null;
  for (const sample of samples) {
    for (const value of [sample.memory_stats?.usage, sample.memory_stats?.max_usage])
      if (typeof value === "number" && value > 0) memory = Math.max(memory ?? 0, value);
    const total = sample.cpu_stats?.cpu_usage?.total_usage;
    if (typeof total === "number" && total > 0) cpu = Math.max(cpu ?? 0, total / 1e9);
  }
  return { peakMemoryBytes: memory, cpuSeconds: cpu };
}

/**
 * Follow a running container's stats stream (about one sample a second) until `finish()`, which
 * returns what it saw. Best effort: a stream that fails or never opens yields nulls, never an error.
 */
export function watchContainerStats(container: Docker.Container): { finish(): Promise<ContainerUsage> } {
  const samples: StatsSample[] = [];
  let stream: Readable | null = null;
  let closed = false;
  const opened = (container.stats({ stream: true }) as unknown as Promise<Readable>)
    .then((readable) => {
      stream = readable;
      if (closed) readable.destroy();
      let pending = "";
      readable.on("data", (chunk: Buffer) => {
        pending += chunk.toString("utf8");
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          try {
            if (line.trim()) samples.push(JSON.parse(line) as StatsSample);
          } catch {
            // A torn or odd line is one sample fewer.
          }
        }
      });
      readable.on("error", () => undefined);
    })
    .catch(() => undefined);
  return {
    async finish() {
      closed = true;
      (stream as Readable | null)?.destroy();
      // Not waiting long for a stream that never opened: its samples would come too late anyway.
      await Promise.race([opened, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      (stream as Readable | null)?.destroy();
      return foldContainerStats(samples);
    },
  };
}
