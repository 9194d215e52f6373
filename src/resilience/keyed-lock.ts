/**
 * In-process mutual exclusion by key: `withLock(key, work)` runs `work` after every earlier call
 * with the same key has settled (resolved or rejected), and returns its result. Keys with no work
 * waiting are forgotten. Only within this process: across processes and hosts, use the database.
 */
export interface KeyedLock {
  <T>(key: string, work: () => Promise<T>): Promise<T>;
  /** Whether work under `key` is running or waiting. */
  isHeld(key: string): boolean;
}

export function createKeyedLock(): KeyedLock {
  const locks = new Map<string, Promise<unknown>>();
  const withLock = async <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const previous = locks.get(key) ?? Promise.resolve();
    const mine = previous.then(work, work);
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    locks.set(key, settled);
    try {
      return await mine;
    } finally {
      if (locks.get(key) === settled) locks.delete(key);
    }
  };
  return Object.assign(withLock, { isHeld: (key: string) => locks.has(key) });
}
