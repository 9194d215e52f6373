ALTER TABLE "agent_jobs" ADD COLUMN "prompt_template" jsonb;--> statement-breakpoint
ALTER TABLE "agent_jobs" ADD COLUMN "prompt_template_sha256" text;