/**
 * The schema of `/foreman/out/result.json`, written by the agent. Part of the container
 * contract (docs/container-contract.md): extra fields are ignored, listed ones are checked.
 */
import { z } from "zod";

/** What the agent says about its own run. */
export const AGENT_RESULT_STATUSES = Object.freeze(["success", "failure", "needs_changes"] as const);

/** One inline review comment on a changed line. */
export const ReviewComment = z.object({
  path: z.string().min(1).max(1024),
  line: z.number().int().positive(),
  body: z.string().min(1).max(65_536),
});
/** One inline review comment on a changed line. */
export type ReviewComment = z.infer<typeof ReviewComment>;

/** The agent's result. Sizes follow GitHub's own limits (PR title 256, body 65 536 characters). */
export const AgentResult = z.object({
  status: z.enum(AGENT_RESULT_STATUSES),
  summary: z.string().min(1).max(65_536),
  title: z.string().min(1).max(256).optional(),
  body: z.string().max(65_536).optional(),
  review: z
    .object({
      body: z.string().max(65_536),
      comments: z.array(ReviewComment).max(100).optional(),
    })
    .optional(),
  model: z.string().min(1).max(200).optional(),
  usage: z
    .object({
      inputTokens: z.number().int().nonnegative().optional(),
      outputTokens: z.number().int().nonnegative().optional(),
      costUsd: z.number().nonnegative().optional(),
    })
    .optional(),
});
/** The agent's result. */
export type AgentResult = z.infer<typeof AgentResult>;
