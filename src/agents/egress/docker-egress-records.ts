/**
 * The egress records of a job, read back from the proxy's log: the log read through the Docker
 * Engine, and a job's records collected once its requests have settled (a request is logged when
 * it ends, a tunnel when it closes).
 */
import { parseDockerLogs } from "../docker-logs.js";
import type { EgressReport, EgressSession } from "../runner.js";
import { collectJobEgress, type ProxyLogLine } from "./access-log.js";
import { inspectContainer, sleep } from "./docker-egress-calls.js";
import type { EgressContext } from "./docker-egress-context.js";

/** How often the proxy's log is read again while waiting for it. */
export const POLL_MS = 100;

/** The proxy container's log lines since `since` (seconds since the epoch; 0: all of them). */
export async function readProxyLogs(
  context: EgressContext,
  id: string,
  since: number,
): Promise<readonly ProxyLogLine[]> {
  const { deps } = context;
  const buffer = (await deps.call("read logs of", (signal) =>
    deps.docker.getContainer(id).logs({
      follow: false,
      stdout: true,
      stderr: true,
      timestamps: true,
      since,
      abortSignal: signal,
    }),
  )) as unknown as Buffer;
  return parseDockerLogs(Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer), {
    maxBytes: 16 * 1024 * 1024,
    timestamps: true,
  }).lines;
}

/** The job's records from the proxy's log, with notes on what may be missing from them. */
export async function collectSessionRecords(
  context: EgressContext,
  session: EgressSession,
): Promise<{ records: EgressReport["records"]; notes: string[] }> {
  const notes: string[] = [];
  const proxy = await inspectContainer(context.deps, context.names.proxy);
  if (proxy === null) return { records: [], notes: ["The egress proxy was gone when the job ended: no records."] };
  if (proxy.Id !== session.proxyContainerId) {
    notes.push("The egress proxy was recreated while the job ran: records from before that are missing.");
  }
  const since = Math.floor(Date.parse(session.openedAt) / 1000) - 1;
  const key = { jobId: session.jobId, proxyAddress: session.proxyAddress };
  const deadline = Date.now() + (context.settings.settleMs ?? 2000);
  let collected = collectJobEgress(await readProxyLogs(context, proxy.Id, since), key);
  // A request the helper judged is logged when it ends (a tunnel when it closes): wait for those a little.
  while (collected.pending.length > 0 && Date.now() < deadline) {
    await sleep(POLL_MS);
    collected = collectJobEgress(await readProxyLogs(context, proxy.Id, since), key);
  }
  const open = collected.records.filter((record) => !record.complete).length;
  if (open > 0)
    notes.push(`${open} egress request(s) had not finished when the job ended: their byte counts are missing.`);
  return { records: collected.records, notes };
}
