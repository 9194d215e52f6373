import type { EventOf, EventType } from "./events.js";
import type { Task } from "./task.js";

// A step's push and someone else's push on top of it can be reported in either order: the other's
// report first, then the step's end. The step's end then follows the pushes seen while it ran.

/** Keeps someone else's push seen while a step runs, by the head it replaced (`followPushesDuringStep` reads them). */
export function notePushDuringStep(task: Task, event: EventOf<typeof EventType.pullRequestSynchronized>): Task {
  if (event.before === undefined) return task;
  const push = { before: event.before, after: event.headSha };
  return {
    ...task,
    pipeline: { ...task.pipeline, pushesDuringStep: [...(task.pipeline.pushesDuringStep ?? []), push] },
  };
}

/**
 * The head after a step that pushed `commitSha`: its commit, or the latest push someone made on top
 * of it while the step ran (reported before the step's end), followed push by push.
 */
export function followPushesDuringStep(task: Task, commitSha: string): string {
  const pushes = task.pipeline.pushesDuringStep ?? [];
  let head = commitSha;
  // At most one hop per push seen: force pushes back and forth cannot loop.
  for (let hop = 0; hop < pushes.length; hop += 1) {
    const next = pushes.findLast((push) => push.before === head);
    if (!next) break;
    head = next.after;
  }
  return head;
}
