/**
 * Daemon calls of `DockerRunner` that must notice the daemon going away: the wait for a
 * container's exit (dockerode's `wait()` never settles when the connection drops after the answer's
 * headers), whether the engine itself stopped a container (a daemon shutting down does, as
 * `docker stop` does), and which failures mean a daemon restarting rather than one that hangs.
 */
import type Docker from "dockerode";
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";

/**
 * Wait for a container to exit: its exit code, or a rejection without an HTTP status (an outage,
 * as `isDockerOutage` counts it) once the daemon closes the connection without an answer.
 */
export function waitForExit(docker: Docker, containerId: string): Promise<{ StatusCode: number }> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        path: `/containers/${encodeURIComponent(containerId)}/wait?`,
        method: "POST",
        // A stream, so that a dropped connection is seen: the daemon sends the headers at once and the body at the exit.
        isStream: true,
        statusCodes: { 200: true, 404: "no such container", 500: "server error" },
        options: {},
      },
      (error, answer) => {
        if (error) return reject(error as Error);
        const response = answer as IncomingMessage;
        const chunks: Buffer[] = [];
        let settled = false;
        const lost = () => {
          if (settled) return;
          settled = true;
          reject(new Error("the Docker daemon closed the connection before the container exited"));
        };
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          if (settled) return;
          settled = true;
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as { StatusCode: number });
          } catch (parseError) {
            reject(parseError as Error);
          }
        });
        response.on("error", lost);
        response.on("close", lost);
      },
    );
  });
}

/**
 * Whether the engine sent the container a signal since it started (a `kill` event: a daemon that
 * shuts down stops its containers so, as `docker stop` does); a signal from inside the container
 * leaves no event. A daemon that no longer answers counts as yes: the container ended as it went away.
 */
export async function wasKilledThroughEngine(
  docker: Docker,
  containerId: string,
  startedAt: string,
  timeoutMs: number,
): Promise<boolean> {
  const since = Math.floor(Date.parse(startedAt) / 1000);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const stream = (await docker.getEvents({
      since: Number.isFinite(since) ? since : 0,
      until: Math.ceil(Date.now() / 1000) + 1,
      filters: { container: [containerId], event: ["kill"] },
      abortSignal: controller.signal,
    } as Docker.GetEventsOptions)) as unknown as Readable;
    let text = "";
    for await (const chunk of stream) text += (chunk as Buffer).toString("utf8");
    return text.includes('"kill"');
  } catch (error) {
    return (error as { statusCode?: unknown }).statusCode === undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether a failed call found no daemon behind the socket (refused, or the socket file gone): a
 * daemon being restarted. A timeout (a daemon that hangs) or an open breaker is not that.
 */
export function isDaemonAbsent(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ECONNREFUSED" || code === "ENOENT";
}
