/**
 * Step 3 of an agent step: the job's prompt, rendered in a worker from what GitHub says at the
 * job's base commit (prompt overrides, guidance files, a shadow task's diff so far), and the
 * template it used recorded for the per-template statistics.
 */
import { type GuardrailRules } from "../../agents/guardrails.js";
import { findShadowDiffRefs } from "../../db/queries/find-shadow-diff-refs.js";
import { saveAgentJobTemplate } from "../../db/queries/save-agent-job-template.js";
import { describePromptTemplate } from "../../prompts/describe-prompt-template.js";
import { loadTemplates } from "../../prompts/load-templates.js";
import type { PromptContext } from "../../prompts/prompt-context.js";
import { renderPromptInWorker } from "../../prompts/render-prompt.js";
import { classifyError } from "../../resilience/errors.js";
import { JobFailureCode } from "../../workflow/job-failure.js";
import type { AgentStep as Step, AgentStepDeps } from "./agent-step-deps.js";
import { gatherPromptContext } from "./gather-prompt-context.js";
import { type JobFailure } from "./record-job-outcome.js";

/** A rendered prompt and what it was rendered from. */
export interface RenderedPrompt {
  text: string;
  sha256: string;
  context: PromptContext;
}

/** 3. The prompt, from what GitHub says at the job's base commit (prompt overrides and guidance files included). */
export async function renderJobPrompt(
  { deps, job, task, octokit }: Step,
  guardrails: GuardrailRules,
): Promise<RenderedPrompt | { failure: JobFailure; transient: boolean }> {
  try {
    const gathered = await gatherPromptContext(octokit, {
      task,
      role: job.role,
      attempt: job.attempt,
      baseSha: job.baseSha,
      shadowDiff: task.config?.mode === "shadow" ? await readShadowDiff(deps, task.id) : null,
      constraints: {
        protectedPaths: [...guardrails.protectedPaths],
        allowedPaths: guardrails.allowedPaths ? [...guardrails.allowedPaths] : undefined,
        maxFiles: guardrails.maxFiles,
        maxChangedLines: guardrails.maxChangedLines,
        maxDiffBytes: guardrails.maxDiffBytes,
      },
    });
    const templates = await loadTemplates(gathered.overrides);
    if (!templates.ok) {
      const message = templates.errors.map((error) => `${error.file}: ${error.message}`).join("; ");
      const code = templates.errors[0]?.code ?? JobFailureCode.promptTemplateInvalid;
      return { failure: { code, message }, transient: false };
    }
    const rendered = await renderPromptInWorker(templates.templates, gathered.context, {
      ...(deps.renderPool ? { pool: deps.renderPool } : {}),
    });
    if (!("text" in rendered)) {
      const message = `${rendered.error.file}: ${rendered.error.message}`;
      return { failure: { code: rendered.error.code, message }, transient: false };
    }
    // Which template (and its hash) the job used: the per-template statistics group jobs by it.
    const template = describePromptTemplate(templates.templates, rendered.templateNames, job.role, task.type);
    await saveAgentJobTemplate(deps.engine.database.sql, job.id, template);
    return { text: rendered.text, sha256: rendered.sha256, context: gathered.context };
  } catch (error) {
    const failure = classifyError(error);
    return { failure: { code: JobFailureCode.infraGithub, message: failure.message }, transient: failure.retryable };
  }
}

/** A shadow task's change so far: the diff evidence of its code steps, from the artifact store. */
export async function readShadowDiff(deps: AgentStepDeps, taskId: string): Promise<string | null> {
  const refs = await findShadowDiffRefs(deps.engine.database.sql, taskId);
  const parts: string[] = [];
  for (const ref of refs) {
    const stored = await deps.artifacts.get(ref.sha256);
    if (stored) parts.push(`# The ${ref.role} step's change (shadow mode: not pushed)\n${stored.toString("utf8")}`);
  }
  return parts.length > 0 ? parts.join("\n\n") : null;
}
