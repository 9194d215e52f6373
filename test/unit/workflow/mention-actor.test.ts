import { describe, expect, test } from "vitest";
import { mentionActor, nameCommand } from "../../../src/workflow/mention-actor.js";
import { transition } from "../../../src/workflow/transition.js";
import { events, facts, makeTask, now } from "./fixtures.js";

// `foreman tasks stop|retry` names its operator `operator:<name>`: no GitHub account, so what
// Foreman writes names them without an @-mention (which would ping whoever owns that login).
const byOperator = { login: "operator:alice", role: { role: "admin", permission: "admin" } };

describe("an operator's command, as the workflow writes about it", () => {
  test("a GitHub login is mentioned; an operator is named without a mention", () => {
    expect(mentionActor("dave")).toBe("@dave");
    expect(mentionActor("operator:alice")).toBe("operator alice");
    expect(nameCommand("dave", "stop")).toBe("`/foreman stop`");
    expect(nameCommand("operator:alice", "stop")).toBe("`foreman tasks stop`");
  });

  test("stop: the task is cancelled and its reason names the operator, no mention", () => {
    const { next } = transition(makeTask("running"), { ...events.allowedStop, ...byOperator }, now, facts);
    expect(next).toMatchObject({
      state: "cancelled",
      reason: {
        code: "STOPPED_BY_COMMAND",
        message: "operator alice stopped Foreman with `foreman tasks stop`. The branch and any PR are left for you.",
      },
    });
  });

  test("retry while awaiting CI: the note names the operator, no mention", () => {
    const task = makeTask("awaiting_ci", {
      pipeline: { ...makeTask("awaiting_ci").pipeline, ci: { sha: "head-1", conclusion: "failure", suiteId: 301 } },
    });
    const { effects } = transition(task, { ...events.allowedRetry, ...byOperator }, now, facts);
    expect(effects[0]).toMatchObject({
      kind: "answer_command",
      login: "operator:alice",
      text: "operator alice asked to retry: Foreman reads CI on head-1 again.",
    });
  });
});
