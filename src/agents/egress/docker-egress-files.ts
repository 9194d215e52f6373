/**
 * The egress firewall's host directory, which the proxy mounts read-only: squid's configuration,
 * the policy helper, and one policy file per job network address. Files are replaced atomically
 * (a temporary file renamed over), world-readable for the proxy's own user and never writable by it.
 */
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { EgressDirs } from "./docker-egress-context.js";
import { buildPolicyFileName, readPolicyJobId, renderPolicyHelper, renderSquidConfig } from "./squid-config.js";

/** A policy file found in the directory: its name, the job it names, and its text. */
export interface StoredPolicy {
  readonly file: string;
  readonly jobId: string | null;
  readonly text: string;
}

/** Writes squid's configuration and the policy helper (when they changed) and returns their text. */
export async function writeConfiguration(
  dirs: EgressDirs,
  internalAllow: readonly string[],
): Promise<{ config: string; helper: string }> {
  const config = renderSquidConfig({ internalAllow });
  const helper = renderPolicyHelper();
  await mkdir(dirs.policyDir, { recursive: true });
  // The proxy reads these as its own user: world-readable, never writable by it.
  await chmod(dirs.hostDir, 0o755);
  await chmod(dirs.policyDir, 0o755);
  await writeIfChanged(join(dirs.hostDir, "squid.conf"), config);
  await writeIfChanged(join(dirs.hostDir, "policy-helper.sh"), helper);
  return { config, helper };
}

/** Writes the policy of the job network where the proxy has `proxyAddress`. */
export async function writePolicy(dirs: EgressDirs, proxyAddress: string, text: string): Promise<void> {
  await replaceFile(join(dirs.policyDir, buildPolicyFileName(proxyAddress)), text);
}

/** Removes the policy at an address only if it is this job's: the address may be another job's by now. */
export async function removePolicy(dirs: EgressDirs, proxyAddress: string, jobId: string): Promise<void> {
  const path = join(dirs.policyDir, buildPolicyFileName(proxyAddress));
  const text = await readFile(path, "utf8").catch(() => null);
  if (text !== null && readPolicyJobId(text) === jobId) await rm(path, { force: true });
}

/** Removes a policy file by name, whoever's it is (a network that is gone). */
export async function removePolicyFile(dirs: EgressDirs, file: string): Promise<void> {
  await rm(join(dirs.policyDir, file), { force: true });
}

/** Every policy file in the directory (none when it does not exist yet). */
export async function readPolicies(dirs: EgressDirs): Promise<StoredPolicy[]> {
  const files = await readdir(dirs.policyDir).catch(() => [] as string[]);
  const policies = [];
  for (const file of files.filter((name) => name.endsWith(".policy"))) {
    const text = await readFile(join(dirs.policyDir, file), "utf8").catch(() => "");
    policies.push({ file, jobId: readPolicyJobId(text), text });
  }
  return policies;
}

// Rewrites a file only when its text differs, so the proxy's configuration hash stays put.
async function writeIfChanged(path: string, text: string): Promise<void> {
  const current = await readFile(path, "utf8").catch(() => null);
  if (current !== text) await replaceFile(path, text);
}

// The proxy never reads half a file: write beside it, make it world-readable, rename over.
async function replaceFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o644 });
  await chmod(temporary, 0o644);
  await rename(temporary, path);
}
