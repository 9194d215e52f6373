/**
 * Reads the Docker-shaped container specification that `buildContainerSpec` decided (the one
 * place of the sandbox's rules) into what a Kubernetes pod needs. Pure: the Kubernetes runner
 * keeps every decision of the job spec, it only says it in another engine's words.
 */
import { CONTAINER_PATHS, JOB_LABELS } from "../job-spec.js";
import type { ContainerSpec } from "../runner.js";

/** The agent container of a job, as the Kubernetes pod states it. */
export interface AgentContainer {
  readonly image: string;
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly uid: number;
  readonly gid: number;
  readonly env: readonly { readonly name: string; readonly value: string }[];
  readonly taskId: string;
  readonly jobId: string;
  readonly replica: string;
  readonly profile: string;
  readonly memoryBytes: number;
  readonly cpus: number;
  /** `none`: no network; `egress`: only the egress proxy; `bridge`: the whole network (operators only). */
  readonly network: "none" | "egress" | "bridge";
  /** Writable in-memory directories (`/tmp`, the profile's HOME), with their size in MiB. */
  readonly tmpfs: readonly { readonly path: string; readonly sizeMb: number }[];
  /** The prompt file's name under /foreman. */
  readonly promptFile: string;
}

/** Reads a container spec, or says which of its sandbox fields a pod cannot state. */
export function readContainerSpec(
  spec: ContainerSpec,
): { ok: true; value: AgentContainer } | { ok: false; reason: string } {
  const [uidText, gidText] = (spec.User ?? "").split(":");
  const uid = Number(uidText);
  const gid = Number(gidText ?? uidText);
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0) {
    return { ok: false, reason: `user "${spec.User ?? ""}" is not a numeric uid:gid other than root` };
  }
  if (spec.Image === undefined || spec.Image === "") return { ok: false, reason: "the spec names no image" };
  const entrypoint = toList(spec.Entrypoint);
  if (entrypoint.length === 0) return { ok: false, reason: "the spec has no command" };
  const env = (spec.Env ?? []).map((entry) => {
    const at = entry.indexOf("=");
    return at < 0 ? { name: entry, value: "" } : { name: entry.slice(0, at), value: entry.slice(at + 1) };
  });
  const host = spec.HostConfig ?? {};
  const mode = host.NetworkMode ?? "none";
  const proxied = env.some((variable) => variable.name === "HTTPS_PROXY");
  const network = mode === "none" ? "none" : proxied ? "egress" : mode === "bridge" ? "bridge" : null;
  if (network === null) return { ok: false, reason: `network mode "${mode}" has no Kubernetes equivalent` };
  const promptVariable = env.find((variable) => variable.name === "FOREMAN_PROMPT_FILE")?.value ?? "";
  const promptFile = promptVariable.startsWith(`${CONTAINER_PATHS.foremanDir}/`)
    ? promptVariable.slice(CONTAINER_PATHS.foremanDir.length + 1)
    : "prompt.md";
  const labels = spec.Labels ?? {};
  return {
    ok: true,
    value: {
      image: spec.Image,
      command: entrypoint,
      args: toList(spec.Cmd),
      uid,
      gid,
      env,
      taskId: labels[JOB_LABELS.task] ?? "",
      jobId: labels[JOB_LABELS.job] ?? "",
      replica: labels[JOB_LABELS.replica] ?? "",
      profile: labels[JOB_LABELS.profile] ?? "",
      memoryBytes: host.Memory ?? 0,
      cpus: (host.NanoCpus ?? 0) / 1e9,
      network,
      tmpfs: Object.entries(host.Tmpfs ?? {}).map(([path, options]) => ({ path, sizeMb: readTmpfsSize(options) })),
      promptFile,
    },
  };
}

function toList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return typeof value === "string" ? [value] : [...value];
}

// Docker's tmpfs options say `size=<n>m`; a pod's memory-backed emptyDir takes the same limit.
function readTmpfsSize(options: string): number {
  const match = /(?:^|,)size=(\d+)m(?:,|$)/.exec(options);
  return match === null ? 64 : Number(match[1]);
}
