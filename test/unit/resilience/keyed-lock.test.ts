import { expect, test } from "vitest";
import { createKeyedLock } from "../../../src/resilience/keyed-lock.js";

/** A promise and its resolve, to decide when a piece of work ends. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => undefined as void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

test("work under one key runs one at a time, in order; other keys do not wait; a failure does not block", async () => {
  const withLock = createKeyedLock();
  const order: string[] = [];
  const first = gate();
  const a1 = withLock("a", async () => {
    order.push("a1 start");
    await first.promise;
    order.push("a1 end");
    throw new Error("a1 failed");
  });
  const a2 = withLock("a", async () => {
    order.push("a2");
    return 2;
  });
  const b = withLock("b", async () => {
    order.push("b");
    return "b";
  });
  expect(await b).toBe("b");
  expect(withLock.isHeld("a")).toBe(true);
  expect(order).toEqual(["a1 start", "b"]);
  first.open();
  await expect(a1).rejects.toThrow("a1 failed");
  expect(await a2).toBe(2);
  expect(order).toEqual(["a1 start", "b", "a1 end", "a2"]);
  expect(withLock.isHeld("a")).toBe(false);
  expect(withLock.isHeld("b")).toBe(false);
});
