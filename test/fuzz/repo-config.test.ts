import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { parse, stringify } from "yaml";
import { parseRepoConfig, type RepoConfigResult } from "../../src/config/repo-config.js";
import { applyJsonMutations, checkProperty, jsonMutations } from "./fuzz-settings.js";

// `.github/foreman.yml` is written by anyone with push access: whatever its text, parsing gives
// the settings or a list of problems in words, never a throw.

const FULL_CONFIG = [
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
  "ci:\n  apps: [github-actions]\n  waitMinutes: 10\n  whenMissing: ready\n  statuses: [ci/jenkins/*]\n  requiredOnly: false",
  "reviewers:\n  users: [octocat]\n  teams: [platform]",
].join("\n");

// Pieces of YAML that exercise the parser's corners: anchors and aliases, merge keys, tags,
// complex keys, block scalars, directives, documents, flow collections, odd numbers.
const YAML_PIECES = [
  "\n",
  " ",
  "  ",
  "- ",
  ": ",
  "a",
  "mode",
  "triggerLabels",
  "profiles",
  "guardrails",
  "pipeline",
  "maxFiles",
  "__proto__",
  "constructor",
  "&x ",
  "*x",
  "<<: *x",
  "<<: ",
  "{",
  "}",
  "[",
  "]",
  ",",
  "? ",
  "|",
  ">-",
  "'",
  '"',
  "#",
  "!!binary ",
  "!!set ",
  "!!map ",
  "!!str ",
  "!!int ",
  "!custom ",
  "%YAML 1.1\n",
  "%TAG ! tag:x,2000:\n",
  "---\n",
  "...\n",
  "1e400",
  "-.inf",
  ".nan",
  "0x1F",
  "0o17",
  "~",
  "null",
  "yes",
  "2001-12-14t21:59:43.10-05:00",
  "\t",
  "\u00a0",
  "\ufeff",
  "😀",
  "\\",
];

const yamlSoup = fc.array(fc.constantFrom(...YAML_PIECES), { maxLength: 40 }).map((pieces) => pieces.join(""));

function expectConfigOrProblems(result: RepoConfigResult): void {
  if (result.ok) {
    expect(result.config).toMatchObject({ triggerLabels: expect.any(Object), pipeline: expect.any(Object) });
    // What the engine stores with the task: plain JSON.
    expect(JSON.parse(JSON.stringify(result.config))).toEqual(result.config);
  } else {
    expect(result.problems.length).toBeGreaterThan(0);
    for (const problem of result.problems) expect(problem).toMatch(/\S/);
  }
}

describe("parseRepoConfig on arbitrary YAML", () => {
  test("the full example parses (the mutations below start from a valid file)", () => {
    expect(parseRepoConfig(FULL_CONFIG).ok).toBe(true);
  });

  test("any text is settings or problems", () => {
    checkProperty(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (text) => {
        expectConfigOrProblems(parseRepoConfig(text));
      }),
      200,
    );
  });

  test("YAML made of the parser's hard parts is settings or problems", () => {
    checkProperty(
      fc.property(yamlSoup, (text) => {
        expectConfigOrProblems(parseRepoConfig(text));
      }),
      400,
    );
  });

  test("the full example with fields dropped or replaced by arbitrary values is settings or problems", () => {
    const document: unknown = parse(FULL_CONFIG);
    checkProperty(
      fc.property(jsonMutations, (mutations) => {
        expectConfigOrProblems(parseRepoConfig(stringify(applyJsonMutations(document, mutations))));
      }),
      300,
    );
  });

  test("any JSON value written as YAML is settings or problems", () => {
    checkProperty(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        expectConfigOrProblems(parseRepoConfig(stringify(value)));
      }),
      200,
    );
  });

  test("aliases that multiply (a billion laughs) and aliases before their anchor are problems", () => {
    const laughs = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (const name of ["b", "c", "d", "e"]) {
      const previous = String.fromCharCode(name.charCodeAt(0) - 1);
      laughs.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(", ")}]`);
    }
    expect(parseRepoConfig(laughs.join("\n"))).toEqual({
      ok: false,
      problems: ["YAML: Excessive alias count indicates a resource exhaustion attack"],
    });
    expect(parseRepoConfig("mode: *x\n")).toEqual({
      ok: false,
      problems: ["YAML: Unresolved alias (the anchor must be set before the alias): x"],
    });
  });

  test("a __proto__ key is a problem, not a setting silently dropped", () => {
    expect(parseRepoConfig("profiles:\n  __proto__: { image: evil }\n")).toEqual({
      ok: false,
      problems: ["`profiles.__proto__` is not a setting: keys named __proto__ are refused"],
    });
  });
});
