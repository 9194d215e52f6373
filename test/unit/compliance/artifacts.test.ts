import { chmod, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { describeArtifactProblem, listArtifactRefs } from "../../../src/compliance/artifact-refs.js";
import { ArtifactCorruptError, hashBytes, resolveArtifactsDir } from "../../../src/compliance/artifacts.js";
import { checkArtifact } from "../../../src/compliance/check-artifact.js";
import { createTempArtifactStore } from "../../helpers/compliance-fixtures.js";

const HELLO_SHA256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

describe("FileArtifactStore", () => {
  test("round trip: put returns the sha256 and size, the file sits at ab/cdef…, get returns the bytes", async () => {
    const store = createTempArtifactStore();
    const stored = await store.put(Buffer.from("hello"), "prompt");
    expect(stored).toEqual({ sha256: HELLO_SHA256, size: 5 });
    expect(store.pathOf(HELLO_SHA256)).toBe(join(store.root, "2c", HELLO_SHA256.slice(2)));
    expect((await stat(store.pathOf(HELLO_SHA256))).size).toBe(5);
    expect(await store.has(HELLO_SHA256)).toBe(true);
    expect((await store.get(HELLO_SHA256))?.toString()).toBe("hello");
    expect(await store.get("0".repeat(64))).toBeNull();
    expect(await store.has("0".repeat(64))).toBe(false);
  });

  test("idempotent: the same content twice is one file, not rewritten; no temporary file is left", async () => {
    const store = createTempArtifactStore();
    await store.put(Buffer.from("same"), "log");
    const sha = hashBytes(Buffer.from("same"));
    const before = await stat(store.pathOf(sha));
    await store.put(Buffer.from("same"), "diff");
    const after = await stat(store.pathOf(sha));
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(await readdir(join(store.root, sha.slice(0, 2)))).toEqual([sha.slice(2)]);
  });

  test("refuses to return content whose hash does not match its address", async () => {
    const store = createTempArtifactStore();
    const { sha256 } = await store.put(Buffer.from("original"), "prompt");
    await chmod(store.pathOf(sha256), 0o644);
    await writeFile(store.pathOf(sha256), "tampered");
    await expect(store.get(sha256)).rejects.toThrow(ArtifactCorruptError);
    await expect(store.get(sha256)).rejects.toThrow(
      `artifact ${sha256} does not match its content (its bytes hash to ${hashBytes(Buffer.from("tampered"))})`,
    );
    expect(await checkArtifact(store, sha256)).toBe("corrupt");
    expect(await checkArtifact(store, "1".repeat(64))).toBe("missing");
  });

  test("addresses must be lower-case sha256 hex, so no path can escape the store", async () => {
    const store = createTempArtifactStore();
    await expect(store.get("../../etc/passwd")).rejects.toThrow('"../../etc/passwd" is not a sha256');
    expect(await store.has("ABC")).toBe(false);
  });

  test("ARTIFACTS_DIR, else <DATA_DIR>/artifacts", () => {
    expect(resolveArtifactsDir({ DATA_DIR: "/var/lib/foreman" })).toBe("/var/lib/foreman/artifacts");
    expect(resolveArtifactsDir({ DATA_DIR: "/var/lib/foreman", ARTIFACTS_DIR: "/evidence" })).toBe("/evidence");
  });
});

describe("artifact references in record payloads", () => {
  test("only the top-level `artifacts` array of {sha256, kind} counts; other *Sha256 fields are fingerprints", () => {
    expect(listArtifactRefs({ bodySha256: HELLO_SHA256 })).toEqual({ ok: true, refs: [] });
    expect(listArtifactRefs(null)).toEqual({ ok: true, refs: [] });
    expect(listArtifactRefs([1])).toEqual({ ok: true, refs: [] });
    expect(listArtifactRefs({ artifacts: [{ sha256: HELLO_SHA256, kind: "prompt" }] })).toEqual({
      ok: true,
      refs: [{ sha256: HELLO_SHA256, kind: "prompt" }],
    });
  });

  test("a malformed `artifacts` field is a problem, not silently ignored", () => {
    expect(listArtifactRefs({ artifacts: "x" })).toEqual({
      ok: false,
      problem: "payload.artifacts is not a list of {sha256, kind}",
    });
    expect(listArtifactRefs({ artifacts: [{ sha256: "ABC", kind: "prompt" }] })).toEqual({
      ok: false,
      problem: "payload.artifacts[0] is not {sha256: 64 lower-case hex, kind: text}",
    });
    expect(listArtifactRefs({ artifacts: [null] })).toMatchObject({ ok: false });
  });

  test("problems are described in plain words", () => {
    const ref = { sha256: HELLO_SHA256, kind: "log" };
    expect(describeArtifactProblem(ref, "missing")).toBe(
      `artifact ${HELLO_SHA256} (log) is missing from the artifact store`,
    );
    expect(describeArtifactProblem(ref, "corrupt")).toBe(
      `artifact ${HELLO_SHA256} (log) has been changed: its bytes no longer hash to ${HELLO_SHA256}`,
    );
  });
});
