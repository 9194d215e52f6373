/**
 * The egress firewall on a real Docker engine: the squid proxy (the development image, or
 * EGRESS_TEST_IMAGE), per-job internal networks, and job containers from the busybox test image
 * checking from the inside what they can and cannot reach. Every Docker name starts with this
 * file's own random prefix, and everything it creates is removed afterwards.
 */
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRunner, dockerOptionsFromHost } from "../../../src/agents/docker-runner.js";
import type { EgressRecord } from "../../../src/agents/egress/egress-record.js";
import { buildEgressNames, buildUpstreamNetworkSpec, EGRESS_LABELS } from "../../../src/agents/egress/egress-spec.js";
import type { AgentJobOutcome } from "../../../src/agents/job-outcome.js";
import { runAgentJob } from "../../../src/agents/run-agent-job.js";
import { TEST_IMAGE } from "./docker-available.js";
import { EGRESS_TEST_IMAGE } from "./egress-available.js";
import { buildRepoTarball } from "./repo-tarball.js";
import { createTempDir, scriptJob, testProfileSources } from "./sandbox-fixtures.js";

const PREFIX = `foreman-egresstest-${randomBytes(4).toString("hex")}`;
const REPLICA = `${PREFIX}-replica`;
const ALLOWED = "api.allowed.test";
// Allowed by the policy, but it resolves to an internal address the operator did not allow.
const INTERNAL = "rebind.allowed.test";
const BIG_FILE_BYTES = 10_000;

const docker = new Docker(dockerOptionsFromHost(process.env.DOCKER_HOST));
const names = buildEgressNames(PREFIX);
const profileSources = testProfileSources({ network: "egress", egress: [`${ALLOWED}:80`, `${INTERNAL}:80`] });

interface Check {
  readonly rc: number;
  readonly out: string;
}

describe("the egress firewall on a real Docker engine", () => {
  let egressDir: Awaited<ReturnType<typeof createTempDir>>;
  let workspaces: Awaited<ReturnType<typeof createTempDir>>;
  let tarball: Buffer;
  let runner: DockerRunner;
  let upstreamIp: string;
  let bystanderIp: string;
  let gateway: string;
  let hostServer: Server;
  let hostPort: number;

  beforeAll(async () => {
    egressDir = await createTempDir("foreman-egresstest-dir-");
    workspaces = await createTempDir("foreman-egresstest-ws-");
    tarball = await buildRepoTarball({ "README.md": "egress\n" });
    // The upstream network first, so the upstream servers are on it before the proxy's configuration is written.
    await docker.createNetwork(buildUpstreamNetworkSpec(names, REPLICA));
    const serve = `mkdir -p /tmp/www && head -c ${BIG_FILE_BYTES} /dev/zero | tr '\\0' x > /tmp/www/big.txt && echo upstream-ok > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www`;
    upstreamIp = (await startServer(`${PREFIX}-upstream`, names.upstream, [ALLOWED], serve)).ip;
    await startServer(`${PREFIX}-internal`, names.upstream, [INTERNAL], serve);
    // Another container, on Docker's default bridge like any other workload on the host.
    const bystander = await startServer(`${PREFIX}-bystander`, "bridge", [], serve);
    bystanderIp = bystander.ip;
    // A port of the Docker host itself, on the default bridge's gateway address.
    gateway = bystander.gateway;
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    hostServer = createServer((socket) => socket.end("host-port-reached\n"));
    await new Promise<void>((resolve) => hostServer.listen(0, gateway, resolve));
    hostPort = (hostServer.address() as { port: number }).port;
    runner = newRunner([`${upstreamIp}/32`]);
  });

  afterAll(async () => {
    hostServer?.close();
    await removeEverythingOfThisFile();
    await egressDir?.cleanup();
    await workspaces?.cleanup();
  });

  function newRunner(internalAllow: string[]): DockerRunner {
    return new DockerRunner(
      dockerOptionsFromHost(process.env.DOCKER_HOST),
      {},
      {
        egress: {
          image: EGRESS_TEST_IMAGE,
          prefix: PREFIX,
          dir: egressDir.dir,
          internalAllow,
          replica: REPLICA,
        },
      },
    );
  }

  it("starts one proxy, however often and however concurrently it is asked", async () => {
    const [first, second] = await Promise.all([runner.ensureEgressProxy(), runner.ensureEgressProxy()]);
    const third = await runner.ensureEgressProxy();
    expect(new Set([first.id, second.id, third.id]).size).toBe(1);
    const proxies = await docker.listContainers({
      all: true,
      filters: { label: [`${EGRESS_LABELS.role}=proxy`, `${EGRESS_LABELS.prefix}=${PREFIX}`] },
    });
    expect(proxies.map((proxy) => [proxy.Id, proxy.State])).toEqual([[first.id, "running"]]);
  });

  describe("two jobs at once", () => {
    let outcomeA: AgentJobOutcome;
    let outcomeB: AgentJobOutcome;
    let checks: Map<string, Check>;
    let jobIdA: string;
    let jobIdB: string;
    let jobBIp: string;

    it("run, each on its own network behind the proxy", async () => {
      // Job B starts first and stays up, so that job A can try to reach it.
      const stopB = new AbortController();
      let started: (ip: string) => void = () => undefined;
      const bStarted = new Promise<string>((resolve) => (started = resolve));
      const requestB = scriptJob(
        workspaces.dir,
        [
          "wget -q -O- http://job-b-only.example.com/ ; wget -q -O /dev/null http://api.allowed.test/index.html",
          "echo B-DONE; sleep 300",
        ].join("\n"),
        { profileSources, replica: REPLICA, jobId: `${PREFIX}-b` },
      );
      jobIdB = requestB.jobId;
      const runningB = runAgentJob(requestB, {
        runner,
        fetchTarball: async () => tarball,
        now: () => new Date(),
        signal: stopB.signal,
        onStarted: async (handle) => {
          const info = await docker.getContainer(handle.containerId).inspect();
          started(Object.values(info.NetworkSettings.Networks)[0]?.IPAddress ?? "");
        },
      });
      jobBIp = await bStarted;
      expect(jobBIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

      const requestA = scriptJob(workspaces.dir, buildCheckScript(), {
        profileSources,
        replica: REPLICA,
        jobId: `${PREFIX}-a`,
      });
      jobIdA = requestA.jobId;
      outcomeA = await runAgentJob(requestA, { runner, fetchTarball: async () => tarball, now: () => new Date() });
      await waitForLog(`foreman-job-${jobIdB}`, "B-DONE");
      stopB.abort();
      outcomeB = await runningB;
      expect(outcomeA.kind, outcomeA.kind === "failed" ? `${outcomeA.message}\n${outcomeA.logTail}` : "").toBe(
        "succeeded",
      );
      expect(outcomeB).toMatchObject({ kind: "failed", code: "AGENT_STOPPED" });
      checks = parseChecks(outcomeA);
      if (process.env.EGRESS_TEST_DEBUG) console.log(checks, egressOf(outcomeA));
    }, 180_000);

    it("reach the allowed host through the proxy, plain HTTP and through a CONNECT tunnel", () => {
      expect(checks.get("allowed-get")).toEqual({ rc: 0, out: String(BIG_FILE_BYTES) });
      expect(checks.get("allowed-connect")?.out).toMatch(/^HTTP\/1\.1 200 Connection established .*upstream-ok/);
      // Squid lower-cases the name and drops a final dot before it asks the policy: the same host.
      expect([checks.get("allowed-upper-case"), checks.get("allowed-trailing-dot")]).toEqual([
        { rc: 0, out: "upstream-ok" },
        { rc: 0, out: "upstream-ok" },
      ]);
    });

    it("are refused other names, other ports, IP literals, internal addresses and the proxy's own manager", () => {
      const forbidden = /403 Forbidden/;
      for (const name of [
        "refused-name",
        "refused-port",
        "metadata-via-proxy",
        "gateway-via-proxy",
        "upstream-ip-via-proxy",
        "bystander-via-proxy",
        "job-b-via-proxy",
        "ipv6-literal",
        "internal-name",
        "proxy-manager",
      ]) {
        expect([name, checks.get(name)?.out]).toEqual([name, expect.stringMatching(forbidden)]);
      }
      // Asked directly, not as a proxy request, the proxy serves nothing of its own either.
      expect(checks.get("proxy-manager-direct")?.out).toMatch(/server returned error: HTTP\/1\.1 4\d\d /);
    });

    it("have no route around the proxy: not to the upstream, the host, metadata, other containers or jobs", () => {
      for (const name of ["direct-upstream", "direct-gateway", "direct-metadata", "direct-bystander", "direct-job-b"]) {
        const check = checks.get(name);
        expect([name, check?.rc !== 0, check?.out]).toEqual([name, true, expect.stringMatching(/No route to host/)]);
      }
      // And no IPv6 at all: no link-local way to the host either.
      expect(checks.get("ipv6-addresses")).toMatchObject({ out: "0" });
    });

    it("resolve no outside name: only the proxy's", () => {
      for (const name of ["dns-outside", "dns-upstream-name"]) {
        expect([name, checks.get(name)?.rc]).toEqual([name, 1]);
      }
      expect(checks.get("dns-proxy")).toMatchObject({
        rc: 0,
        out: expect.stringMatching(/Name:\s+foreman-egress-proxy/),
      });
    });

    it("get every attempt of their own as a record with host, port, verdict and bytes, and none of the other job's", () => {
      const records = egressOf(outcomeA);
      const find = (method: string, host: string, port: number): EgressRecord | undefined =>
        records.find((record) => record.method === method && record.host === host && record.port === port);
      // big.txt, and index.html asked as API.ALLOWED.TEST and as api.allowed.test. (the same host to squid).
      const gets = records.filter((record) => record.method === "GET" && record.host === ALLOWED && record.port === 80);
      expect(gets.map((record) => [record.verdict, record.reason, record.status, record.complete])).toEqual([
        ["allowed", "allowed", 200, true],
        ["allowed", "allowed", 200, true],
        ["allowed", "allowed", 200, true],
      ]);
      const big = gets.find((record) => record.bytesDown > BIG_FILE_BYTES);
      expect(big?.bytesUp).toBeGreaterThan(0);
      expect(find("CONNECT", ALLOWED, 80)).toMatchObject({ verdict: "allowed", status: 200 });
      expect(find("CONNECT", ALLOWED, 80)!.bytesDown).toBeGreaterThan(0);
      const refusals = (
        [
          ["GET", "refused.example.com", 80, "not-allowed"],
          ["CONNECT", ALLOWED, 443, "not-allowed"],
          ["GET", "169.254.169.254", 80, "ip-literal"],
          ["GET", gateway, hostPort, "ip-literal"],
          ["GET", upstreamIp, 80, "ip-literal"],
          ["GET", bystanderIp, 80, "ip-literal"],
          ["GET", jobBIp, 80, "ip-literal"],
          ["CONNECT", "[::1]", 443, "ip-literal"],
          ["GET", INTERNAL, 80, "internal-address"],
          ["GET", "foreman-egress-proxy", 3128, "not-allowed"],
        ] as const
      ).map(([method, host, port, reason]) => [
        method,
        host,
        port,
        find(method, host, port)?.reason ?? "missing",
        reason,
      ]);
      for (const [method, host, port, found, reason] of refusals)
        expect([method, host, port, found]).toEqual([method, host, port, reason]);
      for (const record of records.filter((candidate) => candidate.verdict === "refused")) {
        expect(record.bytesDown).toBeGreaterThan(0); // the proxy's 403 page
      }
      expect(records.every((record) => record.complete)).toBe(true);
      expect(records.some((record) => record.host === "job-b-only.example.com")).toBe(false);

      const recordsB = egressOf(outcomeB);
      expect(recordsB.map((record) => [record.method, record.host, record.verdict]).sort()).toEqual([
        ["GET", ALLOWED, "allowed"],
        ["GET", "job-b-only.example.com", "refused"],
      ]);
    });

    it("write each attempt into the job's execution log as a system line", () => {
      const systemLines = (outcomeA.log?.entries ?? [])
        .filter((entry) => entry.stream === "system")
        .map((entry) => entry.line);
      expect(systemLines).toContain(
        `[foreman] egress: this job may reach ${ALLOWED}:80, ${INTERNAL}:80, through the proxy only`,
      );
      expect(systemLines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            new RegExp(
              `^\\[foreman\\] egress allowed GET ${ALLOWED.replace(/\./g, "\\.")}:80 \\(status 200, \\d+ B up, \\d+ B down, \\d+ ms\\)$`,
            ),
          ),
          expect.stringMatching(/^\[foreman\] egress refused GET 169\.254\.169\.254:80 \(ip-literal, status 403, /),
        ]),
      );
    });

    it("leave no network and no policy behind", async () => {
      for (const jobId of [jobIdA, jobIdB]) {
        await expect(docker.getNetwork(`${PREFIX}-egress-job-${jobId}`).inspect()).rejects.toMatchObject({
          statusCode: 404,
        });
      }
      expect(await readdir(join(egressDir.dir, PREFIX, "policies"))).toEqual([]);
    });

    // Not a check of the firewall: shows that the addresses refused above are really reachable.
    it("could otherwise reach the host's port and the other container (a container on the default bridge does)", async () => {
      const out = await runContainer(
        "bridge",
        `nc -w 3 ${gateway} ${hostPort} </dev/null; wget -q -O- http://${bystanderIp}/`,
      );
      expect(out).toBe("host-port-reached\nupstream-ok\n");
    });

    function buildCheckScript(): string {
      const viaProxy = (name: string, url: string) => [name, `wget -q -O- ${url}`] as const;
      const connect = (name: string, target: string, then = "") =>
        [
          name,
          `(printf 'CONNECT ${target} HTTP/1.1\\r\\nHost: ${target}\\r\\n\\r\\n'; sleep 1; ${then} sleep 1) | nc foreman-egress-proxy 3128`,
        ] as const;
      const direct = (name: string, host: string, port: number) =>
        [name, `nc -w 10 ${host} ${port} </dev/null`] as const;
      const list: (readonly [string, string])[] = [
        ["allowed-get", `wget -q -O /tmp/big http://${ALLOWED}/big.txt && wc -c < /tmp/big`],
        ["allowed-upper-case", `wget -q -O- http://${ALLOWED.toUpperCase()}/index.html`],
        ["allowed-trailing-dot", `wget -q -O- http://${ALLOWED}./index.html`],
        connect(
          "allowed-connect",
          `${ALLOWED}:80`,
          `printf 'GET /index.html HTTP/1.0\\r\\nHost: ${ALLOWED}\\r\\n\\r\\n';`,
        ),
        viaProxy("refused-name", "http://refused.example.com/"),
        connect("refused-port", `${ALLOWED}:443`),
        viaProxy("metadata-via-proxy", "http://169.254.169.254/latest/meta-data/"),
        viaProxy("gateway-via-proxy", `http://${gateway}:${hostPort}/`),
        viaProxy("upstream-ip-via-proxy", `http://${upstreamIp}/`),
        viaProxy("bystander-via-proxy", `http://${bystanderIp}/`),
        viaProxy("job-b-via-proxy", `http://${jobBIp}/`),
        connect("ipv6-literal", "[::1]:443"),
        viaProxy("internal-name", `http://${INTERNAL}/`),
        viaProxy("proxy-manager", "http://foreman-egress-proxy:3128/squid-internal-mgr/info"),
        ["proxy-manager-direct", "wget -Y off -q -O- http://foreman-egress-proxy:3128/squid-internal-mgr/info"],
        direct("direct-upstream", upstreamIp, 80),
        direct("direct-gateway", gateway, hostPort),
        direct("direct-metadata", "169.254.169.254", 80),
        direct("direct-bystander", bystanderIp, 80),
        direct("direct-job-b", jobBIp, 80),
        ["dns-outside", "nslookup example.com"],
        ["dns-upstream-name", `nslookup ${ALLOWED}`],
        ["dns-proxy", "nslookup foreman-egress-proxy"],
        ["ipv6-addresses", "ip -6 addr | grep -c inet6"],
      ];
      // Every check at once (the unreachable ones each wait out a timeout), one CHECK line each.
      return [
        ...list.map(
          ([name, command]) =>
            `( out=$( { ${command} ; } 2>&1 ); rc=$?; printf 'CHECK %s rc=%s %s\\n' ${name} "$rc" "$(printf %s "$out" | tr '\\r\\n' '  ' | cut -c1-400)" ) > /tmp/check.${name} &`,
        ),
        "wait",
        "cat /tmp/check.*",
        `printf '{"status":"success","summary":"checked"}' > /foreman/out/result.json`,
      ].join("\n");
    }
  });

  it("recreates a dead proxy before the next job and moves running jobs' networks and policies to it", async () => {
    const before = await runner.ensureEgressProxy();
    const session = await runner.openEgress({
      taskId: "t",
      jobId: `${PREFIX}-c`,
      replica: REPLICA,
      rules: [{ host: ALLOWED, port: 80 }],
    });
    // A stopped container is not restarted by its restart policy: the proxy is dead.
    await docker.getContainer(before.id).stop({ t: 1 });
    const after = await runner.ensureEgressProxy();
    expect(after.id).not.toBe(before.id);
    expect((await docker.getContainer(after.id).inspect()).State.Running).toBe(true);
    const network = (await docker.getNetwork(session.network).inspect()) as Docker.NetworkInspectInfo;
    const address = network.Containers?.[after.id]?.IPv4Address.split("/")[0];
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await readdir(join(egressDir.dir, PREFIX, "policies"))).toEqual([`${address}.policy`]);
    const report = await runner.closeEgress(session);
    expect(report.notes).toEqual([
      "The egress proxy was recreated while the job ran: records from before that are missing.",
    ]);
    await expect(docker.getNetwork(session.network).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("recreates the proxy when its configuration changes, and keeps it otherwise", async () => {
    const before = await runner.ensureEgressProxy();
    const reconfigured = newRunner([`${upstreamIp}/32`, "10.250.0.0/16"]);
    const after = await reconfigured.ensureEgressProxy();
    expect(after.id).not.toBe(before.id);
    expect((await reconfigured.ensureEgressProxy()).id).toBe(after.id);
    runner = reconfigured;
  });

  it("reaps a job network whose job is gone, with its policy", async () => {
    const session = await runner.openEgress({ taskId: "t", jobId: `${PREFIX}-d`, replica: REPLICA, rules: [] });
    const orphans = await runner.listOrphanNetworks(new Set(), { replica: REPLICA });
    expect(orphans.map((orphan) => orphan.network)).toEqual([session.network]);
    expect(await runner.listOrphanNetworks(new Set([session.jobId]), { replica: REPLICA })).toEqual([]);
    await runner.removeJobNetwork(session.jobId);
    await runner.removeJobNetwork(session.jobId);
    expect(await runner.listOrphanNetworks(new Set(), { replica: REPLICA })).toEqual([]);
    expect(await readdir(join(egressDir.dir, PREFIX, "policies"))).toEqual([]);
  });

  it("measures the per-job cost of the network (printed, not asserted)", async () => {
    const open: number[] = [];
    const close: number[] = [];
    for (let index = 0; index < 5; index += 1) {
      const jobId = `${PREFIX}-bench-${index}`;
      let started = performance.now();
      const session = await runner.openEgress({
        taskId: "t",
        jobId,
        replica: REPLICA,
        rules: [{ host: ALLOWED, port: 80 }],
      });
      open.push(performance.now() - started);
      started = performance.now();
      await runner.closeEgress(session);
      close.push(performance.now() - started);
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!.toFixed(0);
    console.log(
      `[egress overhead] open (create network, connect proxy, write policy): median ${median(open)} ms; ` +
        `close (read records, remove policy, disconnect, remove network): median ${median(close)} ms; ` +
        `runs: open ${open.map((ms) => ms.toFixed(0)).join("/")} ms, close ${close.map((ms) => ms.toFixed(0)).join("/")} ms`,
    );
  });
});

async function startServer(
  name: string,
  network: string,
  aliases: string[],
  script: string,
): Promise<{ ip: string; gateway: string }> {
  const container = await docker.createContainer({
    name,
    Image: TEST_IMAGE,
    Entrypoint: ["sh", "-c", script],
    HostConfig: { NetworkMode: network },
    NetworkingConfig: { EndpointsConfig: { [network]: aliases.length > 0 ? { Aliases: aliases } : {} } },
  });
  await container.start();
  const endpoint = (await container.inspect()).NetworkSettings.Networks[network];
  return { ip: endpoint?.IPAddress ?? "", gateway: endpoint?.Gateway ?? "" };
}

async function runContainer(network: string, script: string): Promise<string> {
  const container = await docker.createContainer({
    name: `${PREFIX}-probe-${randomBytes(3).toString("hex")}`,
    Image: TEST_IMAGE,
    Entrypoint: ["sh", "-c", script],
    HostConfig: { NetworkMode: network },
  });
  try {
    await container.start();
    await container.wait();
    const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return demultiplex(logs);
  } finally {
    await container.remove({ force: true });
  }
}

async function waitForLog(containerName: string, text: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    const logs = (await docker
      .getContainer(containerName)
      .logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    if (demultiplex(logs).includes(text)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${containerName} never printed ${text}`);
}

function demultiplex(buffer: Buffer): string {
  let text = "";
  for (let offset = 0; offset + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(offset + 4);
    text += buffer.subarray(offset + 8, offset + 8 + size).toString("utf8");
    offset += 8 + size;
  }
  return text;
}

function parseChecks(outcome: AgentJobOutcome): Map<string, Check> {
  const checks = new Map<string, Check>();
  for (const entry of outcome.log?.entries ?? []) {
    const match = /^CHECK (\S+) rc=(\d+) ?(.*)$/.exec(entry.line);
    if (match) checks.set(match[1]!, { rc: Number(match[2]), out: match[3]!.trim() });
  }
  return checks;
}

function egressOf(outcome: AgentJobOutcome): readonly EgressRecord[] {
  const records = outcome.run?.egress?.records;
  if (records === undefined) throw new Error("the job has no egress records");
  return records;
}

// Only what this file created: every name starts with its own random prefix.
async function removeEverythingOfThisFile(): Promise<void> {
  // Job containers are named foreman-job-<job id>, and this file's job ids start with the prefix.
  const containers = await docker.listContainers({ all: true, filters: { name: [PREFIX] } });
  for (const info of containers.filter((candidate) => candidate.Names.some((name) => name.includes(PREFIX)))) {
    await docker
      .getContainer(info.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
  const networks = await docker.listNetworks({ filters: { name: [PREFIX] } });
  for (const info of networks.filter((candidate) => candidate.Name.startsWith(PREFIX))) {
    const network = docker.getNetwork(info.Id);
    const inspected = (await network.inspect().catch(() => null)) as Docker.NetworkInspectInfo | null;
    for (const id of Object.keys(inspected?.Containers ?? {})) {
      await network.disconnect({ Container: id, Force: true }).catch(() => undefined);
    }
    await network.remove().catch(() => undefined);
  }
}
