import { AsyncLocalStorage } from "node:async_hooks";

/** What a log line names of the work it belongs to: the GitHub delivery that caused it, the task, the agent job. */
export interface Correlation {
  deliveryId?: string | undefined;
  taskId?: string | undefined;
  jobId?: string | undefined;
}

const scope = new AsyncLocalStorage<Correlation>();

/**
 * Run `fn` with these fields on every log line it writes, and everything it awaits or starts
 * (the logger's mixin reads them, see create-logger.ts). Nested scopes add to the outer one.
 */
export function runCorrelated<T>(fields: Correlation, fn: () => T): T {
  return scope.run({ ...scope.getStore(), ...dropUnset(fields) }, fn);
}

/** Add fields to the current scope from here on, such as the task an event turned out to be for. Outside a scope, nothing. */
export function addCorrelation(fields: Correlation): void {
  const store = scope.getStore();
  if (store) Object.assign(store, dropUnset(fields));
}

/** The fields of the current scope (empty outside one). */
export function readCorrelation(): Readonly<Correlation> {
  return scope.getStore() ?? {};
}

function dropUnset(fields: Correlation): Correlation {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== null));
}
