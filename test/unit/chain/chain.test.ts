import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  canonicalJson,
  computeRecordHash,
  GENESIS_HASH,
  verifyChain,
  type ChainRecord,
} from "../../../src/chain/chain.js";

const body = fc.record({
  taskId: fc.option(fc.uuid(), { nil: null }),
  kind: fc.constantFrom("task.transition", "effect.open_draft_pr", "effect.ensure_branch"),
  actor: fc.string({ minLength: 1, maxLength: 20 }),
  payload: fc.jsonValue({ maxDepth: 3 }),
  createdAt: fc
    .date({ min: new Date("2020-01-01"), max: new Date("2030-01-01"), noInvalidDate: true })
    .map((date) => date.toISOString()),
});

function buildChain(bodies: Array<Omit<ChainRecord, "seq" | "prevHash" | "hash">>): ChainRecord[] {
  let prevHash = GENESIS_HASH;
  return bodies.map((entry, index) => {
    const record = { ...entry, seq: index + 1 };
    const hash = computeRecordHash(prevHash, record);
    const chained = { ...record, prevHash, hash };
    prevHash = hash;
    return chained;
  });
}

describe("hash chain", () => {
  test("canonical JSON follows RFC 8785: sorted keys, no whitespace, ES number forms", () => {
    expect(canonicalJson({ b: 1, a: [true, null, "x"], c: { z: 1e21, y: 0.1 } })).toBe(
      '{"a":[true,null,"x"],"b":1,"c":{"y":0.1,"z":1e+21}}',
    );
  });

  test("any sequence of appends verifies", () => {
    fc.assert(
      fc.property(fc.array(body, { maxLength: 30 }), (bodies) => {
        const chain = buildChain(bodies);
        expect(verifyChain(chain)).toEqual({
          ok: true,
          count: chain.length,
          headHash: chain.at(-1)?.hash ?? GENESIS_HASH,
        });
      }),
    );
  });

  test("changing any field of any record is detected at that record", () => {
    fc.assert(
      fc.property(
        fc.array(body, { minLength: 1, maxLength: 20 }),
        fc.nat(),
        fc.constantFrom("kind", "actor", "payload", "createdAt", "taskId"),
        (bodies, at, field) => {
          const chain = buildChain(bodies);
          const index = at % chain.length;
          const tampered = chain.map((record) => ({ ...record }));
          const target = tampered[index]!;
          (target as unknown as Record<string, unknown>)[field] =
            field === "payload"
              ? { tampered: target.payload }
              : field === "taskId"
                ? "00000000-0000-4000-8000-00000000dead"
                : `${String(target[field])}x`;
          expect(verifyChain(tampered)).toMatchObject({ ok: false, seq: index + 1 });
        },
      ),
    );
  });

  test("deleting or reordering records is detected and the first bad seq is named", () => {
    fc.assert(
      fc.property(fc.array(body, { minLength: 3, maxLength: 20 }), fc.nat(), (bodies, at) => {
        const chain = buildChain(bodies);
        const index = at % (chain.length - 1);
        const deleted = chain.filter((_, position) => position !== index);
        expect(verifyChain(deleted)).toMatchObject({ ok: false, seq: chain[index + 1]!.seq });
        const swapped = [...chain];
        [swapped[index], swapped[index + 1]] = [swapped[index + 1]!, swapped[index]!];
        expect(verifyChain(swapped)).toMatchObject({ ok: false, seq: chain[index + 1]!.seq });
      }),
    );
  });

  test("a record re-hashed after tampering still breaks the next link", () => {
    const chain = buildChain([
      { taskId: null, kind: "a", actor: "x", payload: 1, createdAt: "2026-01-01T00:00:00.000Z" },
      { taskId: null, kind: "b", actor: "x", payload: 2, createdAt: "2026-01-01T00:00:00.000Z" },
    ]);
    const forged = { ...chain[0]!, payload: 99 };
    forged.hash = computeRecordHash(GENESIS_HASH, forged);
    expect(verifyChain([forged, chain[1]!])).toEqual({
      ok: false,
      seq: 2,
      problem: expect.stringContaining("prev_hash"),
    });
  });
});
