import { describe, expect, it } from "vitest";
import { resolveEgressPolicy } from "../../../../src/agents/egress/egress-policy.js";
import { BUILT_IN_PROFILES, resolveProfile, type ProfileSources } from "../../../../src/agents/profiles.js";

const npm = { host: "registry.npmjs.org", port: 443 };

describe("resolveEgressPolicy", () => {
  it("gives the profile's own list plus the operator's list when the repository says nothing", () => {
    expect(
      resolveEgressPolicy({
        profileName: "claude-code",
        operatorProfile: ["api.anthropic.com:443"],
        operatorAllow: [npm],
      }),
    ).toEqual({ rules: [{ host: "api.anthropic.com", port: 443 }, npm], refused: [] });
  });

  it("narrows to what the repository asks, refusing what the operator did not allow, by name and with the fix", () => {
    const policy = resolveEgressPolicy({
      profileName: "claude-code",
      operatorProfile: ["api.anthropic.com:443", "*.pythonhosted.org:443"],
      operatorAllow: [npm],
      repository: [
        "registry.npmjs.org:443",
        "files.pythonhosted.org:443",
        "evil.example.com:443",
        "api.anthropic.com:80",
      ],
    });
    expect(policy.rules).toEqual([npm, { host: "files.pythonhosted.org", port: 443 }]);
    expect(policy.refused.map((refusal) => refusal.entry)).toEqual(["evil.example.com:443", "api.anthropic.com:80"]);
    expect(policy.refused[0]?.message).toBe(
      "Egress to evil.example.com:443, asked for by `profiles.claude-code.egress` in .github/foreman.yml, is refused: " +
        'this Foreman installation does not allow it for profile "claude-code", and a repository can only narrow ' +
        "what the operator allows. An operator can allow it for every repository with AGENT_EGRESS_ALLOW=evil.example.com:443 " +
        "(comma-separated), or for this profile under `profiles.claude-code.egress` in AGENT_PROFILES_FILE.",
    );
  });

  it("lets a repository drop every host (an empty list) and never widen a wildcard", () => {
    expect(
      resolveEgressPolicy({
        profileName: "p",
        operatorProfile: ["api.example.com:443"],
        operatorAllow: [],
        repository: [],
      }),
    ).toEqual({ rules: [], refused: [] });
    const widened = resolveEgressPolicy({
      profileName: "p",
      operatorProfile: ["api.example.com:443"],
      operatorAllow: [],
      repository: ["*.example.com:443"],
    });
    expect([widened.rules, widened.refused.map((refusal) => refusal.entry)]).toEqual([[], ["*.example.com:443"]]);
  });
});

describe("resolveProfile with egress", () => {
  // Repositories may define profiles here (REPO_PROFILE_OVERRIDES=image,command,network): this file is about egress.
  const sources = (extra: Partial<ProfileSources> = {}): ProfileSources => ({
    builtIn: BUILT_IN_PROFILES,
    imageAllowlist: [],
    repoOverrides: { fields: ["image", "command", "network"], secretProfiles: [] },
    ...extra,
  });

  it("widens a built-in with AGENT_EGRESS_ALLOW, and an operator profile replaces the built-in's list", () => {
    expect(resolveProfile("codex", sources({ egressAllow: [npm] }))).toMatchObject({
      ok: true,
      value: { network: "egress", egress: ["api.openai.com:443", "registry.npmjs.org:443"], egressRefused: [] },
    });
    const appProfiles = { codex: { egress: ["llm-gateway.internal.example:443"] } };
    expect(resolveProfile("codex", sources({ appProfiles }))).toMatchObject({
      ok: true,
      value: { egress: ["llm-gateway.internal.example:443"] },
    });
  });

  it("narrows a built-in to what the repository lists and returns the refusals with the profile", () => {
    const resolved = resolveProfile(
      "claude-code",
      sources({
        egressAllow: [npm],
        repoProfiles: { "claude-code": { egress: ["api.anthropic.com:443", "pypi.org:443"] } },
      }),
    );
    expect(resolved.ok && resolved.value.egress).toEqual(["api.anthropic.com:443"]);
    expect(resolved.ok && resolved.value.egressRefused?.map((refusal) => refusal.entry)).toEqual(["pypi.org:443"]);
  });

  it("lets a repository's own profile reach only what the operator allows every repository", () => {
    const repoProfiles = {
      "my-bot": {
        image: "foreman-agents/claude-code:latest",
        command: ["bot"],
        env: [],
        network: "egress" as const,
        egress: ["api.anthropic.com:443", "registry.npmjs.org:443"],
        timeoutSeconds: 60,
        memoryMb: 256,
      },
    };
    const resolved = resolveProfile("my-bot", sources({ repoProfiles, egressAllow: [npm] }));
    expect(resolved.ok && resolved.value.egress).toEqual(["registry.npmjs.org:443"]);
    expect(resolved.ok && resolved.value.egressRefused?.map((refusal) => refusal.entry)).toEqual([
      "api.anthropic.com:443",
    ]);
  });

  it("refuses network: bridge from a repository, naming the problem and the fix", () => {
    expect(resolveProfile("claude-code", sources({ repoProfiles: { "claude-code": { network: "bridge" } } }))).toEqual({
      ok: false,
      error: {
        code: "PROFILE_INVALID",
        message:
          'Agent profile "claude-code" asks for `network: bridge` in .github/foreman.yml, which would let the agent reach ' +
          "the whole network; only an operator can choose bridge (in AGENT_PROFILES_FILE). Use `network: egress` with " +
          "the hosts the agent needs under `profiles.claude-code.egress` (each must be allowed by the operator), or `network: none`.",
      },
    });
  });

  it("keeps bridge as an operator's escape hatch, which a repository may keep or narrow", () => {
    const appProfiles = { "claude-code": { network: "bridge" as const } };
    expect(resolveProfile("claude-code", sources({ appProfiles }))).toMatchObject({
      ok: true,
      value: { network: "bridge" },
    });
    expect(
      resolveProfile("claude-code", sources({ appProfiles, repoProfiles: { "claude-code": { network: "bridge" } } }))
        .ok,
    ).toBe(true);
    expect(
      resolveProfile("claude-code", sources({ appProfiles, repoProfiles: { "claude-code": { network: "none" } } })),
    ).toMatchObject({ ok: true, value: { network: "none" } });
  });

  it("refuses an IP literal in a profile's egress as an invalid field", () => {
    const resolved = resolveProfile(
      "claude-code",
      sources({ repoProfiles: { "claude-code": { egress: ["169.254.169.254:80"] } } }),
    );
    expect(resolved).toMatchObject({ ok: false, error: { code: "PROFILE_INVALID" } });
    expect(!resolved.ok && resolved.error.message).toContain(
      'egress.0: "169.254.169.254:80" is not an allowed egress entry: it is an IP address',
    );
  });
});
