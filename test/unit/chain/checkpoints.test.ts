import { generateKeyPairSync } from "node:crypto";
import { describe, expect, test } from "vitest";
import {
  buildCheckpointMessage,
  generateCheckpointKeyPair,
  loadCheckpointSigner,
  loadPublicKeys,
  signCheckpoint,
  verifyCheckpointSignature,
} from "../../../src/chain/checkpoints.js";
import { buildCheckpointPublication, isCheckpointDue } from "../../../src/compliance/create-checkpoint.js";

const pair = generateCheckpointKeyPair();
const signer = loadCheckpointSigner(pair.privateKeyPem);
const body = { seq: 42, hash: "a".repeat(64), time: "2026-11-20T12:00:00.000Z" };

describe("checkpoint signatures", () => {
  test("the signature covers the RFC 8785 canonical JSON of {seq, hash, time}", () => {
    expect(buildCheckpointMessage(body).toString()).toBe(
      `{"hash":"${"a".repeat(64)}","seq":42,"time":"2026-11-20T12:00:00.000Z"}`,
    );
  });

  test("a signed checkpoint verifies with the signer's public key", () => {
    const checkpoint = signCheckpoint(body, signer);
    expect(checkpoint).toMatchObject({ ...body, keyId: pair.keyId });
    expect(checkpoint.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(verifyCheckpointSignature(checkpoint, signer.publicKey)).toBe(true);
    expect(verifyCheckpointSignature(checkpoint, loadPublicKeys(pair.publicKeyPem).get(pair.keyId)!)).toBe(true);
  });

  test.each([
    ["seq", { seq: 43 }],
    ["hash", { hash: "b".repeat(64) }],
    ["time", { time: "2026-11-20T12:00:00.001Z" }],
    ["signature", { signature: "not base64 at all" }],
  ])("changing %s after signing breaks the signature", (_field, change) => {
    const checkpoint = { ...signCheckpoint(body, signer), ...change };
    expect(verifyCheckpointSignature(checkpoint, signer.publicKey)).toBe(false);
  });

  test("another key's signature does not verify", () => {
    const other = loadCheckpointSigner(generateCheckpointKeyPair().privateKeyPem);
    expect(other.keyId).not.toBe(signer.keyId);
    expect(verifyCheckpointSignature(signCheckpoint(body, other), signer.publicKey)).toBe(false);
  });
});

describe("loading keys", () => {
  test("PEM with \\n escapes (as pasted into an environment variable) loads", () => {
    expect(loadCheckpointSigner(pair.privateKeyPem.replace(/\n/g, "\\n")).keyId).toBe(pair.keyId);
  });

  test("what is not an Ed25519 private key is refused in plain words", () => {
    expect(() => loadCheckpointSigner("hello")).toThrow(
      "is not a PEM private key; create one with `foreman keys generate`",
    );
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    expect(() => loadCheckpointSigner(rsa)).toThrow("is a rsa key, not Ed25519");
  });

  test("several public keys (after a rotation) load by key id; none, or a non-Ed25519 key, is refused", () => {
    const second = generateCheckpointKeyPair();
    expect([...loadPublicKeys(`${pair.publicKeyPem}\n${second.publicKeyPem}`).keys()]).toEqual([
      pair.keyId,
      second.keyId,
    ]);
    expect(() => loadPublicKeys("nothing here")).toThrow("holds no PEM public key");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .publicKey.export({ type: "spki", format: "pem" })
      .toString();
    expect(() => loadPublicKeys(rsa)).toThrow("holds a rsa key, not Ed25519");
  });
});

describe("when a checkpoint is due", () => {
  const policy = { everyRecords: 100, everyMinutes: 15 };
  const last = { seq: 200, time: "2026-11-20T12:00:00.000Z" };
  test.each([
    ["an empty chain", null, null, "2026-11-20T12:00:00.000Z", undefined, false],
    ["the first checkpoint", { seq: 1 }, null, "2026-11-20T12:00:00.000Z", policy, true],
    ["the head has not moved, however long ago", { seq: 200 }, last, "2026-11-21T12:00:00.000Z", policy, false],
    ["without a policy, any movement", { seq: 201 }, last, "2026-11-20T12:00:01.000Z", undefined, true],
    ["fewer records than the policy, too soon", { seq: 299 }, last, "2026-11-20T12:14:59.999Z", policy, false],
    ["enough records", { seq: 300 }, last, "2026-11-20T12:00:01.000Z", policy, true],
    ["enough time", { seq: 201 }, last, "2026-11-20T12:15:00.000Z", policy, true],
  ])("%s", (_name, head, previous, now, withPolicy, due) => {
    expect(isCheckpointDue(head, previous, new Date(now), withPolicy)).toBe(due);
  });

  test("the publication carries the signed fields and says how to check them", () => {
    const checkpoint = signCheckpoint(body, signer);
    expect(JSON.parse(buildCheckpointPublication(checkpoint))).toEqual({
      type: "foreman.checkpoint",
      ...body,
      keyId: pair.keyId,
      signature: checkpoint.signature,
      algorithm: "Ed25519 over the RFC 8785 canonical JSON of {seq, hash, time}",
    });
  });
});
