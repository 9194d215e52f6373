import { describe, expect, it } from "vitest";
import { AgentProfile, AgentProfileOverride } from "../../../src/agents/agent-profile.js";
import {
  BUILT_IN_PROFILES,
  listAgentArtifactExcludes,
  resolveProfile,
  type ProfileSources,
} from "../../../src/agents/profiles.js";

// Repositories may set any field here (what they may set by default is repo-override-policy.test.ts).
const sources = (extra: Partial<ProfileSources> = {}): ProfileSources => ({
  builtIn: BUILT_IN_PROFILES,
  imageAllowlist: [],
  repoOverrides: { fields: ["image", "command", "env", "network", "limits"], secretProfiles: [] },
  ...extra,
});

describe("built-in profiles", () => {
  it("ships the documented set, each a valid profile", () => {
    expect(Object.keys(BUILT_IN_PROFILES).sort()).toEqual([
      "aider",
      "claude-code",
      "codex",
      "gemini",
      "openhands",
      "script",
      "windsurf",
    ]);
    for (const profile of Object.values(BUILT_IN_PROFILES)) expect(AgentProfile.safeParse(profile).success).toBe(true);
  });

  it("uses the network only for agents that call a model API", () => {
    const networks = Object.fromEntries(
      Object.entries(BUILT_IN_PROFILES).map(([name, profile]) => [name, profile.network]),
    );
    expect(networks).toEqual({
      script: "none",
      "claude-code": "egress",
      codex: "egress",
      aider: "egress",
      openhands: "egress",
      gemini: "egress",
      windsurf: "egress",
    });
  });

  it("lets each CLI reach its model API and nothing else", () => {
    const egress = Object.fromEntries(
      Object.entries(BUILT_IN_PROFILES).map(([name, profile]) => [name, profile.egress ?? []]),
    );
    expect(egress).toEqual({
      script: [],
      "claude-code": ["api.anthropic.com:443"],
      codex: ["api.openai.com:443"],
      aider: ["api.anthropic.com:443"],
      openhands: ["api.anthropic.com:443"],
      gemini: ["generativelanguage.googleapis.com:443"],
      windsurf: ["*.codeium.com:443", "*.windsurf.com:443"],
    });
  });

  it("gives windsurf the file names windsurfinabox expects", () => {
    expect(BUILT_IN_PROFILES.windsurf).toMatchObject({
      promptFile: "windsurf-instructions.txt",
      outputFile: "windsurf-output.txt",
      env: ["WINDSURF_TOKEN"],
    });
  });

  it("keeps the agent's own files out of the diff", () => {
    expect(
      listAgentArtifactExcludes({ promptFile: "windsurf-instructions.txt", outputFile: "windsurf-output.txt" }),
    ).toEqual([
      ".aider*",
      "/.windsurf/workflows/entry-workflow.md",
      "/windsurf-instructions.txt",
      "/windsurf-output.txt",
    ]);
  });
});

describe("AgentProfile schema", () => {
  const valid = {
    image: "node:22",
    command: ["npm", "test"],
    env: [],
    network: "none",
    timeoutSeconds: 600,
    memoryMb: 1024,
  };

  it("accepts the repo-config shape", () => {
    expect(AgentProfile.parse(valid)).toEqual(valid);
  });

  it.each([
    [{ user: "0:0" }, "user"],
    [{ user: "1000:0" }, "user"],
    [{ user: "node" }, "user"],
    [{ network: "host" }, "network"],
    [{ env: ["NOT-A-NAME"] }, "env.0"],
    [{ promptFile: "../etc/passwd" }, "promptFile"],
    [{ timeoutSeconds: 0 }, "timeoutSeconds"],
    [{ privileged: true }, ""],
  ])("rejects %j", (patch, path) => {
    const parsed = AgentProfile.safeParse({ ...valid, ...patch });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join("."))).toEqual([path]);
  });

  it("allows partial overrides", () => {
    expect(AgentProfileOverride.parse({ timeoutSeconds: 1200 })).toEqual({ timeoutSeconds: 1200 });
  });
});

describe("resolveProfile", () => {
  it("returns a built-in profile with its name", () => {
    const resolved = resolveProfile("claude-code", sources());
    expect(resolved).toEqual({
      ok: true,
      value: { ...BUILT_IN_PROFILES["claude-code"], name: "claude-code", egressRefused: [] },
    });
  });

  it("layers app then repo overrides over the built-in", () => {
    const resolved = resolveProfile(
      "aider",
      sources({
        appProfiles: { aider: { memoryMb: 2048, timeoutSeconds: 1800 } },
        repoProfiles: { aider: { timeoutSeconds: 900 } },
      }),
    );
    expect(resolved.ok && resolved.value).toMatchObject({
      image: "paulgauthier/aider:latest",
      memoryMb: 2048,
      timeoutSeconds: 900,
    });
  });

  it("names the known profiles when the name is unknown", () => {
    expect(resolveProfile("claud", sources({ repoProfiles: { "my-bot": { image: "x" } } }))).toEqual({
      ok: false,
      error: {
        code: "PROFILE_UNKNOWN",
        message:
          'Unknown agent profile "claud". Known profiles: aider, claude-code, codex, gemini, my-bot, openhands, script, windsurf. ' +
          'Use one of them, or define "claud" under `profiles:` in .github/foreman.yml.',
      },
    });
  });

  it("explains an incomplete repo profile field by field", () => {
    expect(
      resolveProfile("my-bot", sources({ repoProfiles: { "my-bot": { image: "node:22", command: ["x"] } } })),
    ).toEqual({
      ok: false,
      error: {
        code: "PROFILE_INVALID",
        message:
          'Agent profile "my-bot" is invalid: env: Invalid input: expected array, received undefined; network: Invalid option: expected one of "none"|"egress"|"bridge"; ' +
          "timeoutSeconds: Invalid input: expected number, received undefined; memoryMb: Invalid input: expected number, received undefined. Fix these fields under `profiles.my-bot`.",
      },
    });
  });

  it("refuses a repo image outside the allowlist and says how to allow it", () => {
    const repoProfiles = {
      "my-bot": {
        image: "ghcr.io/acme/bot:1",
        command: ["bot"],
        env: [],
        network: "none" as const,
        timeoutSeconds: 60,
        memoryMb: 256,
      },
    };
    expect(resolveProfile("my-bot", sources({ repoProfiles }))).toEqual({
      ok: false,
      error: {
        code: "IMAGE_NOT_ALLOWED",
        message:
          'Image "ghcr.io/acme/bot:1" of agent profile "my-bot" is not allowed on this Foreman installation. ' +
          'An operator can allow it by adding the image, or a glob such as "ghcr.io/acme/*", to AGENT_IMAGE_ALLOWLIST (comma-separated globs).',
      },
    });
    expect(resolveProfile("my-bot", sources({ repoProfiles, imageAllowlist: ["ghcr.io/acme/*"] })).ok).toBe(true);
  });

  it("refuses a repo override that swaps a built-in's image, and allows images of app profiles", () => {
    expect(resolveProfile("script", sources({ repoProfiles: { script: { image: "evil/image:1" } } })).ok).toBe(false);
    const appProfiles = {
      tests: {
        image: "node:22-slim",
        command: ["npm", "test"],
        env: [],
        network: "none" as const,
        timeoutSeconds: 600,
        memoryMb: 2048,
      },
    };
    expect(
      resolveProfile("script", sources({ appProfiles, repoProfiles: { script: { image: "node:22-slim" } } })).ok,
    ).toBe(true);
  });

  it("enforces the operator's maximum limits", () => {
    expect(
      resolveProfile(
        "script",
        sources({ repoProfiles: { script: { memoryMb: 8192 } }, maxLimits: { memoryMb: 4096 } }),
      ),
    ).toEqual({
      ok: false,
      error: {
        code: "PROFILE_INVALID",
        message:
          'Agent profile "script" asks for memoryMb 8192, above this installation\'s maximum of 4096 (AGENT_MAX_MEMORY_MB). ' +
          "This is the repository config's to fix: lower `profiles.script.memoryMb` in .github/foreman.yml to 4096 or less, " +
          "or ask an operator to raise AGENT_MAX_MEMORY_MB.",
      },
    });
  });
});
