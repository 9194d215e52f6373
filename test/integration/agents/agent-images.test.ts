/**
 * The agent images `npm run images:build` makes (scripts/agents/), run on the real Docker daemon the
 * way Foreman runs a job: the container spec comes from `buildContainerSpec` (read-only root, all
 * capabilities dropped, no-new-privileges, tmpfs /tmp, network none, the workspace and /foreman
 * mounts), with the user 1000:1000 and the tmpfs HOME the agent images need. Each image's CLI must
 * print the version its lock file pins, and its labels must say the same.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRunner, dockerOptionsFromHost } from "../../../src/agents/docker-runner.js";
import { buildContainerSpec } from "../../../src/agents/job-spec.js";
import { BUILT_IN_PROFILES, type ResolvedProfile } from "../../../src/agents/profiles.js";
import type { JobHandle } from "../../../src/agents/runner.js";
import { prepareWorkspace } from "../../../src/agents/workspace.js";
import {
  AGENT_USER,
  CLI_IMAGES,
  IMAGE_LABELS,
  SHIPPED_IMAGE_NAMES,
  buildImageRepository,
  formatVersionTag,
  readPinnedVersion,
} from "../../../scripts/agents/agent-images.js";
import { buildRepoTarball } from "./repo-tarball.js";

const runner = new DockerRunner(dockerOptionsFromHost(process.env.DOCKER_HOST));
const docker = new Docker(dockerOptionsFromHost(process.env.DOCKER_HOST));

/** The HOME tmpfs an agent image needs (the root file system is read-only), owned by the agent user. */
const HOME_TMPFS = `rw,nosuid,nodev,size=256m,uid=${AGENT_USER.uid},gid=${AGENT_USER.gid}`;
const RUN_ID = randomUUID().slice(0, 8);

// Like docker-available.ts: a missing daemon or image fails the file with what to do, never a skip.
await requireAgentImages();

async function requireAgentImages(): Promise<void> {
  if (!(await runner.ping())) {
    throw new Error(
      "Docker is not reachable (DOCKER_HOST or /var/run/docker.sock): the agent image tests need a real daemon. " +
        "Run scripts/ci/setup-docker.sh (as root), then npm run images:build.",
    );
  }
  const missing: string[] = [];
  for (const name of SHIPPED_IMAGE_NAMES) {
    if (!(await runner.hasImage(`${buildImageRepository(name)}:latest`))) missing.push(buildImageRepository(name));
  }
  if (missing.length > 0) {
    throw new Error(
      `The agent images ${missing.join(", ")} are missing: run npm run images:build (as root; see docs/agents.md, "Agent images").`,
    );
  }
}

/** What a probe script printed (`key=value` lines on stdout) and how it exited. */
interface Probe {
  readonly exitCode: number | null;
  readonly values: Readonly<Record<string, string>>;
  readonly stderr: readonly string[];
}

// Facts about the container, one `key=value` line each; `command` is the CLI to ask for its version.
function buildProbeScript(command: string | null): string {
  return [
    `printf 'user=%s:%s\\n' "$(id -u)" "$(id -g)"`,
    `printf 'home=%s\\n' "$HOME"`,
    `printf 'git=%s\\n' "$(git --version)"`,
    `printf 'workspace-git=%s\\n' "$(git -C /workspace log --format=%s -1)"`,
    `printf 'node=%s\\n' "$(command -v node || echo none)"`,
    `printf 'rg=%s\\n' "$(rg --version | head -n 1)"`,
    `if touch /usr/local/foreman-probe 2>/dev/null; then echo root=writable; else echo root=read-only; fi`,
    `if touch "$HOME/foreman-probe" 2>/dev/null; then echo home-writable=yes; else echo home-writable=no; fi`,
    `printf 'interfaces=%s\\n' "$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' ')"`,
    ...(command === null
      ? []
      : [
          `printf 'path=%s\\n' "$(command -v ${command})"`,
          `printf 'version=%s\\n' "$(${command} --version | head -n 1)"`,
        ]),
  ].join("\n");
}

describe("agent images on a real Docker engine (npm run images:build)", () => {
  let tempDir = "";
  const handles: JobHandle[] = [];
  const probes = new Map<string, Probe>();

  async function runProbe(name: string, script: string, user: string, image?: string): Promise<Probe> {
    const jobId = `imgtest-${name}-${image === undefined ? "" : "pinned-"}${RUN_ID}`;
    const [uid, gid] = user.split(":").map(Number);
    const workspace = await prepareWorkspace({
      baseDir: tempDir,
      jobId,
      tarball: await buildRepoTarball({ "README.md": "probe\n" }),
      prompt: "probe",
      context: {},
      sandboxUser: { uid: uid ?? AGENT_USER.uid, gid: gid ?? AGENT_USER.gid },
      now: new Date(),
    });
    const profile: ResolvedProfile = {
      name: `imgtest-${name}`,
      image: image ?? `${buildImageRepository(name)}:latest`,
      command: [],
      env: [],
      network: "none",
      timeoutSeconds: 120,
      memoryMb: 1024,
      user,
    };
    const spec = buildContainerSpec(profile, {
      taskId: "imgtest",
      jobId,
      replica: `imgtest-${RUN_ID}`,
      paths: workspace,
      hostEnv: {},
      script,
    });
    if (!spec.ok) throw new Error(spec.error.message);
    const options = spec.value;
    const handle = await runner.start({
      ...options,
      // Our own name and label: no Foreman job label, so no other test's orphan sweep touches it.
      name: `foreman-${jobId}`,
      Labels: { "foreman-imgtest": RUN_ID },
      Env: [...(options.Env ?? []).filter((entry) => !entry.startsWith("HOME=")), `HOME=${AGENT_USER.home}`],
      HostConfig: { ...options.HostConfig, Tmpfs: { ...options.HostConfig?.Tmpfs, [AGENT_USER.home]: HOME_TMPFS } },
    });
    handles.push(handle);
    const outcome = await runner.wait(handle, { timeoutMs: 120_000 });
    const logs = await runner.logs(handle);
    const values: Record<string, string> = {};
    for (const { stream, line } of logs.lines) {
      const separator = line.indexOf("=");
      if (stream === "stdout" && separator > 0) values[line.slice(0, separator)] = line.slice(separator + 1);
    }
    const stderr = logs.lines.filter((line) => line.stream === "stderr").map((line) => line.line);
    return { exitCode: outcome.exitCode, values, stderr };
  }

  beforeAll(async () => {
    tempDir = await mkdtemp(join(tmpdir(), "foreman-imgtest-"));
    const agentUser = `${AGENT_USER.uid}:${AGENT_USER.gid}`;
    const runs: [string, Promise<Probe>][] = [
      ["base", runProbe("base", buildProbeScript(null), agentUser)],
      ["node", runProbe("node", `${buildProbeScript(null)}\nprintf 'version=%s\\n' "$(node --version)"`, agentUser)],
      ...CLI_IMAGES.map((image): [string, Promise<Probe>] => [
        image.name,
        runProbe(image.name, buildProbeScript(image.command), agentUser),
      ]),
      [
        "egress-proxy",
        runProbe(
          "egress-proxy",
          [
            `printf 'user=%s:%s\\n' "$(id -u)" "$(id -g)"`,
            `printf 'path=%s\\n' "$(command -v squid)"`,
            `printf 'version=%s\\n' "$(squid -v | head -n 1)"`,
            `printf 'log-dir-owner=%s\\n' "$(stat -c %U /var/log/squid)"`,
            `if squid -k parse -f /etc/squid/squid.conf >/dev/null 2>&1; then echo parse=ok; else echo parse=failed; fi`,
          ].join("\n"),
          "13:13",
        ),
      ],
    ];
    for (const [name, run] of runs) probes.set(name, await run);
  }, 180_000);

  afterAll(async () => {
    for (const handle of handles.splice(0)) await runner.remove(handle);
    if (tempDir !== "") await rm(tempDir, { recursive: true, force: true });
  });

  function probeOf(name: string): Probe {
    const probe = probes.get(name);
    if (probe === undefined) throw new Error(`no probe ran for ${name}`);
    return probe;
  }

  async function labelsOf(name: string, tag = "latest"): Promise<{ id: string; labels: Record<string, string> }> {
    const info = await docker.getImage(`${buildImageRepository(name)}:${tag}`).inspect();
    return { id: info.Id, labels: info.Config?.Labels ?? {} };
  }

  // What `git --version` and `rg --version` print for the root's packages (git=1:2.39.5-0+deb12u3 → 2.39.5).
  async function expectedToolVersions(): Promise<{ git: string; rg: string }> {
    const packages = (await labelsOf("base")).labels[IMAGE_LABELS.rootfsPackages] ?? "";
    const upstream = (name: string): string =>
      new RegExp(`(?:^| )${name}=(?:\\d+:)?([^-\\s]+)`).exec(packages)?.[1] ?? `(no ${name} in the root's labels)`;
    return { git: `git version ${upstream("git")}`, rg: `ripgrep ${upstream("ripgrep")}` };
  }

  it.each(CLI_IMAGES.map((image) => [image.name, image] as const))(
    "%s prints the version its lock file pins, as the non-root agent user, with git and a read-only root",
    async (name, image) => {
      const probe = probeOf(name);
      const pinned = readPinnedVersion(image);
      expect({ exitCode: probe.exitCode, ...probe.values }).toEqual({
        exitCode: 0,
        user: "1000:1000",
        home: AGENT_USER.home,
        ...(await expectedToolVersions()),
        "workspace-git": "Foreman base",
        node: image.parent === "node" ? "/usr/local/bin/node" : "none",
        root: "read-only",
        "home-writable": "yes",
        interfaces: "lo ",
        path: `/usr/local/bin/${image.command}`,
        version: expect.stringContaining(pinned),
      });
    },
  );

  it.each(CLI_IMAGES.map((image) => [image.name, image] as const))(
    "%s is labelled and tagged with the lock file's version, on the base's debootstrap root",
    async (name, image) => {
      const pinned = readPinnedVersion(image);
      const latest = await labelsOf(name);
      const versioned = await labelsOf(name, formatVersionTag(pinned));
      const base = await labelsOf("base");
      expect(versioned.id).toBe(latest.id);
      expect(latest.labels).toMatchObject({
        [IMAGE_LABELS.title]: buildImageRepository(name),
        [IMAGE_LABELS.version]: pinned,
        [IMAGE_LABELS.cli]: name,
        [IMAGE_LABELS.cliVersion]: pinned,
        [IMAGE_LABELS.debootstrapHash]: base.labels[IMAGE_LABELS.debootstrapHash],
      });
      expect(base.labels[IMAGE_LABELS.debootstrapHash]).toMatch(/^[0-9a-f]{64}$/);
    },
  );

  it("base runs as the agent user with bash and git, and only the loopback interface", async () => {
    const { labels } = await labelsOf("base");
    expect({ exitCode: probeOf("base").exitCode, ...probeOf("base").values }).toEqual({
      exitCode: 0,
      user: "1000:1000",
      home: AGENT_USER.home,
      ...(await expectedToolVersions()),
      "workspace-git": "Foreman base",
      node: "none",
      root: "read-only",
      "home-writable": "yes",
      interfaces: "lo ",
    });
    expect(labels).toMatchObject({
      [IMAGE_LABELS.title]: "foreman-agents/base",
      [IMAGE_LABELS.version]: labels[IMAGE_LABELS.debianVersion],
      [IMAGE_LABELS.cli]: "none",
    });
    expect(labels[IMAGE_LABELS.debianVersion]).toMatch(/^12\.\d+$/);
  });

  it("node carries the node binary its labels name, and gemini-cli runs on it", async () => {
    const node = await labelsOf("node");
    const gemini = await labelsOf("gemini-cli");
    const version = node.labels[IMAGE_LABELS.cliVersion];
    expect(probeOf("node").values.version).toBe(`v${version}`);
    expect(node.labels).toMatchObject({ [IMAGE_LABELS.cli]: "node", [IMAGE_LABELS.nodeVersion]: version });
    expect(gemini.labels[IMAGE_LABELS.nodeVersion]).toBe(version);
  });

  it("egress-proxy ships Debian's squid, whose default configuration parses as the proxy user", async () => {
    const { labels } = await labelsOf("egress-proxy");
    const squid = labels[IMAGE_LABELS.cliVersion] ?? "";
    expect({ exitCode: probeOf("egress-proxy").exitCode, ...probeOf("egress-proxy").values }).toEqual({
      exitCode: 0,
      user: "13:13",
      path: "/usr/sbin/squid",
      version: `Squid Cache: Version ${squid.split("-")[0]}`,
      "log-dir-owner": "proxy",
      parse: "ok",
    });
    expect(labels).toMatchObject({ [IMAGE_LABELS.cli]: "squid", [IMAGE_LABELS.version]: squid });
    // Its own root (squid included), not the base's.
    const base = await labelsOf("base");
    expect(labels[IMAGE_LABELS.debootstrapHash]).toMatch(/^[0-9a-f]{64}$/);
    expect(labels[IMAGE_LABELS.debootstrapHash]).not.toBe(base.labels[IMAGE_LABELS.debootstrapHash]);
  });

  it("a profile can pin an image by its content id (sha256:…), as docs/agents.md says", async () => {
    const { id } = await labelsOf("codex");
    const probe = await runProbe("codex", buildProbeScript("codex"), `${AGENT_USER.uid}:${AGENT_USER.gid}`, id);
    expect([probe.exitCode, probe.values.version]).toEqual([0, `codex-cli ${readPinnedVersion(codexImage())}`]);
  });

  it("the built-in profiles name these images", () => {
    expect(BUILT_IN_PROFILES["claude-code"]?.image).toBe("foreman-agents/claude-code:latest");
    expect(BUILT_IN_PROFILES.codex?.image).toBe("foreman-agents/codex:latest");
    expect(BUILT_IN_PROFILES.gemini?.image).toBe("foreman-agents/gemini-cli:latest");
  });
});

function codexImage(): (typeof CLI_IMAGES)[number] {
  const image = CLI_IMAGES.find((candidate) => candidate.name === "codex");
  if (image === undefined) throw new Error("scripts/agents/agent-images.ts lists no codex image");
  return image;
}
