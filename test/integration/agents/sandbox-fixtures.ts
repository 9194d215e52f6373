import { mkdtemp, rm } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentProfileOverride } from "../../../src/agents/agent-profile.js";
import { BUILT_IN_PROFILES, type ProfileSources } from "../../../src/agents/profiles.js";
import type { AgentJobRequest } from "../../../src/agents/run-agent-job.js";
import { TEST_IMAGE } from "./docker-available.js";

/** A fake installation token in the host env given to jobs: it must never reach a container. */
export const FAKE_GITHUB_TOKEN = "ghs_FAKEinstallationTOKENvalue0123";
/** A forwarded agent secret: the container gets it, logs and results must not show it. */
export const AGENT_SECRET = "sk-agent-secret-value-42";

/** Profile sources with the offline busybox image standing in for the script profile's image. */
export function testProfileSources(script: AgentProfileOverride = {}): ProfileSources {
  return {
    builtIn: BUILT_IN_PROFILES,
    appProfiles: { script: { image: TEST_IMAGE, memoryMb: 256, env: ["AGENT_API_KEY"], ...script } },
    imageAllowlist: [],
  };
}

/** A script job request with unique ids, against a fresh workspace base directory. */
export function scriptJob(
  workspaceBaseDir: string,
  script: string,
  overrides: Partial<AgentJobRequest> = {},
): AgentJobRequest {
  return {
    taskId: "task-1",
    jobId: `job-${randomUUID()}`,
    replica: "test-replica",
    profileName: "script",
    profileSources: testProfileSources(),
    script,
    prompt: "Fix the widget.",
    context: { issue: { number: 7 } },
    agentSecrets: { GITHUB_TOKEN: FAKE_GITHUB_TOKEN, AGENT_API_KEY: AGENT_SECRET },
    workspaceBaseDir,
    ...overrides,
  };
}

/** Creates a temporary directory and a function that removes it. */
export async function createTempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
