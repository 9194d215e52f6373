import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { generateCheckpointKeyPair } from "../../../src/chain/checkpoints.js";
import { EnvError, listSecretValues, parseEnv } from "../../../src/config/env.js";

function problemsOf(source: Record<string, string>): string[] {
  try {
    parseEnv(source);
  } catch (error) {
    if (error instanceof EnvError) return error.problems;
    throw error;
  }
  throw new Error("expected parseEnv to refuse");
}

const keys = generateCheckpointKeyPair();

describe("compliance settings", () => {
  test("defaults: checkpoints every 100 records or 15 minutes; no key, no hook", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ CHECKPOINT_EVERY_RECORDS: 100, CHECKPOINT_EVERY_MINUTES: 15 });
    expect([
      env.CHECKPOINT_SIGNING_KEY,
      env.CHECKPOINT_PUBLIC_KEY,
      env.CHANGE_HOOK_URL,
      env.CHANGE_HOOK_SECRET,
      env.ARTIFACTS_DIR,
    ]).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  test("the signing key, the public key and the hook secret accept NAME_FILE", () => {
    const dir = mkdtempSync(join(tmpdir(), "foreman-env-"));
    writeFileSync(join(dir, "private.pem"), keys.privateKeyPem);
    writeFileSync(join(dir, "public.pem"), keys.publicKeyPem);
    writeFileSync(join(dir, "hook"), "hook-secret\n");
    const env = parseEnv({
      CHECKPOINT_SIGNING_KEY_FILE: join(dir, "private.pem"),
      CHECKPOINT_PUBLIC_KEY_FILE: join(dir, "public.pem"),
      CHANGE_HOOK_SECRET_FILE: join(dir, "hook"),
      CHANGE_HOOK_URL: "https://change.example.com/hooks",
    });
    expect(env.CHECKPOINT_SIGNING_KEY).toBe(keys.privateKeyPem.trim());
    expect(env.CHECKPOINT_PUBLIC_KEY).toBe(keys.publicKeyPem.trim());
    expect(env.CHANGE_HOOK_SECRET).toBe("hook-secret");
    expect(listSecretValues(env)).toEqual(expect.arrayContaining(["hook-secret", keys.privateKeyPem.trim()]));
  });

  test("keys that do not load are refused in plain words, without printing them", () => {
    expect(problemsOf({ CHECKPOINT_SIGNING_KEY: "not a key", CHECKPOINT_PUBLIC_KEY: "nor this" })).toEqual([
      "CHECKPOINT_SIGNING_KEY=(hidden): is not a PEM private key; create one with `foreman keys generate`",
      "CHECKPOINT_PUBLIC_KEY=(hidden): holds no PEM public key (-----BEGIN PUBLIC KEY-----); `foreman keys generate` prints one",
    ]);
  });

  test("a hook URL needs its secret; publishing checkpoints needs a signing key", () => {
    expect(problemsOf({ CHANGE_HOOK_URL: "https://change.example.com/hooks" })).toEqual([
      "CHANGE_HOOK_SECRET: CHANGE_HOOK_URL is set but no secret to sign the hook with; set CHANGE_HOOK_SECRET (or CHANGE_HOOK_SECRET_FILE)",
    ]);
    expect(problemsOf({ CHECKPOINT_PUBLISH_URL: "https://log.example.com/checkpoints" })).toEqual([
      "CHECKPOINT_SIGNING_KEY: CHECKPOINT_PUBLISH_URL is set but checkpoints are not signed; set CHECKPOINT_SIGNING_KEY (see `foreman keys generate`)",
    ]);
    expect(problemsOf({ CHANGE_HOOK_URL: "change.example.com", CHANGE_HOOK_SECRET: "s" })[0]).toContain(
      'CHANGE_HOOK_URL="change.example.com": must be a URL',
    );
  });
});
