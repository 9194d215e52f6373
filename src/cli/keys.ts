import { generateCheckpointKeyPair } from "../chain/checkpoints.js";

const USAGE = "Usage: foreman keys generate";

/** `foreman keys generate`: print a new Ed25519 key pair (PEM) for signing checkpoints. */
export function runKeysCommand(args: readonly string[], out: (text: string) => void): number {
  if (args.length !== 1 || args[0] !== "generate") {
    out(USAGE);
    return 2;
  }
  const pair = generateCheckpointKeyPair();
  out(`# Checkpoint signing key ${pair.keyId}. Keep the private key secret (CHECKPOINT_SIGNING_KEY or CHECKPOINT_SIGNING_KEY_FILE);
# give the public key to auditors (CHECKPOINT_PUBLIC_KEY for \`foreman verify\`).
${pair.privateKeyPem.trim()}
${pair.publicKeyPem.trim()}`);
  return 0;
}
