import { createHash } from "node:crypto";
import type { PromptTemplates } from "./prompt-templates.js";

/**
 * Which prompt template a job used, so that outcomes can be compared per template: the role and
 * task type it was rendered for, the repository's overrides among the templates it rendered, and
 * a hash of those templates' sources (a change to any of them is a new template).
 */
export interface PromptTemplateIdentity {
  role: string;
  taskType: string;
  /** Keys of the rendered templates that came from the repository (`.github/foreman/prompts/<key>`), sorted. */
  overrides: string[];
  /** Hex sha256 over the rendered templates' keys and sources, in key order. */
  sha256: string;
}

/** Describe the template a prompt was rendered from (pure): `templateNames` are the keys the render used. */
export function describePromptTemplate(
  templates: PromptTemplates,
  templateNames: readonly string[],
  role: string,
  taskType: string,
): PromptTemplateIdentity {
  const keys = [...new Set(templateNames)].sort();
  const hash = createHash("sha256");
  for (const key of keys)
    hash
      .update(key)
      .update("\0")
      .update(templates.sources[key] ?? "")
      .update("\0");
  return {
    role,
    taskType,
    overrides: keys.filter((key) => templates.overridden.includes(key)),
    sha256: hash.digest("hex"),
  };
}
