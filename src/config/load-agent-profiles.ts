import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { z } from "zod";
import { AgentProfileOverride, ProfileName } from "../agents/agent-profile.js";

/** The operator's agent profiles file: `profiles:` with the same shape as in `.github/foreman.yml`. */
const AppProfiles = z.strictObject({ profiles: z.record(ProfileName, AgentProfileOverride).default({}) });

/** Read AGENT_PROFILES_FILE (none: no app profiles). Throws one plain sentence naming the file and the problem. */
export function loadAgentProfiles(path: string | undefined): Record<string, AgentProfileOverride> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(
      `AGENT_PROFILES_FILE=${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? "error"}); point it at a readable YAML file`,
      { cause: error },
    );
  }
  const parsed = AppProfiles.safeParse(parse(text) ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new Error(`AGENT_PROFILES_FILE=${path} is invalid: ${problems}`);
  }
  return parsed.data.profiles;
}
