import { describe, expect, test } from "vitest";
import { parseRepoConfig } from "../../../src/config/repo-config.js";
import { DEFAULT_TASK_CONFIG } from "../../../src/workflow/defaults.js";

describe("parseRepoConfig", () => {
  test("no file, an empty file, and a partial file all fill in the defaults", () => {
    expect(parseRepoConfig(null)).toEqual({ ok: true, config: DEFAULT_TASK_CONFIG });
    expect(parseRepoConfig("")).toEqual({ ok: true, config: DEFAULT_TASK_CONFIG });
    expect(parseRepoConfig("prLabels: []\n")).toEqual({ ok: true, config: { ...DEFAULT_TASK_CONFIG, prLabels: [] } });
  });

  test("every key can be set", () => {
    const text = [
      "triggerLabels:\n  ai:fix: bugfix",
      "freezeLabel: hold",
      "branchPrefix: bots/foreman/",
      "prLabels: [bot]",
      "agent: my-bot",
      "profiles:\n  my-bot:\n    image: registry.example.com/my-bot@sha256:abc\n    command: [sh, -c, 'make fix']\n    env: [MY_BOT_TOKEN]\n    network: none\n    timeoutSeconds: 1800\n    memoryMb: 4096",
      "guardrails:\n  maxFiles: 20\n  protectedPaths: ['migrations/**']",
      "budgets:\n  agentMinutes: 30\n  costUsd: 5",
      "mode: shadow",
      "pipeline:\n  default: [planner, coder, test_author, reviewer]\n  bugfix: [coder, reviewer]",
      "roles:\n  reviewer: { agent: my-reviewer }\n  ci_fixer: { agent: my-bot }",
      "maxReviewRevisions: 2",
      "maxCiAttempts: 5",
      "ci:\n  apps: [github-actions, circleci-checks]\n  waitMinutes: 10\n  whenMissing: ready\n  statuses: [ci/jenkins/*]\n  requiredOnly: false",
      "reviewers:\n  users: [octocat]\n  teams: [platform]",
      "prompt:\n  untrustedComments: omit",
    ].join("\n");
    expect(parseRepoConfig(text)).toEqual({
      ok: true,
      config: {
        triggerLabels: { "ai:fix": "bugfix" },
        freezeLabel: "hold",
        branchPrefix: "bots/foreman/",
        prLabels: ["bot"],
        agent: "my-bot",
        profiles: {
          "my-bot": {
            image: "registry.example.com/my-bot@sha256:abc",
            command: ["sh", "-c", "make fix"],
            env: ["MY_BOT_TOKEN"],
            network: "none",
            timeoutSeconds: 1800,
            memoryMb: 4096,
          },
        },
        guardrails: { maxFiles: 20, protectedPaths: ["migrations/**"] },
        budgets: { agentMinutes: 30, tokens: null, costUsd: 5 },
        mode: "shadow",
        pipeline: { default: ["planner", "coder", "test_author", "reviewer"], bugfix: ["coder", "reviewer"] },
        roles: { reviewer: { agent: "my-reviewer" }, ci_fixer: { agent: "my-bot" } },
        maxReviewRevisions: 2,
        maxCiAttempts: 5,
        ci: {
          apps: ["github-actions", "circleci-checks"],
          waitMinutes: 10,
          whenMissing: "ready",
          statuses: ["ci/jenkins/*"],
          requiredOnly: false,
        },
        reviewers: { users: ["octocat"], teams: ["platform"] },
        prompt: { untrustedComments: "omit" },
      },
    });
    // One list is every task type's pipeline.
    expect(parseRepoConfig("pipeline: [coder]")).toMatchObject({
      ok: true,
      config: { pipeline: { default: ["coder"] } },
    });
  });

  test("the pipeline and CI settings are checked like the rest", () => {
    expect(
      parseRepoConfig(
        "pipeline: [coder, deployer]\nmaxCiAttempts: -1\nci:\n  whenMissing: maybe\nroles:\n  boss: {}\n",
      ),
    ).toMatchObject({
      ok: false,
      problems: [
        expect.stringContaining(
          "`pipeline` must be a list of roles (planner, coder, reviewer, test_author, security, scribe)",
        ),
        "unknown key `roles.boss`: check its spelling against the README's table of settings",
        "`maxCiAttempts` must be 0 or more",
        "`ci.whenMissing` must be wait or ready",
      ],
    });
    expect(parseRepoConfig("pipeline: [coder, coder]")).toMatchObject({
      ok: false,
      problems: [expect.stringContaining("must not name a step twice")],
    });
    expect(parseRepoConfig("mode: dry-run")).toEqual({ ok: false, problems: ["`mode` must be normal or shadow"] });
    expect(parseRepoConfig("prompt:\n  untrustedComments: show")).toEqual({
      ok: false,
      problems: ["`prompt.untrustedComments` must be quote or omit"],
    });
    expect(parseRepoConfig("ci:\n  statuses: ci/jenkins\n  requiredOnly: sometimes")).toMatchObject({
      ok: false,
      problems: [
        expect.stringContaining('`ci.statuses` must be a list of status contexts or globs, e.g. ["ci/jenkins/*"]'),
        "`ci.requiredOnly` must be true or false",
      ],
    });
    expect(parseRepoConfig('ci:\n  statuses: [""]')).toMatchObject({
      ok: false,
      problems: [
        expect.stringContaining("`ci.statuses.0` must be a status context or a glob, e.g. ci/jenkins/* (not empty"),
      ],
    });
  });

  test("agent settings are checked like the rest", () => {
    expect(
      parseRepoConfig("agent: Claude Code\nprofiles:\n  x:\n    network: wifi\nbudgets:\n  agentMinutes: 0\n"),
    ).toEqual({
      ok: false,
      problems: [
        "`agent` must be lower-case letters, digits, - or _",
        '`profiles.x.network` Invalid option: expected one of "none"|"egress"|"bridge"',
        "`budgets.agentMinutes` must be a number of minutes above 0",
      ],
    });
  });

  test("each problem names the key and what is expected", () => {
    expect(
      parseRepoConfig("triggerLabels:\n  agent:go: fix\nfreezeLabel: ''\ntriggerLabel: {}\nbranchPrefix: ../x/\n"),
    ).toEqual({
      ok: false,
      problems: [
        "`triggerLabels.agent:go` must be one of ready, bugfix, feature, refactor, docs",
        "`freezeLabel` must be a non-empty label name",
        "`branchPrefix` must be a branch path ending in /, made of letters, digits, . _ - (e.g. agent/)",
        "unknown key `triggerLabel` (did you mean `triggerLabels`?): the known keys are triggerLabels, freezeLabel, branchPrefix, prLabels, agent, profiles, guardrails, budgets, mode, pipeline, roles, maxReviewRevisions, maxCiAttempts, ci, reviewers, prompt",
      ],
    });
    expect(parseRepoConfig("triggerLabels: {}\n")).toEqual({
      ok: false,
      problems: ["`triggerLabels` must list at least one label"],
    });
  });

  test("YAML errors and non-mappings are refused with what to do", () => {
    const broken = parseRepoConfig("prLabels: [a\n");
    expect(broken.ok).toBe(false);
    expect(!broken.ok && broken.problems[0]).toMatch(/^YAML syntax: /);
    expect(parseRepoConfig("- a\n- b\n")).toEqual({
      ok: false,
      problems: ["the file must be a YAML mapping of settings (key: value), not a list or a single value"],
    });
    expect(parseRepoConfig("a: 1\na: 2\n").ok).toBe(false);
  });
});
