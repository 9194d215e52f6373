import { describe, expect, it } from "vitest";
import { buildContainerSpec, collectForwardedEnv, type JobSpecInput } from "../../../src/agents/job-spec.js";
import { BUILT_IN_PROFILES, type ResolvedProfile } from "../../../src/agents/profiles.js";

const paths = {
  workspaceDir: "/var/lib/foreman/jobs/j1/workspace",
  promptPath: "/var/lib/foreman/jobs/j1/prompt.md",
  contextPath: "/var/lib/foreman/jobs/j1/context.json",
  outDir: "/var/lib/foreman/jobs/j1/out",
};
const job: JobSpecInput = {
  taskId: "t1",
  jobId: "j1",
  replica: "r1",
  paths,
  hostEnv: { ANTHROPIC_API_KEY: "sk-ant-test", GITHUB_TOKEN: "ghs_never" },
};
const claude: ResolvedProfile = { ...BUILT_IN_PROFILES["claude-code"]!, name: "claude-code" };
const egress = { network: "foreman-egress-job-j1", proxyUrl: "http://foreman-egress-proxy:3128", dns: ["192.0.2.1"] };
const script: ResolvedProfile = { ...BUILT_IN_PROFILES.script!, name: "script" };

describe("buildContainerSpec", () => {
  it("builds the sandboxed spec of an agent profile, on its job network behind the egress proxy", () => {
    const spec = buildContainerSpec(claude, { ...job, egress });
    expect(spec).toEqual({
      ok: true,
      value: {
        name: "foreman-job-j1",
        Image: "foreman-agents/claude-code:latest",
        Entrypoint: ["sh"],
        Cmd: ["-c", claude.command[2]],
        User: "1000:1000",
        WorkingDir: "/workspace",
        Env: [
          "HOME=/home/agent",
          "FOREMAN_PROMPT_FILE=/foreman/prompt.md",
          "FOREMAN_CONTEXT_FILE=/foreman/context.json",
          "FOREMAN_OUT_DIR=/foreman/out",
          "FOREMAN_WORKSPACE=/workspace",
          "ANTHROPIC_API_KEY=sk-ant-test",
          "HTTP_PROXY=http://foreman-egress-proxy:3128",
          "HTTPS_PROXY=http://foreman-egress-proxy:3128",
          "http_proxy=http://foreman-egress-proxy:3128",
          "https_proxy=http://foreman-egress-proxy:3128",
          "NO_PROXY=localhost,127.0.0.1,::1",
          "no_proxy=localhost,127.0.0.1,::1",
          "NODE_USE_ENV_PROXY=1",
        ],
        Labels: {
          "foreman.task": "t1",
          "foreman.job": "j1",
          "foreman.replica": "r1",
          "foreman.profile": "claude-code",
        },
        Tty: false,
        OpenStdin: false,
        AttachStdin: false,
        HostConfig: {
          Binds: [
            "/var/lib/foreman/jobs/j1/workspace:/workspace:rw",
            "/var/lib/foreman/jobs/j1/prompt.md:/foreman/prompt.md:ro",
            "/var/lib/foreman/jobs/j1/context.json:/foreman/context.json:ro",
            "/var/lib/foreman/jobs/j1/out:/foreman/out:rw",
          ],
          NetworkMode: "foreman-egress-job-j1",
          Dns: ["192.0.2.1"],
          ReadonlyRootfs: true,
          Tmpfs: {
            "/tmp": "rw,nosuid,nodev,size=2048m",
            "/home/agent": "rw,nosuid,nodev,size=2048m,uid=1000,gid=1000,mode=0700",
          },
          CapDrop: ["ALL"],
          SecurityOpt: ["no-new-privileges"],
          Privileged: false,
          Memory: 4096 * 1024 * 1024,
          MemorySwap: 4096 * 1024 * 1024,
          NanoCpus: 2_000_000_000,
          PidsLimit: 1024,
          Init: true,
          AutoRemove: false,
          LogConfig: { Type: "json-file", Config: { "max-size": "20m", "max-file": "1" } },
        },
      },
    });
  });

  it("runs a script job as sh -c with no network, and never forwards unnamed variables", () => {
    const spec = buildContainerSpec(script, { ...job, script: "npm test && echo done" });
    expect(spec.ok).toBe(true);
    if (!spec.ok) return;
    expect([spec.value.Entrypoint, spec.value.Cmd]).toEqual([["sh"], ["-c", "npm test && echo done"]]);
    expect(spec.value.HostConfig?.NetworkMode).toBe("none");
    expect(spec.value.HostConfig?.Dns).toBeUndefined();
    expect(spec.value.Env?.some((entry) => entry.startsWith("GITHUB_TOKEN") || entry.startsWith("ANTHROPIC"))).toBe(
      false,
    );
    expect(spec.value.Env?.some((entry) => /proxy/i.test(entry))).toBe(false);
  });

  it("refuses an egress profile without an opened egress network, and keeps bridge as it is", () => {
    expect(buildContainerSpec(claude, job)).toEqual({
      ok: false,
      error: {
        code: "PROFILE_INVALID",
        message:
          'Agent profile "claude-code" cannot run: its network is `egress`, but no egress proxy was opened for the job.',
      },
    });
    const bridged = buildContainerSpec({ ...claude, network: "bridge" }, { ...job, egress });
    expect(bridged.ok && [bridged.value.HostConfig?.NetworkMode, bridged.value.HostConfig?.Dns]).toEqual([
      "bridge",
      undefined,
    ]);
    expect(bridged.ok && bridged.value.Env?.some((entry) => /proxy/i.test(entry))).toBe(false);
  });

  it("never forwards proxy variables: they are Foreman's to set", () => {
    expect(
      collectForwardedEnv({ name: "p", env: ["HTTPS_PROXY", "no_proxy"] }, { HTTPS_PROXY: "http://x", no_proxy: "*" }),
    ).toMatchObject({ ok: false, error: { code: "PROFILE_SECRET_FORBIDDEN" } });
  });

  it("mounts the profile's prompt file name and honours a numeric user", () => {
    const windsurf: ResolvedProfile = { ...BUILT_IN_PROFILES.windsurf!, name: "windsurf" };
    const spec = buildContainerSpec(windsurf, {
      ...job,
      paths: { ...paths, promptPath: "/jobs/j1/windsurf-instructions.txt" },
      hostEnv: { WINDSURF_TOKEN: "wt-123456" },
      egress,
    });
    expect(spec.ok && spec.value.HostConfig?.Binds?.[1]).toBe(
      "/jobs/j1/windsurf-instructions.txt:/foreman/windsurf-instructions.txt:ro",
    );
    expect(spec.ok && spec.value.User).toBe("1000:1000");
  });

  it("refuses root, whatever the profile says", () => {
    expect(buildContainerSpec({ ...script, user: "0:0" }, { ...job, script: "id" })).toEqual({
      ok: false,
      error: {
        code: "PROFILE_INVALID",
        message:
          'Agent profile "script" cannot run: user "0:0" is not a numeric uid:gid other than 0; agents never run as root.',
      },
    });
  });

  it("refuses a script profile without a script", () => {
    expect(buildContainerSpec(script, job)).toEqual({
      ok: false,
      error: {
        code: "PROFILE_INVALID",
        message: 'Agent profile "script" cannot run: it has no command; give it a `command`, or run it with a script.',
      },
    });
  });

  it.each(["/var/run/docker.sock", "/run/user/1000/docker.sock", "/var/run", "relative/dir"])(
    "refuses to mount %s",
    (source) => {
      const spec = buildContainerSpec(script, { ...job, script: "true", paths: { ...paths, workspaceDir: source } });
      expect(spec.ok).toBe(false);
      expect(!spec.ok && spec.error.code).toBe("PROFILE_INVALID");
      expect(!spec.ok && spec.error.message).toContain(`mount source "${source}"`);
    },
  );
});

describe("collectForwardedEnv", () => {
  const profile = { name: "p", env: ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "EXTRA"] };

  it("lists every missing variable before any container starts", () => {
    expect(collectForwardedEnv(profile, { OPENAI_API_KEY: "sk-1", EXTRA: "" })).toEqual({
      ok: false,
      error: {
        code: "PROFILE_SECRET_MISSING",
        message:
          'Agent profile "p" needs ANTHROPIC_API_KEY, EXTRA, but they are not set on the Foreman server. An operator must set these variables in the agent secrets.',
      },
    });
  });

  it("forwards exactly the named variables", () => {
    expect(
      collectForwardedEnv(profile, { OPENAI_API_KEY: "a1", ANTHROPIC_API_KEY: "b2", EXTRA: "c3", OTHER: "no" }),
    ).toEqual({
      ok: true,
      value: { OPENAI_API_KEY: "a1", ANTHROPIC_API_KEY: "b2", EXTRA: "c3" },
    });
  });

  it("never forwards GitHub or Foreman credentials, even when a profile asks", () => {
    expect(
      collectForwardedEnv(
        { name: "evil", env: ["GITHUB_TOKEN", "PRIVATE_KEY", "DATABASE_URL", "OPENAI_API_KEY"] },
        { GITHUB_TOKEN: "ghs_x" },
      ),
    ).toEqual({
      ok: false,
      error: {
        code: "PROFILE_SECRET_FORBIDDEN",
        message:
          'Agent profile "evil" asks for GITHUB_TOKEN, PRIVATE_KEY, DATABASE_URL, which Foreman never gives to an agent (agents get no GitHub credentials and no Foreman settings). Remove them from `env`.',
      },
    });
  });

  it("refuses a value that is a GitHub token or a private key under an innocent name", () => {
    const forwarded = collectForwardedEnv({ name: "p", env: ["API_KEY"] }, { API_KEY: "ghs_abc123" });
    expect(!forwarded.ok && forwarded.error.code).toBe("PROFILE_SECRET_FORBIDDEN");
    const key = collectForwardedEnv(
      { name: "p", env: ["API_KEY"] },
      { API_KEY: "-----BEGIN RSA PRIVATE KEY-----\nMII" },
    );
    expect(!key.ok && key.error.message).toBe(
      "The value of API_KEY looks like a GitHub token or a private key; Foreman never gives those to an agent. An operator must set it to the agent's own API key.",
    );
  });
});
