/**
 * One agent job end to end on a real cluster through the Kubernetes runner: Foreman's own
 * runAgentJob, KubernetesRunner and archive endpoints, run on this host against the cluster of
 * the current kubeconfig (run-job-on-kind.sh makes a kind cluster for it). The job is the `script`
 * profile: it reads the prompt, changes a file, writes result.json. Prints the outcome as JSON and
 * exits 0 only when the job succeeded with the expected change. See docs/kubernetes.md.
 *
 *   FOREMAN_HOST_IP=172.18.0.1 NAMESPACE=foreman-agents npx tsx scripts/kubernetes/run-job-on-kind.ts
 */
import { randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { buildRepoTarball } from "../../test/integration/agents/repo-tarball.js";
import { JobArchives } from "../../src/agents/kubernetes/job-archives.js";
import { KubernetesRunner } from "../../src/agents/kubernetes/kubernetes-runner.js";
import { BUILT_IN_PROFILES } from "../../src/agents/profiles.js";
import { runAgentJob } from "../../src/agents/run-agent-job.js";
import { createJobArchiveRoute } from "../../src/http/job-archive-route.js";

const hostIp = process.env.FOREMAN_HOST_IP ?? "172.18.0.1";
const namespace = process.env.NAMESPACE ?? "foreman-agents";
const port = Number(process.env.PORT ?? 3999);
const image = process.env.JOB_IMAGE ?? "foreman-test/busybox:latest";

const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();
const archives = new JobArchives({
  now: () => Date.now(),
  downloadTtlMs: 10 * 60_000,
  uploadGraceMs: 10 * 60_000,
  maxUploadBytes: 256 * 1024 * 1024,
});
const route = createJobArchiveRoute(archives);
const server = createServer((req, res) => {
  void route(req, res).then((handled) => {
    if (!handled) res.writeHead(404).end();
  });
});
await new Promise<void>((resolve) => server.listen(port, "0.0.0.0", resolve));

const runner = new KubernetesRunner({
  kubeConfig,
  archives,
  pollIntervalMs: 1000,
  settings: {
    namespace,
    foremanUrl: `http://${hostIp}:${port}`,
    foremanSelector: {},
    foremanCidr: `${hostIp}/32`,
    foremanPort: port,
    egressProxySelector: { "app.kubernetes.io/name": "foreman-egress-proxy" },
    egressProxyPort: 3128,
    helperImage: image,
    uploadGraceSeconds: 30,
    workspaceMaxMb: 1024,
  },
});
const script = [
  'test -s "$FOREMAN_PROMPT_FILE"',
  "echo changed-in-kubernetes > /workspace/hello.txt",
  'echo \'{"status":"success","summary":"Changed hello.txt in a Kubernetes Job."}\' > "$FOREMAN_OUT_DIR/result.json"',
].join(" && ");
const started = Date.now();
const outcome = await runAgentJob(
  {
    taskId: "kind-task",
    jobId: `kind-${randomUUID()}`,
    replica: "kind",
    profileName: "script",
    profileSources: {
      builtIn: { ...BUILT_IN_PROFILES, script: { ...BUILT_IN_PROFILES.script!, image } },
      imageAllowlist: [image],
    },
    script,
    prompt: "Change hello.txt.",
    context: { issue: { number: 1 } },
    agentSecrets: {},
    workspaceBaseDir: await mkdtemp(join(tmpdir(), "foreman-kind-")),
  },
  { runner, now: () => new Date(), fetchTarball: () => buildRepoTarball({ "hello.txt": "hello\n" }) },
);
server.close();
const changed = outcome.kind === "succeeded" && outcome.changes.some((change) => change.path === "hello.txt");
console.log(
  JSON.stringify(
    {
      kind: outcome.kind,
      ...(outcome.kind === "failed" ? { code: outcome.code, message: outcome.message } : {}),
      changedHelloTxt: changed,
      seconds: (Date.now() - started) / 1000,
    },
    null,
    2,
  ),
);
process.exit(changed ? 0 : 1);
