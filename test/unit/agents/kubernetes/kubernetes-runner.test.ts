// The Kubernetes runner against the Kubernetes API simulated at HTTP (strict nock: an unmocked
// request fails, an unused mock fails), every object it sends checked against the Kubernetes
// OpenAPI schemas (kubernetes-models).
import { KubeConfig } from "@kubernetes/client-node";
import nock from "nock";
import { beforeEach, describe, expect, it } from "vitest";
import { RunnerError } from "../../../../src/agents/errors.js";
import { JobArchives } from "../../../../src/agents/kubernetes/job-archives.js";
import { KubernetesRunner } from "../../../../src/agents/kubernetes/kubernetes-runner.js";
import { buildSpec, paths, script, settings, validateKubernetesObject } from "./kubernetes-fixtures.js";

const API = "https://k8s.test:6443";
const NS = `/api/v1/namespaces/${settings.namespace}`;
const BATCH = `/apis/batch/v1/namespaces/${settings.namespace}`;
const NET = `/apis/networking.k8s.io/v1/namespaces/${settings.namespace}`;
const NAME = "foreman-job-j1";

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

let sent: unknown[];
let invalid: string[];
let runner: KubernetesRunner;
let archives: JobArchives;

// Accepts a body only if its schema does; records it either way, so the test says which failed.
function checked(body: unknown): boolean {
  sent.push(body);
  try {
    validateKubernetesObject(body);
  } catch (error) {
    invalid.push(String(error));
  }
  return true;
}

const notFound = { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 };
const conflict = { kind: "Status", apiVersion: "v1", status: "Failure", reason: "AlreadyExists", code: 409 };
const handle = { containerId: NAME, taskId: "t1", jobId: "j1" };
const launch = { files: paths, timeoutMs: 600_000 };

function job(status: object, metadata: object = {}): object {
  return { apiVersion: "batch/v1", kind: "Job", metadata: { name: NAME, ...metadata }, status };
}

function pods(agentState: object | null): object {
  const containerStatuses =
    agentState === null
      ? []
      : [{ name: "agent", image: "x", imageID: "", ready: false, restartCount: 0, state: agentState }];
  return {
    apiVersion: "v1",
    kind: "PodList",
    items: [{ metadata: { name: `${NAME}-abcde` }, status: { containerStatuses } }],
  };
}

beforeEach(() => {
  sent = [];
  invalid = [];
  let counter = 0;
  archives = new JobArchives({
    now: () => 0,
    downloadTtlMs: 60_000,
    uploadGraceMs: 60_000,
    maxUploadBytes: 1024 * 1024,
    createToken: () => `token-${++counter}`,
  });
  runner = new KubernetesRunner({
    kubeConfig: buildKubeConfig(),
    settings,
    archives,
    pollIntervalMs: 1,
    returnTimeoutMs: 1,
  });
});

describe("KubernetesRunner.start", () => {
  it("creates the network policy, the token Secret and the Job, each checked against its schema", async () => {
    const api = nock(API)
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
      .reply(201, {});
    await expect(runner.start(buildSpec(script, { script: "true" }), launch)).resolves.toEqual(handle);
    expect(api.isDone()).toBe(true);
    expect(invalid).toEqual([]);
    expect(sent.map((body) => (body as { kind: string }).kind)).toEqual(["NetworkPolicy", "Secret", "Job"]);
    // The pod spec names the Secret; only the Secret holds the tokens.
    expect(JSON.stringify(sent[2])).not.toContain("token-1");
    expect(sent[1]).toMatchObject({ stringData: { "download-token": "token-1", "upload-token": "token-2" } });
  });

  it("started twice, creates one Job: what exists is adopted and the Secret gets the new tokens", async () => {
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
      .reply(201, {})
      // The second start: everything is there.
      .get(`${NET}/networkpolicies/${NAME}`)
      .reply(200, {})
      .get(`${NS}/secrets/${NAME}`)
      .reply(200, {})
      .put(`${NS}/secrets/${NAME}`, checked)
      .reply(200, {})
      .get(`${BATCH}/jobs/${NAME}`)
      .reply(200, job({}));
    const spec = buildSpec(script, { script: "true" });
    await runner.start(spec, launch);
    await runner.start(spec, launch);
    expect(invalid).toEqual([]);
    expect(sent.filter((body) => (body as { kind: string }).kind === "Job")).toHaveLength(1);
    expect(sent[3]).toMatchObject({ kind: "Secret", stringData: { "download-token": "token-3" } });
  });

  it("adopts a Job created between its look and its create (409 AlreadyExists)", async () => {
    nock(API)
      .get(`${NET}/networkpolicies/${NAME}`)
      .reply(200, {})
      .get(`${NS}/secrets/${NAME}`)
      .reply(404, notFound)
      .post(`${NS}/secrets`, checked)
      .reply(409, conflict)
      .put(`${NS}/secrets/${NAME}`, checked)
      .reply(200, {})
      .get(`${BATCH}/jobs/${NAME}`)
      .reply(404, notFound)
      .post(`${BATCH}/jobs`, checked)
      .reply(409, conflict);
    await expect(runner.start(buildSpec(script, { script: "true" }), launch)).resolves.toEqual(handle);
    expect(invalid).toEqual([]);
  });

  it("says the Kubernetes API is unreachable as an infrastructure failure", async () => {
    nock(API).get(`${NET}/networkpolicies/${NAME}`).replyWithError("connect ECONNREFUSED");
    const error = await runner.start(buildSpec(script, { script: "true" }), launch).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RunnerError);
    expect((error as RunnerError).code).toBe("INFRA_DOCKER_UNAVAILABLE");
    expect((error as RunnerError).message).toContain("Kubernetes API could not be reached");
  });
});

describe("KubernetesRunner.wait", () => {
  it("polls a running Job until it completes and reads the agent's exit code", async () => {
    nock(API)
      .get(`${BATCH}/jobs/${NAME}`)
      .reply(200, job({ active: 1 }))
      .get(`${BATCH}/jobs/${NAME}`)
      .reply(200, job({ conditions: [{ type: "Complete", status: "True" }] }))
      .get(`${NS}/pods`)
      .query({ labelSelector: `job-name=${NAME}` })
      .reply(200, pods({ terminated: { exitCode: 0, reason: "Completed" } }));
    await expect(runner.wait(handle, { timeoutMs: 600_000 })).resolves.toEqual({
      exitCode: 0,
      oomKilled: false,
      timedOut: false,
    });
  });

  it("maps a failed Job to its exit code", async () => {
    nock(API)
      .get(`${BATCH}/jobs/${NAME}`)
      .reply(200, job({ conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] }))
      .get(`${NS}/pods`)
      .query(true)
      .reply(200, pods({ terminated: { exitCode: 3, reason: "Error" } }));
    await expect(runner.wait(handle, { timeoutMs: 600_000 })).resolves.toEqual({
      exitCode: 3,
      oomKilled: false,
      timedOut: false,
    });
  });

  it("maps OOMKilled to oomKilled", async () => {
    nock(API)
      .get(`${BATCH}/jobs/${NAME}`)
      .reply(200, job({ conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] }))
      .get(`${NS}/pods`)
      .query(true)
      .reply(200, pods({ terminated: { exitCode: 137, reason: "OOMKilled" } }));
    await expect(runner.wait(handle, { timeoutMs: 600_000 })).resolves.toEqual({
      exitCode: 137,
      oomKilled: true,
      timedOut: false,
    });
  });

  it("maps the Job's deadline (DeadlineExceeded, pod already deleted) to timedOut", async () => {
    nock(API)
      .get(`${BATCH}/jobs/${NAME}`)
      .reply(200, job({ conditions: [{ type: "Failed", status: "True", reason: "DeadlineExceeded" }] }))
      .get(`${NS}/pods`)
      .query(true)
      .reply(200, { apiVersion: "v1", kind: "PodList", items: [] });
    await expect(runner.wait(handle, { timeoutMs: 600_000 })).resolves.toEqual({
      exitCode: null,
      oomKilled: false,
      timedOut: true,
    });
  });

  it("stops the Job when Foreman's own time limit is up first", async () => {
    nock(API)
      .get(`${BATCH}/jobs/${NAME}`)
      .reply(200, job({ active: 1 }))
      .delete(`${BATCH}/jobs/${NAME}`)
      .query({ propagationPolicy: "Foreground", gracePeriodSeconds: 0 })
      .reply(200, {});
    await expect(runner.wait(handle, { timeoutMs: 0 })).resolves.toEqual({
      exitCode: null,
      oomKilled: false,
      timedOut: true,
    });
  });
});

describe("KubernetesRunner.stop", () => {
  it("deletes the Job in the foreground with the grace period, so its pod goes first; wait then ends", async () => {
    nock(API)
      .delete(`${BATCH}/jobs/${NAME}`)
      .query({ propagationPolicy: "Foreground", gracePeriodSeconds: 5 })
      .reply(200, {})
      .get(`${BATCH}/jobs/${NAME}`)
      .reply(200, job({ active: 1 }, { deletionTimestamp: "2026-01-01T00:00:00Z" }));
    await runner.stop(handle, { graceSeconds: 5 });
    await expect(runner.wait(handle, { timeoutMs: 600_000 })).resolves.toEqual({
      exitCode: null,
      oomKilled: false,
      timedOut: false,
    });
    // A stopped job's files are not waited for.
    await expect(runner.retrieveFiles(handle)).resolves.toBeUndefined();
  });

  it("stopping a Job that is gone is a no-op", async () => {
    nock(API).delete(`${BATCH}/jobs/${NAME}`).query(true).reply(404, notFound);
    await expect(runner.stop(handle, { graceSeconds: 5 })).resolves.toBeUndefined();
  });
});

describe("KubernetesRunner orphans", () => {
  it("removes the Job, Secret and policy of every Foreman Job whose job is not live", async () => {
    const listed = (jobId: string) => ({
      metadata: {
        name: `foreman-job-${jobId}`,
        annotations: { "foreman.dev/job-id": jobId, "foreman.dev/task-id": "t", "foreman.dev/replica": "r1" },
      },
      status: { active: 1 },
    });
    nock(API)
      .get(`${BATCH}/jobs`)
      .query({ labelSelector: "app.kubernetes.io/managed-by=foreman,foreman.job,foreman.replica=r1" })
      .reply(200, { apiVersion: "batch/v1", kind: "JobList", items: [listed("live"), listed("gone")] })
      .delete(`${BATCH}/jobs/foreman-job-gone`)
      .query({ propagationPolicy: "Background", gracePeriodSeconds: 0 })
      .reply(200, {})
      .delete(`${NS}/secrets/foreman-job-gone`)
      .reply(200, {})
      .delete(`${NET}/networkpolicies/foreman-job-gone`)
      .reply(404, notFound)
      // Leftovers of a Job already gone (its TTL ran out): the Secret and policy of "old".
      .get(`${NS}/secrets`)
      .query({ labelSelector: "app.kubernetes.io/managed-by=foreman,foreman.job,foreman.replica=r1" })
      .reply(200, { items: [listed("live"), listed("old")] })
      .delete(`${NS}/secrets/foreman-job-old`)
      .reply(200, {})
      .get(`${NET}/networkpolicies`)
      .query({ labelSelector: "app.kubernetes.io/managed-by=foreman,foreman.job,foreman.replica=r1" })
      .reply(200, { items: [listed("old")] })
      .delete(`${NET}/networkpolicies/foreman-job-old`)
      .reply(200, {});
    const removed = await runner.removeOrphans(new Set(["live"]), { replica: "r1" });
    expect(removed).toEqual([
      { containerId: "foreman-job-gone", taskId: "t", jobId: "gone", replica: "r1", state: "running" },
    ]);
  });
});

describe("KubernetesRunner logs", () => {
  it("reads the agent container's log with timestamps", async () => {
    nock(API)
      .get(`${NS}/pods`)
      .query(true)
      .reply(200, pods({ terminated: { exitCode: 0 } }))
      .get(`${NS}/pods/${NAME}-abcde/log`)
      .query({ container: "agent", timestamps: "true" })
      .reply(200, "2026-01-01T00:00:00.000000001Z hello\n2026-01-01T00:00:01Z world\n", {
        "content-type": "text/plain",
      });
    await expect(runner.logs(handle)).resolves.toEqual({
      lines: [
        { t: "2026-01-01T00:00:00.000000001Z", stream: "stdout", line: "hello" },
        { t: "2026-01-01T00:00:01Z", stream: "stdout", line: "world" },
      ],
      omittedBytes: 0,
    });
  });

  it("follows the log once the agent container runs", async () => {
    nock(API)
      .get(`${NS}/pods`)
      .query(true)
      .reply(200, pods({ waiting: { reason: "PodInitializing" } }))
      .get(`${NS}/pods`)
      .query(true)
      .reply(200, pods({ running: { startedAt: "2026-01-01T00:00:00Z" } }))
      .get(`${NS}/pods/${NAME}-abcde/log`)
      .query((query) => query.container === "agent" && query.follow === "true" && query.timestamps === "true")
      .reply(200, "2026-01-01T00:00:00Z one\n2026-01-01T00:00:01Z two\n", { "content-type": "text/plain" });
    const lines: string[] = [];
    const follow = runner.followLogs(handle, (line) => lines.push(line.line));
    await follow.done;
    expect(lines).toEqual(["one", "two"]);
  });
});

describe("KubernetesRunner.retrieveFiles", () => {
  it("fails the job as infrastructure when the pod's files never come back", async () => {
    archives.openJob("j1", paths, 1000);
    await expect(runner.retrieveFiles(handle)).rejects.toThrow(/did not come back/);
  });
});

describe("KubernetesRunner call timeout", () => {
  it("fails a call the API does not answer in time as the API being unreachable", async () => {
    const slow = new KubernetesRunner({ kubeConfig: buildKubeConfig(), settings, archives, callTimeoutMs: 20 });
    nock(API).get(`${BATCH}/jobs`).query(true).delay(5_000).reply(200, { items: [] });
    const error = await slow.listOrphans(new Set()).catch((caught: unknown) => caught);
    expect((error as RunnerError).code).toBe("INFRA_DOCKER_UNAVAILABLE");
    expect((error as RunnerError).message).toMatch(/Kubernetes/);
  });
});
