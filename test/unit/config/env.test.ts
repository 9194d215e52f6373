import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  buildGitHubBaseUrl,
  EnvError,
  hasAppCredentials,
  listSecretValues,
  parseEnv,
} from "../../../src/config/env.js";

function problemsOf(source: Record<string, string>): string[] {
  try {
    parseEnv(source);
  } catch (error) {
    if (error instanceof EnvError) return error.problems;
    throw error;
  }
  throw new Error("expected parseEnv to refuse");
}

describe("parseEnv", () => {
  test("an empty environment is setup mode with defaults", () => {
    const env = parseEnv({});
    expect(hasAppCredentials(env)).toBe(false);
    expect(env).toMatchObject({
      PORT: 3000,
      WEBHOOK_PATH: "/api/github/webhooks",
      PRODUCTION_MODE: false,
      ALLOWED_REPOS: [],
      LOG_LEVEL: "info",
    });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  test("flags are parsed as words: PRODUCTION_MODE=false is false", () => {
    expect(parseEnv({ PRODUCTION_MODE: "false" }).PRODUCTION_MODE).toBe(false);
    expect(parseEnv({ PRODUCTION_MODE: "true", ALLOWED_REPOS: "acme/api, acme/web" })).toMatchObject({
      PRODUCTION_MODE: true,
      ALLOWED_REPOS: ["acme/api", "acme/web"],
    });
  });

  test("every invalid value is listed at once, naming the variable and the fix", () => {
    expect(
      problemsOf({
        PORT: "http",
        LOG_LEVEL: "loud",
        PRODUCTION_MODE: "yes please",
        GHE_HOST: "https://ghe.example.com",
        DATABASE_URL: "mysql://x",
      }),
    ).toEqual([
      'GHE_HOST="https://ghe.example.com": must be a host name without the protocol, e.g. github.example.com (set GHE_PROTOCOL for http)',
      'PORT="http": Invalid input: expected number, received NaN',
      'LOG_LEVEL="loud": must be one of trace, debug, info, warn, error, fatal, silent',
      "DATABASE_URL=(hidden): must be a postgres:// URL, e.g. postgres://foreman@db:5432/foreman (or unset it to use the embedded PostgreSQL)",
      'PRODUCTION_MODE="yes please": must be true or false',
    ]);
  });

  test("combinations: an app id needs a key and a webhook secret; production mode needs an allow-list", () => {
    expect(problemsOf({ APP_ID: "12" })).toEqual([
      "PRIVATE_KEY: APP_ID is set but no private key is; set PRIVATE_KEY (or PRIVATE_KEY_PATH) to the app's .pem key",
      "WEBHOOK_SECRET: required once the app is registered; set it to the webhook secret from the app's settings",
    ]);
    expect(problemsOf({ PRODUCTION_MODE: "true" })).toEqual([
      "ALLOWED_REPOS: PRODUCTION_MODE=true acts only on listed repos, and none are listed; set ALLOWED_REPOS=owner/name,…",
    ]);
    expect(problemsOf({ ALLOWED_REPOS: "acme" })[0]).toContain("must be a comma-separated list of owner/name");
  });

  test("secrets can come from files (NAME_FILE), never from both places", () => {
    const dir = mkdtempSync(join(tmpdir(), "foreman-env-"));
    writeFileSync(join(dir, "secret"), "from-a-file\n");
    expect(parseEnv({ WEBHOOK_SECRET_FILE: join(dir, "secret") }).WEBHOOK_SECRET).toBe("from-a-file");
    expect(problemsOf({ WEBHOOK_SECRET_FILE: join(dir, "secret"), WEBHOOK_SECRET: "x" })).toEqual([
      "WEBHOOK_SECRET and WEBHOOK_SECRET_FILE are both set: keep one of them",
    ]);
    expect(problemsOf({ WEBHOOK_SECRET_FILE: join(dir, "missing") })[0]).toMatch(
      /^WEBHOOK_SECRET_FILE=.*missing: cannot read the file \(ENOENT\)/,
    );
  });

  test("secret values are listed for the log redactor, including the database password", () => {
    const env = parseEnv({ WEBHOOK_SECRET: "hook-secret", DATABASE_URL: "postgres://foreman:p%40ss@db:5432/foreman" });
    expect(listSecretValues(env)).toEqual(["hook-secret", "p%40ss", "p@ss"]);
  });

  test("GHE_HOST points the API at GitHub Enterprise Server", () => {
    expect(buildGitHubBaseUrl(parseEnv({}))).toBe("https://api.github.com");
    expect(buildGitHubBaseUrl(parseEnv({ GHE_HOST: "ghe.acme.test" }))).toBe("https://ghe.acme.test/api/v3");
    expect(buildGitHubBaseUrl(parseEnv({ GHE_HOST: "ghe.acme.test:8080", GHE_PROTOCOL: "http" }))).toBe(
      "http://ghe.acme.test:8080/api/v3",
    );
  });

  test("the egress firewall's settings: defaults, the operator's allow list, internal ranges, each checked", () => {
    expect(parseEnv({})).toMatchObject({
      AGENT_EGRESS_ALLOW: [],
      EGRESS_PROXY_IMAGE: "foreman-agents/egress-proxy:latest",
      EGRESS_NAME_PREFIX: "foreman",
      EGRESS_INTERNAL_ALLOW: [],
    });
    expect(
      parseEnv({
        AGENT_EGRESS_ALLOW: "registry.npmjs.org:443, *.pythonhosted.org:443",
        EGRESS_INTERNAL_ALLOW: "10.20.0.0/16,fd00::/8,10.9.9.9",
        EGRESS_NAME_PREFIX: "foreman-blue",
      }),
    ).toMatchObject({
      AGENT_EGRESS_ALLOW: [
        { host: "registry.npmjs.org", port: 443 },
        { host: "*.pythonhosted.org", port: 443 },
      ],
      EGRESS_INTERNAL_ALLOW: ["10.20.0.0/16", "fd00::/8", "10.9.9.9"],
      EGRESS_NAME_PREFIX: "foreman-blue",
    });
    expect(
      problemsOf({
        AGENT_EGRESS_ALLOW: "registry.npmjs.org:443,169.254.169.254:80",
        EGRESS_INTERNAL_ALLOW: "10.0.0.0/33,internal",
        EGRESS_NAME_PREFIX: "Foreman Blue",
      }),
    ).toEqual([
      'AGENT_EGRESS_ALLOW="registry.npmjs.org:443,169.254.169.254:80": "169.254.169.254:80" is not an allowed egress entry: it is an IP address, and egress is allowed to host names only; write a DNS name and a port, e.g. "api.example.com:443" (or "*.example.com:443" for its subdomains)',
      'EGRESS_NAME_PREFIX="Foreman Blue": must be lower-case letters, digits, . _ or -, at most 40, e.g. foreman-blue',
      'EGRESS_INTERNAL_ALLOW="10.0.0.0/33,internal": "10.0.0.0/33", "internal" are not address ranges; write comma-separated CIDRs such as 10.20.0.0/16 or fd00::/8',
    ]);
  });

  test("what repositories may change of profiles: tighten and the maxima by default, each setting checked", () => {
    expect(parseEnv({})).toMatchObject({
      REPO_PROFILE_OVERRIDES: [],
      REPO_PROFILE_SECRETS: [],
      AGENT_MAX_MEMORY_MB: 8192,
      AGENT_MAX_CPUS: 4,
      AGENT_MAX_PIDS: 4096,
      AGENT_MAX_TIMEOUT_SECONDS: 7200,
    });
    expect(
      parseEnv({
        REPO_PROFILE_OVERRIDES: "image, command,limits",
        REPO_PROFILE_SECRETS: "my-bot",
        AGENT_MAX_CPUS: "1.5",
      }),
    ).toMatchObject({
      REPO_PROFILE_OVERRIDES: ["image", "command", "limits"],
      REPO_PROFILE_SECRETS: ["my-bot"],
      AGENT_MAX_CPUS: 1.5,
    });
    expect(parseEnv({ REPO_PROFILE_OVERRIDES: "tighten" }).REPO_PROFILE_OVERRIDES).toEqual([]);
    expect(
      problemsOf({ REPO_PROFILE_OVERRIDES: "image,secrets", REPO_PROFILE_SECRETS: "My Bot", AGENT_MAX_MEMORY_MB: "0" }),
    ).toEqual([
      'REPO_PROFILE_OVERRIDES="image,secrets": "secrets" is not a group of profile fields; write tighten, or a comma-separated list of image, command, env, network, limits',
      'REPO_PROFILE_SECRETS="My Bot": must be a comma-separated list of profile names, e.g. my-bot,script',
      expect.stringMatching(/^AGENT_MAX_MEMORY_MB="0": /),
    ]);
  });

  test("the workspace source is the tarball unless the mirror is chosen, with its eviction limits", () => {
    expect(parseEnv({})).toMatchObject({ WORKSPACE_SOURCE: "tarball", MIRROR_MAX_GB: 50, MIRROR_MAX_AGE_DAYS: 14 });
    expect(parseEnv({ WORKSPACE_SOURCE: "mirror", MIRROR_MAX_GB: "5", MIRROR_DIR: "/srv/mirrors" })).toMatchObject({
      WORKSPACE_SOURCE: "mirror",
      MIRROR_MAX_GB: 5,
      MIRROR_DIR: "/srv/mirrors",
    });
    expect(problemsOf({ WORKSPACE_SOURCE: "clone", MIRROR_MAX_AGE_DAYS: "0" })).toEqual([
      'WORKSPACE_SOURCE="clone": must be tarball or mirror',
      expect.stringMatching(/^MIRROR_MAX_AGE_DAYS="0": /),
    ]);
  });
});
