import fc from "fast-check";

// Every fuzz file runs with one seed: FUZZ_SEED when set, else this constant, so a run is
// repeatable and CI explores the same cases each time. To explore others, or to replay a failure,
// set FUZZ_SEED (and FUZZ_PATH to the failing path fast-check printed):
//   FUZZ_SEED=123 FUZZ_PATH="4:1:0" npx vitest run test/fuzz/webhook-adapters.test.ts
const DEFAULT_SEED = 20_240_512;

/** The seed the fuzz tests run with: `FUZZ_SEED`, or a constant. */
export const FUZZ_SEED = readSeed(process.env.FUZZ_SEED);

/** Check a property with the fuzz seed and `numRuns` cases; a failure names the seed, the path and how to replay it. */
export function checkProperty<Ts extends [unknown, ...unknown[]]>(property: fc.IProperty<Ts>, numRuns: number): void {
  try {
    fc.assert(property, buildParameters<Ts>(numRuns));
  } catch (error) {
    throw explainFailure(error);
  }
}

/** checkProperty for an async property. */
export async function checkAsyncProperty<Ts extends [unknown, ...unknown[]]>(
  property: fc.IAsyncProperty<Ts>,
  numRuns: number,
): Promise<void> {
  try {
    await fc.assert(property, buildParameters<Ts>(numRuns));
  } catch (error) {
    throw explainFailure(error);
  }
}

function buildParameters<Ts>(numRuns: number): fc.Parameters<Ts> {
  const path = process.env.FUZZ_PATH;
  return { seed: FUZZ_SEED, numRuns, ...(path ? { path, endOnFailure: true } : {}) };
}

function explainFailure(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(
    `FUZZ_SEED=${FUZZ_SEED}: replay with FUZZ_SEED=${FUZZ_SEED} FUZZ_PATH="<path below>" npx vitest run <this file>\n${message}`,
    { cause: error },
  );
}

function readSeed(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_SEED;
  const seed = Number(value);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(value)}`);
  return seed;
}

/** A JSON path inside a value: keys and indexes from the root. */
export type JsonPath = Array<string | number>;

/** Every path to a value inside `root` (the root itself excluded), parents before children. */
export function listJsonPaths(root: unknown): JsonPath[] {
  const paths: JsonPath[] = [];
  const visit = (value: unknown, path: JsonPath): void => {
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        paths.push([...path, index]);
        visit(item, [...path, index]);
      });
    } else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) {
        paths.push([...path, key]);
        visit(item, [...path, key]);
      }
    }
  };
  visit(root, []);
  return paths;
}

/** One change to a JSON document: drop the value at a path, or put another value there. */
export type JsonMutation = { pick: number; kind: "drop" } | { pick: number; kind: "set"; value: unknown };

/** Mutations of real documents: values that break types (null, "", 0, [], {}) and arbitrary JSON. */
export const jsonMutations: fc.Arbitrary<JsonMutation[]> = fc.array(
  fc.oneof(
    fc.record({ pick: fc.nat(), kind: fc.constant("drop" as const) }),
    fc.record({
      pick: fc.nat(),
      kind: fc.constant("set" as const),
      value: fc.oneof(
        fc.constantFrom(null, "", 0, -1, 1.5, true, [], {}, "__proto__", "constructor"),
        fc.jsonValue({ maxDepth: 3 }),
      ),
    }),
  ),
  { minLength: 1, maxLength: 4 },
);

/** Apply mutations to a deep copy of a document; each picks among the paths the document has then. */
export function applyJsonMutations<T>(document: T, mutations: readonly JsonMutation[]): T {
  const copy = structuredClone(document);
  for (const mutation of mutations) {
    const paths = listJsonPaths(copy);
    if (paths.length === 0) break;
    const path = paths[mutation.pick % paths.length]!;
    const parent = path.slice(0, -1).reduce<any>((value, key) => value[key], copy);
    const key = path[path.length - 1]!;
    if (mutation.kind === "set") parent[key] = structuredClone(mutation.value);
    else if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  }
  return copy;
}
