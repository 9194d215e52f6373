/**
 * The egress firewall's reads of the Docker Engine, and how its answers become runner errors:
 * a container, network or image that is not there reads as null (or is pulled), "already there"
 * and "already gone" statuses can be ignored, and anything else is a `RunnerError` saying what
 * Docker could not do.
 */
import type Docker from "dockerode";
import { runnerErrorCodeOf } from "../docker-errors.js";
import { RunnerError } from "../errors.js";
import type { DockerEgressDeps } from "./docker-egress-context.js";

/** A container by name or id, or null when the daemon has none. */
export async function inspectContainer(
  deps: DockerEgressDeps,
  name: string,
): Promise<Docker.ContainerInspectInfo | null> {
  try {
    return await deps.call("inspect", (signal) => deps.docker.getContainer(name).inspect({ abortSignal: signal }));
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw toRunnerError(error, "inspect the egress proxy of");
  }
}

/** A network by name, or null when the daemon has none. */
export async function inspectNetwork(deps: DockerEgressDeps, name: string): Promise<Docker.NetworkInspectInfo | null> {
  try {
    // No signal: network inspect sends its options as the query string.
    return (await deps.call("inspect a network", () =>
      deps.docker.getNetwork(name).inspect(),
    )) as Docker.NetworkInspectInfo;
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw toRunnerError(error, "inspect the egress network of");
  }
}

/** The id of the proxy image, pulled first if the daemon does not have it. */
export async function findImageId(deps: DockerEgressDeps, image: string): Promise<string> {
  const inspect = () => deps.call("inspect an image", () => deps.docker.getImage(image).inspect());
  try {
    return (await inspect()).Id;
  } catch (error) {
    if (statusOf(error) !== 404) throw toRunnerError(error, "inspect the egress proxy image of");
  }
  await deps.pullImage(image);
  return (await inspect()).Id;
}

/** A catch handler that lets the given HTTP statuses pass (done already) and throws the rest as runner errors. */
export function ignoreStatus(...statuses: number[]): (error: unknown) => void {
  return (error) => {
    if (!statuses.includes(statusOf(error) ?? -1)) throw toRunnerError(error, "change the egress firewall of");
  };
}

/** A daemon failure as a runner error: no status means the daemon was not reached. */
export function toRunnerError(error: unknown, action: string): RunnerError {
  if (error instanceof RunnerError) return error;
  const code = runnerErrorCodeOf(error);
  return new RunnerError(code, `Docker could not ${action} a job: ${describe(error)}`, { cause: error });
}

/** The HTTP status of a Docker Engine answer, if it was one. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** An error's message, or the thrown value as text. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The address of an endpoint without its prefix length (`172.20.0.2/16` → `172.20.0.2`), or null. */
export function stripPrefixLength(address: string | undefined): string | null {
  if (address === undefined || address === "") return null;
  return address.split("/")[0] ?? null;
}

/** Waits `ms` milliseconds (between polls of the proxy's log). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
