import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from "node:crypto";
import { canonicalJson } from "./chain.js";

/** What a checkpoint states: the chain had `seq` records ending in `hash` at `time` (ISO 8601 UTC). */
export interface CheckpointBody {
  seq: number;
  hash: string;
  time: string;
}

/** A checkpoint with its Ed25519 signature (base64) and the id of the key that made it. */
export interface SignedCheckpoint extends CheckpointBody {
  signature: string;
  keyId: string;
}

/** The private key that signs checkpoints and its key id. */
export interface CheckpointSigner {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
}

/** A new Ed25519 key pair as PEM text (PKCS#8 private, SPKI public) with its key id. */
export interface GeneratedKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
  keyId: string;
}

/** The exact bytes a checkpoint's signature covers: RFC 8785 canonical JSON of `{seq, hash, time}`. */
export function buildCheckpointMessage(body: CheckpointBody): Buffer {
  return Buffer.from(canonicalJson({ seq: body.seq, hash: body.hash, time: body.time }), "utf8");
}

/** A key's id: the first 16 hex characters of the sha256 of its public key (SPKI DER). */
export function computeKeyId(publicKey: KeyObject): string {
  return createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex")
    .slice(0, 16);
}

/** Sign `{seq, hash, time}` with an Ed25519 private key. */
export function signCheckpoint(body: CheckpointBody, signer: CheckpointSigner): SignedCheckpoint {
  const signature = sign(null, buildCheckpointMessage(body), signer.privateKey).toString("base64");
  return { seq: body.seq, hash: body.hash, time: body.time, signature, keyId: signer.keyId };
}

/** Whether a checkpoint's signature was made by this public key over exactly its `{seq, hash, time}`. */
export function verifyCheckpointSignature(checkpoint: SignedCheckpoint, publicKey: KeyObject): boolean {
  try {
    return verify(null, buildCheckpointMessage(checkpoint), publicKey, Buffer.from(checkpoint.signature, "base64"));
  } catch {
    return false;
  }
}

/** Accept PEM pasted into an environment variable with `\n` escapes instead of line breaks. */
function unescapePem(text: string): string {
  return text.includes("\\n") ? text.replace(/\\n/g, "\n") : text;
}

/** Load the checkpoint signer from a PEM Ed25519 private key; throws a plain-words error otherwise. */
export function loadCheckpointSigner(pem: string): CheckpointSigner {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(unescapePem(pem));
  } catch {
    throw new Error("is not a PEM private key; create one with `foreman keys generate`");
  }
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw new Error(
      `is a ${privateKey.asymmetricKeyType ?? "unknown"} key, not Ed25519; create one with \`foreman keys generate\``,
    );
  }
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: computeKeyId(publicKey) };
}

/** Load one or more PEM Ed25519 public keys (several after a key rotation), by key id. */
export function loadPublicKeys(pem: string): Map<string, KeyObject> {
  const blocks = unescapePem(pem).match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0)
    throw new Error("holds no PEM public key (-----BEGIN PUBLIC KEY-----); `foreman keys generate` prints one");
  const keys = new Map<string, KeyObject>();
  for (const block of blocks) {
    const key = createPublicKey(block);
    if (key.asymmetricKeyType !== "ed25519")
      throw new Error(`holds a ${key.asymmetricKeyType ?? "unknown"} key, not Ed25519`);
    keys.set(computeKeyId(key), key);
  }
  return keys;
}

/** A fresh Ed25519 key pair for signing checkpoints. */
export function generateCheckpointKeyPair(): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    keyId: computeKeyId(publicKey),
  };
}

/** The keys that check checkpoints: CHECKPOINT_PUBLIC_KEY, else the signing key's public half, else none. */
export function resolveVerifyingKeys(env: {
  CHECKPOINT_PUBLIC_KEY?: string | undefined;
  CHECKPOINT_SIGNING_KEY?: string | undefined;
}): Map<string, KeyObject> | null {
  if (env.CHECKPOINT_PUBLIC_KEY) return loadPublicKeys(env.CHECKPOINT_PUBLIC_KEY);
  if (env.CHECKPOINT_SIGNING_KEY) {
    const signer = loadCheckpointSigner(env.CHECKPOINT_SIGNING_KEY);
    return new Map([[signer.keyId, signer.publicKey]]);
  }
  return null;
}
