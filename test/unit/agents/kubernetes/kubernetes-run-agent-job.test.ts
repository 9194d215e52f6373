// One whole agent job through runAgentJob and the Kubernetes runner: the Kubernetes API simulated
// at HTTP (strict nock, bodies schema-checked), the pod played by the test the way its helpers
// act (download with the Secret's token, unpack under /foreman, the agent's change, upload), and
// Foreman's own workspace, diff collection and guardrails on the host, unchanged.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { KubeConfig } from "@kubernetes/client-node";
import nock from "nock";
import { c as pack, x as extract } from "tar";
import { afterEach, beforeEach, expect, it } from "vitest";
import { JobArchives } from "../../../../src/agents/kubernetes/job-archives.js";
import { KubernetesRunner } from "../../../../src/agents/kubernetes/kubernetes-runner.js";
import { BUILT_IN_PROFILES } from "../../../../src/agents/profiles.js";
import { runAgentJob } from "../../../../src/agents/run-agent-job.js";
import { buildRepoTarball } from "../../../integration/agents/repo-tarball.js";
import { settings, validateKubernetesObject } from "./kubernetes-fixtures.js";

const API = "https://k8s.test:6443";
const NS = `/api/v1/namespaces/${settings.namespace}`;
const BATCH = `/apis/batch/v1/namespaces/${settings.namespace}`;
const NET = `/apis/networking.k8s.io/v1/namespaces/${settings.namespace}`;
const NAME = "foreman-job-j1";
const notFound = { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 };

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "foreman-k8s-job-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function buildKubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: "test", server: API, skipTLSVerify: true }],
    users: [{ name: "foreman", token: "service-account-token" }],
    contexts: [{ name: "test", cluster: "test", user: "foreman" }],
    currentContext: "test",
  });
  return config;
}

it("runs a job as a Kubernetes Job and collects the agent's change on the host", async () => {
  const archives = new JobArchives({
    now: () => 0,
    downloadTtlMs: 60_000,
    uploadGraceMs: 60_000,
    maxUploadBytes: 16 * 1024 * 1024,
  });
  const runner = new KubernetesRunner({ kubeConfig: buildKubeConfig(), settings, archives, pollIntervalMs: 1 });
  const invalid: string[] = [];
  let tokens = { download: "", upload: "" };
  let podSpec = "";
  const checked = (body: { kind?: string; stringData?: Record<string, string> }): boolean => {
    try {
      validateKubernetesObject(body);
    } catch (error) {
      invalid.push(String(error));
    }
    if (body.kind === "Secret") {
      tokens = { download: body.stringData!["download-token"]!, upload: body.stringData!["upload-token"]! };
    }
    if (body.kind === "Job") podSpec = JSON.stringify(body);
    return true;
  };
  // The pod: what fetch-workspace, the agent and return-workspace do, in that order.
  const playPod = async (): Promise<void> => {
    const pod = join(root, "pod");
    await mkdir(join(pod, "workspace"), { recursive: true });
    await mkdir(join(pod, "out"), { recursive: true });
    const download = await archives.takeDownload("j1", tokens.download);
    await pipeline(download as Readable, extract({ cwd: pod }));
    await writeFile(join(pod, "workspace", "hello.txt"), "changed in the pod\n");
    await writeFile(
      join(pod, "out", "result.json"),
      JSON.stringify({ status: "success", summary: "Changed hello.txt." }),
    );
    const upload = pack({ cwd: pod, portable: true }, ["workspace", "out"]) as unknown as Readable;
    expect(await archives.receiveUpload("j1", tokens.upload, upload)).toEqual({ ok: true });
  };
  nock(API)
    .get(`${NET}/networkpolicies/${NAME}`)
    .reply(404, notFound)
    .post(`${NET}/networkpolicies`, checked)
    .reply(201, {})
    .get(`${NS}/secrets/${NAME}`)
    .reply(404, notFound)
    .post(`${NS}/secrets`, checked)
    .reply(201, {})
    .get(`${BATCH}/jobs/${NAME}`)
    .reply(404, notFound)
    .post(`${BATCH}/jobs`, checked)
    .reply(201, async () => {
      await playPod();
      return {};
    })
    .get(`${BATCH}/jobs/${NAME}`)
    .reply(200, { status: { conditions: [{ type: "Complete", status: "True" }] } })
    .get(`${NS}/pods`)
    .query(true)
    .times(2)
    .reply(200, {
      items: [
        {
          metadata: { name: `${NAME}-x` },
          status: {
            containerStatuses: [
              {
                name: "agent",
                image: "",
                imageID: "",
                ready: false,
                restartCount: 0,
                state: { terminated: { exitCode: 0 } },
              },
            ],
          },
        },
      ],
    })
    .get(`${NS}/pods/${NAME}-x/log`)
    .query(true)
    .reply(200, "2026-01-01T00:00:00Z done\n", { "content-type": "text/plain" })
    .delete(`${BATCH}/jobs/${NAME}`)
    .query(true)
    .reply(200, {})
    .delete(`${NS}/secrets/${NAME}`)
    .reply(200, {})
    .delete(`${NET}/networkpolicies/${NAME}`)
    .reply(200, {});

  const outcome = await runAgentJob(
    {
      taskId: "t1",
      jobId: "j1",
      replica: "r1",
      profileName: "script",
      profileSources: { builtIn: BUILT_IN_PROFILES, imageAllowlist: [] },
      script: "true",
      prompt: "Change hello.txt.",
      context: { issue: { number: 1 } },
      agentSecrets: {},
      workspaceBaseDir: join(root, "jobs"),
    },
    {
      runner,
      now: () => new Date("2026-01-01T00:00:00Z"),
      fetchTarball: () => buildRepoTarball({ "hello.txt": "hello\n" }),
    },
  );
  expect(invalid).toEqual([]);
  expect(outcome.kind).toBe("succeeded");
  if (outcome.kind !== "succeeded") return;
  expect(outcome.result.summary).toBe("Changed hello.txt.");
  expect(outcome.changes.map((change) => change.path)).toEqual(["hello.txt"]);
  expect(outcome.log.entries.map((entry) => entry.line)).toContain("done");
  expect(podSpec).not.toContain(tokens.download);
  expect(podSpec).not.toContain(tokens.upload);
});
