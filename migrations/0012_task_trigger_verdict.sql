ALTER TABLE "tasks" ADD COLUMN "trigger_verdict" text DEFAULT 'pending' NOT NULL;--> statement-breakpoint
-- Tasks from before the column: a task still queued was never judged (pending); one that ended as
-- NOT_A_TRIGGER was judged not to be a trigger; one refused for its sender or an invalid config, or a
-- refused retry, was refused; a task that got past queued was authorized; the rest ended unjudged.
UPDATE "tasks" SET "trigger_verdict" = CASE
  WHEN "state" = 'queued' OR ("state" = 'frozen' AND "resume_state" = 'queued') THEN 'pending'
  WHEN "reason"->>'code' = 'NOT_A_TRIGGER' THEN 'not_a_trigger'
  WHEN "reason"->>'code' IN ('SENDER_NOT_ALLOWED', 'CONFIG_INVALID') AND "branch" IS NULL THEN 'refused'
  WHEN "config" IS NOT NULL THEN 'authorized'
  ELSE 'pending'
END;
