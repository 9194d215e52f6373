import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { isTriggerLabel, judgeTrigger, type TriggerFacts } from "../../../src/workflow/authorize.js";
import { mayStartTask } from "../../../src/workflow/permissions.js";
import { config } from "./fixtures.js";

// The trigger check's decision, moved out of the authorize_trigger executor: the executor reads the
// config and (only for a label that may be a trigger) the sender's role; judgeTrigger decides.

const facts = (overrides: Partial<TriggerFacts>): TriggerFacts => ({
  config: { ...config, triggerLabels: { "agent:ready": "ready", "bot-please": "feature" } },
  problems: [],
  configFound: true,
  senderRole: { role: "write", permission: "write" },
  ...overrides,
});

describe("judgeTrigger", () => {
  test("a listed label from a triager is authorised, with the config's task type", () => {
    expect(
      judgeTrigger("bot-please", "bob", facts({ senderRole: { role: "triage", permission: "read" } }), "main"),
    ).toMatchObject({
      kind: "authorized",
      type: "feature",
    });
  });

  test("a label the config does not list is not a trigger: ended without a word, whoever sent it", () => {
    expect(judgeTrigger("bug", "bob", facts({ senderRole: null }), "main")).toEqual({
      kind: "not_a_trigger",
      reason: { code: "NOT_A_TRIGGER", message: "`bug` is not a trigger label in this repository." },
    });
  });

  test("a reader is refused by name and role; an invalid config is reported to an allowed sender", () => {
    expect(
      judgeTrigger("agent:ready", "eve", facts({ senderRole: { role: "read", permission: "read" } }), "main"),
    ).toMatchObject({
      kind: "refused",
      reason: {
        code: "SENDER_NOT_ALLOWED",
        message: expect.stringContaining("@eve added `agent:ready`, but their role on this repository is `read`"),
      },
    });
    expect(judgeTrigger("agent:ready", "bob", facts({ config: null, problems: ["`ci` bad"] }), "main")).toMatchObject({
      kind: "refused",
      reason: {
        code: "CONFIG_INVALID",
        message: "`.github/foreman.yml` on `main` is invalid, so nothing else happened:\n> - `ci` bad",
      },
    });
  });

  test("with an invalid config only Foreman's own labels are worth the sender's role", () => {
    expect(isTriggerLabel("agent:anything", { config: null })).toBe(true);
    expect(isTriggerLabel("bug", { config: null })).toBe(false);
    expect(judgeTrigger("bug", "bob", facts({ config: null, problems: ["x"] }), "main").kind).toBe("not_a_trigger");
  });

  test("property: authorised only for a label the valid config lists, from a sender who may start a task", () => {
    const roles = fc.constantFrom(
      { role: "admin", permission: "admin" },
      { role: "triage", permission: "read" },
      { role: "read", permission: "read" },
      { role: "none", permission: "none" },
      { role: "custom", permission: "write" },
    );
    fc.assert(
      fc.property(
        fc.constantFrom("agent:ready", "bot-please", "bug", "agent:other"),
        fc.option(roles, { nil: null }),
        fc.boolean(),
        (label, senderRole, valid) => {
          const verdict = judgeTrigger(
            label,
            "x",
            facts({ senderRole, config: valid ? facts({}).config : null, problems: valid ? [] : ["p"] }),
            "main",
          );
          if (verdict.kind === "authorized") {
            expect(valid && ["agent:ready", "bot-please"].includes(label)).toBe(true);
            expect(senderRole !== null && mayStartTask(senderRole)).toBe(true);
          }
          // Speaking (a refusal) only about a label that is a trigger here, or Foreman's own with an invalid config.
          if (verdict.kind === "refused")
            expect(isTriggerLabel(label, { config: valid ? facts({}).config : null })).toBe(true);
        },
      ),
    );
  });
});
