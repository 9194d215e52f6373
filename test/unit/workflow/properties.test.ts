import { describe, expect, test } from "vitest";
import { ALLOWED_AFTER_END, isInternalEffect, type Effect } from "../../../src/workflow/effects.js";
import type { DomainEvent, JobReport } from "../../../src/workflow/events.js";
import { isTerminalState, type TaskState } from "../../../src/workflow/states.js";
import type { Task, TaskConfig } from "../../../src/workflow/task.js";
import { transition } from "../../../src/workflow/transition.js";
import { ALL_EVENTS, config, events, facts, makeTask, now } from "./fixtures.js";

// Properties that hold for ANY sequence of the fixture events, from any working state. The sequences are
// generated with plain loops: every pair of events exhaustively, and longer ones from a seeded generator that
// aims events at the task as it is (its current job, its head), so the deep paths are reached.

const WORKING: readonly TaskState[] = [
  "queued",
  "waiting",
  "preparing",
  "awaiting_agent",
  "running",
  "awaiting_ci",
  "ready_for_review",
  "escalated",
];
const CONFIGS: readonly TaskConfig[] = [
  config,
  { ...config, maxCiAttempts: 1, maxReviewRevisions: 0, reviewers: { users: ["carol"], teams: [] } },
  { ...config, ci: { ...config.ci, whenMissing: "ready" } },
  { ...config, mode: "shadow" },
];

/** One step of a sequence, as checked. */
interface Step {
  before: Task;
  event: DomainEvent;
  next: Task;
  effects: Effect[];
}

/** A deterministic pseudo-random source (mulberry32), so a failure can be replayed. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

const REPORTS: JobReport[] = [
  { status: "success", body: null, review: null },
  { status: "success", body: "The plan.", review: null },
  {
    status: "needs_changes",
    body: "Fix this.",
    review: { body: "Fix this.", comments: [{ path: "a.ts", line: 1, body: "here" }] },
  },
];

/** Aim a fixture event at the task as it is now, most of the time: its current job, its head, the SHA it waits on. */
function aim(random: () => number, event: DomainEvent, task: Task, n: number): DomainEvent {
  const aimed = random() < 0.8;
  switch (event.type) {
    case "job_started":
      return aimed && task.jobId ? { ...event, jobId: task.jobId } : event;
    case "job_finished":
      return {
        ...event,
        jobId: aimed && task.jobId ? task.jobId : event.jobId,
        commitSha: random() < 0.7 ? `sha-${n}` : null,
        report: pick(random, REPORTS),
      };
    case "job_failed":
      return {
        ...event,
        jobId: aimed && task.jobId ? task.jobId : event.jobId,
        code: pick(random, ["AGENT_STOPPED", "AGENT_EXIT_NONZERO", "GUARDRAIL_REJECTED", "INFRA_DOCKER_UNAVAILABLE"]),
      };
    case "check_suite_completed":
      return aimed && event.app === "github-actions"
        ? { ...event, headSha: task.headSha ?? event.headSha, conclusion: pick(random, ["success", "failure"]) }
        : event;
    case "ci_result_collected":
      return aimed ? { ...event, sha: task.headSha ?? event.sha } : event;
    case "ci_wait_expired":
      return aimed ? { ...event, sha: task.pipeline.waitingCiSha ?? event.sha } : event;
    case "pull_request_synchronized":
      return event.headSha === events.botPush.headSha ? event : { ...event, headSha: `push-${n}` };
    case "draft_pr_opened":
      // The PR is opened only after ensure_branch reported the branch (the two effects run in order).
      return task.headSha === null && task.baseSha === null ? events.branchReady : event;
    default:
      return event;
  }
}

/** Run a sequence from `start`; every job id handed out is new. */
function runSequence(start: Task, sequence: DomainEvent[], label: string, repoRed = false): Step[] {
  const steps: Step[] = [];
  let task = start;
  sequence.forEach((event, index) => {
    const result = transition(task, event, now, {
      ...facts,
      newJobId: `${label}:job-${index}`,
      repoRed,
      previousTriggerLabel: "agent:bugfix",
    });
    if (result.next === null) throw new Error(`${label}: the task vanished at step ${index} (${event.type})`);
    steps.push({ before: task, event, next: result.next, effects: result.effects });
    task = result.next;
  });
  return steps;
}

/** Every pair of fixture events from every working state, under every config. */
function* generatePairs(): Generator<{ label: string; steps: Step[] }> {
  for (const [c, settings] of CONFIGS.entries()) {
    for (const state of WORKING) {
      const start = makeTask(state, state === "queued" ? {} : { config: settings });
      for (const first of ALL_EVENTS) {
        for (const second of ALL_EVENTS) {
          const label = `config ${c}, ${state}: ${first} → ${second}`;
          yield { label, steps: runSequence(start, [events[first], events[second]], label) };
        }
      }
    }
  }
}

/** Longer sequences from a seeded generator. */
function* generateRandom(count: number, length: number, seed: number): Generator<{ label: string; steps: Step[] }> {
  const random = createRandom(seed);
  for (let s = 0; s < count; s += 1) {
    const state = pick(random, WORKING);
    const settings = pick(random, CONFIGS);
    let task = makeTask(state, state === "queued" ? {} : { config: settings });
    const label = `seed ${seed} sequence ${s} from ${state}`;
    const steps: Step[] = [];
    const names: string[] = [];
    for (let n = 0; n < length; n += 1) {
      const name = pick(random, ALL_EVENTS);
      names.push(name);
      const [step] = runSequence(
        task,
        [aim(random, events[name], task, s * 1000 + n)],
        `${label}#${n}`,
        random() < 0.2,
      );
      steps.push(step!);
      task = step!.next;
    }
    yield { label: `${label}: ${names.join(" → ")}`, steps };
  }
}

function* generateAll(): Generator<{ label: string; steps: Step[] }> {
  yield* generatePairs();
  yield* generateRandom(3000, 25, 20261120);
}

/** Check a property over every generated sequence; collect the first few counterexamples. */
function findViolations(check: (steps: Step[]) => string | null): string[] {
  const found: string[] = [];
  for (const { label, steps } of generateAll()) {
    const problem = check(steps);
    if (problem !== null) found.push(`${label}: ${problem}`);
    if (found.length >= 5) break;
  }
  return found;
}

describe("properties over any sequence of events", () => {
  test("the generator reaches every state, and every effect kind but the ones only a new task asks for", () => {
    const states = new Set<string>();
    const kinds = new Set<string>();
    const frozenFrom = new Set<string>();
    for (const { steps } of generateRandom(3000, 25, 20261120)) {
      for (const step of steps) {
        states.add(step.next.state);
        if (step.before.state === "frozen" && step.next !== step.before)
          frozenFrom.add(`${step.before.resumeState} + ${step.event.type}`);
        for (const effect of step.effects) kinds.add(effect.kind);
      }
    }
    expect([...states].sort()).toEqual(
      [
        "awaiting_agent",
        "awaiting_ci",
        "cancelled",
        "closed",
        "completed",
        "escalated",
        "failed",
        "frozen",
        "merged",
        "preparing",
        "queued",
        "ready_for_review",
        "running",
        "waiting",
      ].sort(),
    );
    for (const kind of [
      "dispatch_agent_job",
      "cancel_agent_job",
      "post_review",
      "post_pr_comment",
      "mark_ready_for_review",
      "request_reviewers",
      "collect_ci_result",
      "schedule_ci_wait",
      "answer_command",
      "authorize_actor",
      "record_merge",
      "add_labels",
    ]) {
      expect(kinds).toContain(kind);
    }
    // Frozen tasks see many kinds of events in many resume states.
    expect(frozenFrom.size).toBeGreaterThan(50);
  });

  test("a job is cancelled at most once", () => {
    const violations = findViolations((steps) => {
      const cancels = new Map<string, number>();
      for (const step of steps) {
        for (const effect of step.effects) {
          if (effect.kind !== "cancel_agent_job") continue;
          const count = (cancels.get(effect.jobId) ?? 0) + 1;
          if (count > 1) return `${effect.jobId} cancelled twice (at ${step.event.type})`;
          cancels.set(effect.jobId, count);
        }
      }
      return null;
    });
    expect(violations).toEqual([]);
  });

  test("a terminal state never changes again, and asks only for what answers a command about it", () => {
    const violations = findViolations((steps) => {
      for (const step of steps) {
        const answersOnly = step.effects.every(
          (effect) => effect.kind === "authorize_actor" || effect.kind === "answer_command",
        );
        if (isTerminalState(step.before.state) && (step.next !== step.before || !answersOnly)) {
          return `${step.before.state} changed on ${step.event.type}`;
        }
      }
      return null;
    });
    expect(violations).toEqual([]);
  });

  test("a frozen task runs nothing but ALLOWED_WHILE_FROZEN and internal effects: the rest wait for the resume, or are allowed after the end", () => {
    // A frozen task's writes are queued and held by the effect claim until the resume (not dropped), so what must hold
    // here is: the freeze itself only asks for the comment; while it stays frozen, nothing is asked that the claim would
    // run at once but the allowed kinds (and the check run is not even asked for); ending it asks only for what may run
    // after the end; and only the freeze label's removal, where it was put, resumes it.
    const violations = findViolations((steps) => {
      for (const step of steps) {
        const kinds = step.effects.map((effect) => effect.kind);
        if (step.before.state !== "frozen") {
          if (
            step.next.state === "frozen" &&
            step.effects.some((effect) => effect.kind !== "upsert_status_comment" && effect.kind !== "cancel_agent_job")
          ) {
            return `freezing on ${step.event.type} asked for ${kinds.join(", ")}`;
          }
          continue;
        }
        if (step.next.state === "frozen") {
          if (kinds.includes("upsert_check_run")) return `a frozen task redrew its check run on ${step.event.type}`;
          if (step.next.resumeState === null || step.next.resumeState === "frozen")
            return `lost its resume state on ${step.event.type}`;
        } else if (isTerminalState(step.next.state)) {
          const late = step.effects.filter(
            (effect) => !isInternalEffect(effect) && !ALLOWED_AFTER_END.includes(effect.kind),
          );
          if (late.length > 0)
            return `ending a frozen task on ${step.event.type} asked for ${late.map((effect) => effect.kind).join(", ")}, which never run after the end`;
          // A candidate frozen before its label was judged wrote no frozen comment, so there is none to replace.
          if (step.before.triggerVerdict !== "pending" && !kinds.includes("upsert_status_comment"))
            return `ending a frozen task on ${step.event.type} left the frozen comment`;
        } else {
          const where = step.before.frozenOn === "pull_request" ? "pull_request_unlabeled" : "issue_unlabeled";
          if (step.event.type !== where) return `${step.event.type} resumed a frozen task`;
          if (step.next.state !== step.before.resumeState)
            return `resumed in ${step.next.state}, not ${step.before.resumeState}`;
        }
      }
      return null;
    });
    expect(violations).toEqual([]);
  });

  test("no effect anywhere approves a PR (or requests changes as the bot)", () => {
    const violations = findViolations((steps) => {
      for (const step of steps) {
        for (const effect of step.effects) {
          if (/approve/i.test(effect.kind)) return `an effect kind ${effect.kind}`;
          const event = (effect as { event?: unknown }).event;
          if (event !== undefined && event !== "COMMENT") return `a ${effect.kind} with event ${String(event)}`;
        }
      }
      return null;
    });
    expect(violations).toEqual([]);
  });

  test("every dispatched job has a new id and a base to start from", () => {
    const violations = findViolations((steps) => {
      const seen = new Set<string>();
      for (const step of steps) {
        for (const effect of step.effects) {
          if (effect.kind !== "dispatch_agent_job") continue;
          if (seen.has(effect.jobId)) return `${effect.jobId} dispatched twice`;
          if (!effect.baseSha) return `${effect.jobId} without a base`;
          if (step.next.jobId !== effect.jobId) return `the task does not name its new job ${effect.jobId}`;
          seen.add(effect.jobId);
        }
      }
      return null;
    });
    expect(violations).toEqual([]);
  });
});
