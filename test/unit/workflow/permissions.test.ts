import { describe, expect, test } from "vitest";
import {
  API_ACTOR_ROLE,
  BUILT_IN_ROLES,
  findTrustedActorRole,
  judgeCommentAssociation,
  mayStartTask,
  maySteerTask,
  NO_ROLE,
  OPERATOR_ACTOR_ROLE,
  type RepoRole,
} from "../../../src/workflow/permissions.js";

// What each role GitHub reports may do: start a task with a label (triage and up) and steer one with
// commands, reviews asking for changes and `/foreman retry` (write and up). A custom role is judged by its
// base (legacy) permission, which GitHub reports beside its name.
describe("permissions", () => {
  test.each([
    // role_name, legacy permission, may start, may steer
    ["admin", "admin", true, true],
    ["maintain", "write", true, true],
    ["write", "write", true, true],
    ["triage", "read", true, false],
    ["read", "read", false, false],
    ["none", "none", false, false],
    ["release-manager", "write", true, true],
    ["org-admin-like", "admin", true, true],
    ["auditor", "read", false, false],
  ] as const)("%s (permission %s): start %s, steer %s", (role, permission, start, steer) => {
    const repoRole: RepoRole = { role, permission };
    expect(mayStartTask(repoRole)).toBe(start);
    expect(maySteerTask(repoRole)).toBe(steer);
  });

  test("a built-in role name is believed over its legacy permission: triage never steers", () => {
    // GitHub folds triage into `read` and maintain into `write`; a stray combination still follows the role name.
    expect(maySteerTask({ role: "triage", permission: "write" })).toBe(false);
    expect(mayStartTask({ role: "read", permission: "read" })).toBe(false);
  });

  test("whoever may steer may also start: steering needs more than starting", () => {
    const roles = [...BUILT_IN_ROLES, "custom"].flatMap((role) =>
      ["none", "read", "write", "admin"].map((permission) => ({ role, permission })),
    );
    for (const role of roles) if (maySteerTask(role)) expect(mayStartTask(role)).toBe(true);
    expect(mayStartTask(NO_ROLE)).toBe(false);
  });

  test.each([
    ["OWNER", "trusted"],
    ["MEMBER", "trusted"],
    ["COLLABORATOR", "trusted"],
    ["member", "trusted"],
    ["CONTRIBUTOR", "untrusted"],
    ["FIRST_TIME_CONTRIBUTOR", "untrusted"],
    ["FIRST_TIMER", "untrusted"],
    ["MANNEQUIN", "untrusted"],
    ["NONE", "untrusted"],
    ["SOMETHING_NEW", "untrusted"],
  ] as const)("a comment whose author_association is %s is %s", (association, trust) => {
    expect(judgeCommentAssociation(association)).toBe(trust);
  });
});

describe("findTrustedActorRole: actors Foreman trusts by its own credential", () => {
  test("an API token and an operator have their fixed roles; a GitHub login has none here", () => {
    expect(findTrustedActorRole("api:ops-bot")).toBe(API_ACTOR_ROLE);
    expect(findTrustedActorRole("operator:alice")).toBe(OPERATOR_ACTOR_ROLE);
    expect(findTrustedActorRole("alice")).toBeNull();
    expect(maySteerTask(OPERATOR_ACTOR_ROLE)).toBe(true);
    expect(maySteerTask(API_ACTOR_ROLE)).toBe(true);
  });
});
