ALTER TABLE "tasks" ADD COLUMN "current_job_id" uuid;--> statement-breakpoint
-- Job runners LISTEN on foreman_work too: a queued agent job wakes them.
CREATE TRIGGER agent_jobs_notify_work
  AFTER INSERT ON agent_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION foreman_notify_work();
