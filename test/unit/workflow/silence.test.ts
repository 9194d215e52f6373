import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { TriggerFacts } from "../../../src/workflow/authorize.js";
import { EffectKind, isInternalEffect, type Effect } from "../../../src/workflow/effects.js";
import { EventType, type DomainEvent } from "../../../src/workflow/events.js";
import type { Task } from "../../../src/workflow/task.js";
import { transition } from "../../../src/workflow/transition.js";
import { ALL_EVENTS, config, events, facts, now, repo } from "./fixtures.js";

// The invariant of issue #16, over any order of events: a task that was never authorised asks for no
// GitHub write. Until the trigger check has judged its label, whatever happens to the task (an unlabel,
// a close, a freeze, a command, the end of its PR, a failed effect), the only thing it may ask GitHub
// for is the check's own read; a label the check found not to be a trigger ends it for good, silently.
// Seeded by fast-check; a failure prints the seed and the shortest counterexample (replay: FC_SEED=…).

const LABELS = [
  "bug",
  "agent:ready",
  "agent:bugfix",
  "agent:unknown",
  "bot-please",
  "needs-human-review",
  "priority:high",
] as const;
const ROLES = [
  { role: "admin", permission: "admin" },
  { role: "write", permission: "write" },
  { role: "triage", permission: "read" },
  { role: "read", permission: "read" },
  { role: "none", permission: "none" },
  { role: "release-manager", permission: "write" },
];

/** What GitHub-facing effects a task may ask for before it is judged: only the trigger check's read. */
function findWrites(effects: Effect[]): Effect[] {
  return effects.filter((effect) => effect.kind !== EffectKind.authorizeTrigger && !isInternalEffect(effect));
}

/** A step: a fixture event by name, or a trigger check (the config lists the label or not, or is invalid; the role when read). */
type Step =
  | { event: (typeof ALL_EVENTS)[number] }
  | { check: "lists-label" | "omits-label" | "invalid"; role: (typeof ROLES)[number] | null };

const anyStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...ALL_EVENTS).map((event) => ({ event })) },
  {
    weight: 1,
    arbitrary: fc.record({
      check: fc.constantFrom("lists-label" as const, "omits-label" as const, "invalid" as const),
      role: fc.option(fc.constantFrom(...ROLES), { nil: null }),
    }),
  },
);

/** The domain event of a step, aimed at the task as it is. */
function buildEvent(step: Step, task: Task): DomainEvent {
  if ("event" in step) return events[step.event];
  const facts: TriggerFacts =
    step.check === "invalid"
      ? { config: null, problems: ["`maxCiAttempts` must be a number"], configFound: true, senderRole: step.role }
      : {
          config: {
            ...config,
            triggerLabels:
              step.check === "lists-label" ? { [task.triggerLabel]: "feature" } : { "agent:ready": "ready" },
          },
          problems: [],
          configFound: true,
          senderRole: step.role,
        };
  return { type: EventType.triggerChecked, taskId: task.id, ...facts };
}

const scenario = fc.record({
  label: fc.constantFrom(...LABELS),
  knownTriggerLabels: fc.constantFrom<readonly string[] | null>(null, [], ["bot-please"]),
  steps: fc.array(anyStep, { minLength: 1, maxLength: 25 }),
  repoRed: fc.boolean(),
});

describe("a task that was never authorised writes nothing to GitHub", () => {
  test("for any label and any order of events (fast-check)", () => {
    fc.assert(
      fc.property(scenario, ({ label, knownTriggerLabels, steps, repoRed }) => {
        const labelled: DomainEvent = {
          type: EventType.issueLabeled,
          repo,
          issue: { number: 5, title: "Fix the login redirect" },
          sender: "bob",
          label,
        };
        const started = transition(null, labelled, now, { ...facts, knownTriggerLabels });
        if (started.next === null) return; // not even a candidate: nothing exists to write
        expect(findWrites(started.effects)).toEqual([]);
        let task = started.next;
        for (const [index, step] of steps.entries()) {
          const event = buildEvent(step, task);
          const { next, effects } = transition(task, event, now, {
            ...facts,
            newJobId: `job-${index}`,
            repoRed,
            previousTriggerLabel: "agent:bugfix",
          });
          if (next === null) throw new Error("a task vanished");
          const neverAuthorised = next.triggerVerdict === "pending" || next.triggerVerdict === "not_a_trigger";
          if (neverAuthorised)
            expect(findWrites(effects), `${event.type} on a ${task.triggerVerdict} task in ${task.state}`).toEqual([]);
          task = next;
        }
      }),
      { seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined, numRuns: 2000 },
    );
  });

  test("the generator does reach the judged verdicts, frozen candidates and ended ones", () => {
    const verdicts = new Set<string>();
    const frozenCandidates = { count: 0 };
    fc.assert(
      fc.property(scenario, ({ label, knownTriggerLabels, steps }) => {
        let task = transition(
          null,
          { type: EventType.issueLabeled, repo, issue: { number: 5, title: "t" }, sender: "bob", label },
          now,
          { ...facts, knownTriggerLabels },
        ).next;
        for (const step of steps) {
          if (task === null) return;
          task = transition(task, buildEvent(step, task), now, facts).next;
          if (task === null) return;
          verdicts.add(
            `${task.triggerVerdict}:${task.state === "queued" || task.state === "frozen" ? task.state : "other"}`,
          );
          if (task.state === "frozen" && task.triggerVerdict === "pending") frozenCandidates.count += 1;
        }
      }),
      { seed: 20261202, numRuns: 500 },
    );
    expect([...verdicts].sort()).toEqual(
      expect.arrayContaining([
        "authorized:other",
        "not_a_trigger:other",
        "pending:frozen",
        "pending:other",
        "pending:queued",
        "refused:other",
      ]),
    );
    expect(frozenCandidates.count).toBeGreaterThan(0);
  });
});
